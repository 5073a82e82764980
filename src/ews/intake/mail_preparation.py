"""A fetched mail prepared on the worker pool: parsed, its raw bytes archived and the files
the intake will read written (I/O: files, the archive; counting failures in the database).
A mail whose preparation keeps failing is taken as unreadable, so the mails behind it go on."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pebble

from ews.core.deadlines import BERLIN
from ews.core.models import FormReading
from ews.core.names import NAME_MAX_BYTES, STORED_NAME_MAX_BYTES, safe_name, safe_title
from ews.core.references import az_of_mail, first_lines
from ews.intake.early_readings import EARLY_READINGS
from ews.intake.failures import failure_reason, gave_up_reason, is_infrastructure
from ews.intake.replies import MAY_BE_FORM, OTHER, SCAN, mentions_applying, read_nature
from ews.mail.auth import sender_check
from ews.mail.bounces import Bounce, read_bounce
from ews.mail.conversation import Conversation, read_conversation
from ews.mail.imap import FetchedMail
from ews.mail.parse import ParsedMail, parse_mail
from ews.register import cases as register
from ews.register.database import transaction
from ews.runtime import folders, storage, workers
from ews.runtime.settings import Settings

log = logging.getLogger(__name__)

BOUNCE = "Unzustellbarkeitsnachricht eines Mailservers."


@dataclass(frozen=True)
class Claim:
    name: str  # as the sender named it
    path: Path
    sha256: str
    size: int


@dataclass(frozen=True)
class PreparedMail:
    """A parsed mail with its files written: the raw mail archived, and the claims the
    intake will read (its PDFs, or the mail itself when it has none)."""

    uidvalidity: int
    uid: int
    internaldate: datetime
    message_id: str | None
    sender: str | None
    subject: str
    automatic: str | None
    skipped: list[str]
    sha256: str
    raw_path: str  # a path, or a URL in the storage
    has_pdf: bool
    claims: list[Claim]
    bounce: Bounce | None = None  # a delivery failure report about a mail of ours
    too_many: str | None = None  # German reason: more PDFs than the cap; the mail is one input
    unverified: str | None = None  # German reason: DMARC failed; never answered
    oversized: bool = False  # too large to fetch: only its header was read
    #: as correspondence (``ews.intake.replies``): the Message-IDs it answers, the first
    #: lines of its own text, each PDF's nature (in the order of ``claims``), the files
    #: archived as its attachments ({name, path, sha256, size}: not PDFs, and PDFs that are no
    #: form), whether it speaks of applying and whether it carries any file at all
    answers: list[str] = field(default_factory=list)
    excerpt: str = ""
    natures: list[str] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    applying: bool = False
    carries_something: bool = False
    #: the PDFs read by their form fields while their nature was decided, in the order of
    #: ``claims`` (None: read otherwise): the intake takes them (``early_readings``)
    readings: list[FormReading | None] = field(default_factory=list)


@dataclass(frozen=True)
class UnreadableMail:
    """A mail whose preparation failed ``intake.max_attempts`` times: its raw bytes, archived
    and as the one claim, to be recorded as an invalid input with ``reason``."""

    uidvalidity: int
    uid: int
    internaldate: datetime
    sha256: str
    raw_path: str
    claim: Claim
    reason: str


@dataclass(frozen=True)
class _PrepareFailed:
    reason: str


def prepare_all(settings: Settings, uidvalidity: int, batch: list[FetchedMail],
                now: datetime) -> list[PreparedMail | UnreadableMail]:
    """Prepare every mail on the worker pool, with its limits (even a batch of one). A mail
    whose preparation fails is counted and left for the next pass; after
    ``intake.max_attempts`` it is taken as unreadable, so the mails behind it go on."""
    return prepared_of(start_preparing(settings, uidvalidity, batch), now)


@dataclass
class Preparing:
    """A batch of mails queued on the worker pool (``start_preparing``)."""

    settings: Settings
    uidvalidity: int
    batch: list[FetchedMail]
    futures: list[pebble.ProcessFuture[PreparedMail | _PrepareFailed]]


def start_preparing(settings: Settings, uidvalidity: int, batch: list[FetchedMail]
                    ) -> Preparing:
    """Queue the batch's preparation on the worker pool and return at once: the caller
    may fetch the next batch meanwhile (``prepared_of`` waits for this one)."""
    futures = [workers.submit_limited(settings, _prepared, settings, uidvalidity, fetched)
               for fetched in batch]
    return Preparing(settings, uidvalidity, batch, futures)


def prepared_of(preparing: Preparing, now: datetime) -> list[PreparedMail | UnreadableMail]:
    """The prepared mails of a queued batch, in its order (``prepare_all``)."""
    settings, uidvalidity = preparing.settings, preparing.uidvalidity
    prepared: list[PreparedMail | UnreadableMail] = []
    for fetched, future in zip(preparing.batch, preparing.futures, strict=True):
        result = workers.outcome(future, settings.intake.read_timeout_seconds)
        if isinstance(result, PreparedMail):
            keep_readings(result)
            prepared.append(result)
            continue
        failed = given_up(settings, uidvalidity, fetched, result.reason, now)
        if failed is not None:
            prepared.append(failed)
    return prepared


def keep_readings(prepared: PreparedMail) -> None:
    """Keep the readings of the mail's claimed PDFs for this process's intake."""
    if len(prepared.readings) != len(prepared.claims):  # none read: automatic, too many …
        return
    for claim, reading in zip(prepared.claims, prepared.readings, strict=True):
        if reading is not None:
            EARLY_READINGS.keep(claim.path, reading)


def _prepared(settings: Settings, uidvalidity: int, fetched: FetchedMail
              ) -> PreparedMail | _PrepareFailed:
    """``prepare_mail`` as a worker job: an error nobody foresaw becomes a German reason;
    a failure of the service itself (disk full …) is raised."""
    try:
        return prepare_mail(settings, uidvalidity, fetched)
    except MemoryError:
        raise  # the worker's memory limit: ``workers.outcome`` names it
    except Exception as exc:  # noqa: BLE001 - one mail's preparation failed: counted
        if is_infrastructure(exc):
            raise
        return _PrepareFailed(failure_reason(exc, "E-Mail"))


def given_up(settings: Settings, uidvalidity: int, fetched: FetchedMail, reason: str,
              now: datetime, *, at_once: bool = False) -> UnreadableMail | None:
    """Count a failed preparation of the mail; once it has failed ``intake.max_attempts``
    times (``at_once``: a failure that would come back every time), the mail as unreadable
    (its raw bytes archived and claimed, nothing parsed)."""
    imap = settings.imap
    with transaction(settings.db_url) as session:
        attempts = register.note_mail_failure(
            session, (imap.account, imap.folder, uidvalidity, fetched.uid), reason, now)
    limit = settings.intake.max_attempts
    log.warning("E-Mail %s, Versuch %d von %d gescheitert: %s", fetched.uid, attempts, limit,
                reason)
    if attempts < limit and not at_once:
        return None
    key = f"{uidvalidity}-{fetched.uid}"
    month = fetched.internaldate.astimezone(BERLIN).strftime("%Y-%m")
    digest = hashlib.sha256(fetched.raw).hexdigest()
    try:
        raw_path = storage.archive_store(settings).write_bytes(
            f"mail/{month}/{key}__unlesbar.eml", fetched.raw)
        # a folder of its own: what made the preparation fail may lie in the mail's folder
        claim = Claim("E-Mail.eml", folders.write_atomic(
            settings.mail_dir / f"{key}-unlesbar" / "00__E-Mail.eml", fetched.raw), digest,
            len(fetched.raw))
    except OSError as exc:
        if is_infrastructure(exc):
            raise
        log.error("Unlesbare E-Mail %s nicht abgelegt: %s", fetched.uid, failure_reason(exc))
        return None
    return UnreadableMail(uidvalidity, fetched.uid, fetched.internaldate, digest, raw_path,
                          claim, reason if at_once else gave_up_reason(attempts, reason))


def prepare_mail(settings: Settings, uidvalidity: int, fetched: FetchedMail) -> PreparedMail:
    """Parse a mail, archive its raw bytes and write its claims (the same paths again after a
    crash, so nothing is written twice under two names)."""
    limit = settings.imap.max_attachment_mb * 1024 * 1024
    cap = settings.imap.max_pdfs_per_mail
    parsed = parse_mail(fetched.raw, max_attachment_bytes=limit, max_pdfs=cap)
    check = sender_check(fetched.raw, settings.imap.authserv_id)
    too_many = too_many_pdfs(cap) if len(parsed.pdfs) > cap else None
    # of an oversized mail only the header was fetched: its attachments were never read
    skipped = [_too_large(settings.imap.max_mail_mb, fetched.size)] if fetched.oversized else \
        list(parsed.skipped)
    # a bounce returns our own mail, PDFs included: never an application. Only a mail the
    # parser took for automatic, or whose PDFs lie in an enclosed message, can be one
    returned = parsed.automatic or any(pdf.found_in for pdf in parsed.pdfs)
    bounce = read_bounce(fetched.raw) if returned else None
    automatic = parsed.automatic or (BOUNCE if bounce is not None else None)
    key = f"{uidvalidity}-{fetched.uid}"
    month = fetched.internaldate.astimezone(BERLIN).strftime("%Y-%m")
    label = (parsed.subject or parsed.message_id or "ohne Betreff")[:80]
    # the store is built here: this runs in a worker process, which gets plain settings
    raw_path = storage.archive_store(settings).write_bytes(
        f"mail/{month}/{safe_title(f'{key}__{label}.eml', max_bytes=STORED_NAME_MAX_BYTES)}",
        fetched.raw)
    folder = settings.mail_dir / key
    if automatic:
        files: list[tuple[str, str, bytes]] = []
    elif parsed.pdfs and not too_many:
        files = [(pdf.name, attachment_file_name(number, pdf.name), pdf.data)
                 for number, pdf in enumerate(parsed.pdfs, start=1)]
    else:
        files = [("E-Mail.eml", "00__E-Mail.eml", fetched.raw)]
    claims = [Claim(name, folders.write_atomic(folder / file_name, data),
                    hashlib.sha256(data).hexdigest(), len(data))
              for name, file_name, data in files]
    # the address answered: From, a Reply-To only when safe (mail_auth); shown when DMARC failed
    sender = check.from_address if check.failed else check.answer_to
    prepared = PreparedMail(uidvalidity, fetched.uid, fetched.internaldate, parsed.message_id,
                            sender, parsed.subject, automatic,
                            skipped, hashlib.sha256(fetched.raw).hexdigest(),
                            raw_path, bool(parsed.pdfs), claims, bounce, too_many=too_many,
                            unverified=check.failure_reason, oversized=fetched.oversized)
    if automatic or too_many or fetched.oversized:
        return prepared
    return _as_correspondence(settings, prepared, parsed,
                              read_conversation(fetched.raw, max_file_bytes=limit,
                                                message=parsed.message),
                              (f"mail/{month}/", key))


def _as_correspondence(settings: Settings, prepared: PreparedMail, parsed: ParsedMail,
                       conversation: Conversation, place: tuple[str, str]) -> PreparedMail:
    """The mail's facts as correspondence, its attachments that are no input archived."""
    excerpt = first_lines(conversation.text)[:2000]
    reply = bool(conversation.answers or az_of_mail(
        prepared.subject, excerpt, settings.az.file_plan_key, settings.az.serial_digits))
    read = [read_nature(pdf.data, reply=reply) for pdf in parsed.pdfs]
    natures = [nature for nature, _reading in read]
    # an application without any sign of a reply is no correspondence: nothing to archive
    applies = not reply and any(nature in MAY_BE_FORM for nature in natures)
    files = [] if applies else [(other.name, other.data) for other in conversation.files] + [
        (pdf.name, pdf.data) for pdf, nature in zip(parsed.pdfs, natures, strict=True)
        if nature in (OTHER, SCAN)]
    store = storage.archive_store(settings)
    attachments = [{"name": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                    "path": store.write_bytes(place[0] + safe_title(
                        f"{place[1]}__anhang-{number:02d}__{name}",
                        max_bytes=STORED_NAME_MAX_BYTES), data)}
                   for number, (name, data) in enumerate(files, start=1)]
    names = [name for name, _data in files] + [pdf.name for pdf in parsed.pdfs]
    return dataclasses.replace(
        prepared, answers=conversation.answers, excerpt=excerpt, natures=natures,
        readings=[reading for _nature, reading in read], attachments=attachments,
        applying=mentions_applying(prepared.subject, excerpt, names),
        carries_something=bool(parsed.pdfs or conversation.files or conversation.left_out
                               or prepared.skipped))


def too_many_pdfs(cap: int) -> str:
    """The reason a mail with more than ``cap`` PDFs is not split into inputs (German)."""
    return (f"Die E-Mail enthält mehr als {cap} PDF-Dateien; automatisch verarbeitet werden "
            f"höchstens {cap} je E-Mail. Eine Mitarbeiterin oder ein Mitarbeiter des "
            "Programmbüros sieht sich die E-Mail an.")


def _too_large(max_mb: int, size: int) -> str:
    size_mb = f"{size / 1024 / 1024:.1f}".replace(".", ",")
    return (f"Die E-Mail ist größer als {max_mb} MB ({size_mb} MB) und wurde deshalb nicht "
            "abgerufen; ihre Anhänge wurden nicht geprüft. Bitte senden Sie den "
            "Bewerbungsbogen als PDF-Datei in einer kleineren E-Mail.")


def attachment_file_name(number: int, name: str) -> str:
    """``01__name.pdf`` within 255 bytes (pure); the claim's temporary name fits as well."""
    prefix = f"{number:02d}__"
    return prefix + safe_name(name, max_bytes=NAME_MAX_BYTES - len(prefix))
