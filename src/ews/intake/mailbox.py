"""Mails into the register (I/O: mailbox, database, files).

Every mail the service looks at gets one row in the mail ledger, keyed by account, folder,
UIDVALIDITY and UID (a second worker's insert fails on that key and it leaves the mail alone),
and its raw bytes are archived. Its PDFs become inputs of the ordinary intake, received at the
server's INTERNALDATE; a human's mail without a usable PDF becomes one invalid input (the mail
itself, quarantined with the reason, and answered); automatic mails and mails seen before (same
Message-ID or bytes) become no input, and a delivery failure report is linked to the mail of
ours it reports on. Two kinds of mail are for staff: ``staff``, a mail with more PDFs than
``max_pdfs_per_mail`` (the mail itself is one invalid input, answered once), and
``unverified``, a mail whose sender our server found failing DMARC (its inputs are processed,
but it is never answered; see ``mail_auth``). The post-action (move or keyword) runs only once
every input of the mail has its outcome committed; until then the mail is retried, never lost.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ews.core.deadlines import BERLIN
from ews.core.models import Assessment
from ews.core.names import NAME_MAX_BYTES, STORED_NAME_MAX_BYTES, safe_title
from ews.intake.bounce_links import record_bounce
from ews.intake.failures import failure_reason, gave_up_reason, is_infrastructure
from ews.intake.pipeline import decide
from ews.mail.auth import sender_check
from ews.mail.bounces import Bounce, read_bounce
from ews.mail.imap import FetchedMail, Mailbox, MailboxError
from ews.mail.parse import parse_mail
from ews.outbox.queue import queue_answers
from ews.outbox.sending import open_mailbox, send_queued
from ews.register import cases as register
from ews.register.database import session_factory
from ews.register.heartbeats import mailbox_name
from ews.register.locks import locks_for
from ews.register.schema import Input, MailInput, MailRow
from ews.runtime import folders, storage, workers
from ews.runtime.settings import Settings

log = logging.getLogger(__name__)

BOUNCE = "Unzustellbarkeitsnachricht eines Mailservers."
MAILBOX_WAIT = 600.0  # seconds a pass waits while another process works in the mailbox
STAFF_NOTE = "zur Prüfung durch das Programmbüro"
NO_PDF = "Die E-Mail enthält keine Bewerbung als PDF-Datei (auch nicht in einem ZIP-Archiv " \
         "oder einer weitergeleiteten Nachricht)."


def take_new_mails(settings: Settings, mailbox: Mailbox, now: datetime) -> list[int]:
    """Take every mail of the folder that the ledger has not seen; returns the new inputs.
    Each fetch batch is recorded in one transaction."""
    sessions = session_factory(settings.db_url)
    imap = settings.imap
    with sessions.begin() as session:
        seen = set(session.scalars(select(MailRow.uid).where(
            MailRow.account == imap.account, MailRow.folder == imap.folder,
            MailRow.uidvalidity == mailbox.uidvalidity)))
    new = [uid for uid in mailbox.uids_to_look_at() if uid not in seen]
    input_ids: list[int] = []
    batch: list[FetchedMail] = []
    for fetched in mailbox.fetch(new):
        batch.append(fetched)
        if len(batch) >= imap.batch_size:
            input_ids += take_mails_of(settings, mailbox.uidvalidity, batch, now)
            batch = []
    return input_ids + take_mails_of(settings, mailbox.uidvalidity, batch, now)


def take_mails_of(settings: Settings, uidvalidity: int, batch: list[FetchedMail],
                  now: datetime) -> list[int]:
    """Record fetched mails and open their inputs in one transaction; when that fails (another
    worker recorded one of them meanwhile, or the register refuses one mail's values), each
    mail is recorded on its own. Parsing and writing the files happen on the worker pool."""
    prepared = _prepare_all(settings, uidvalidity, batch, now)
    sessions = session_factory(settings.db_url)
    try:
        with sessions.begin() as session:
            return [i for item in prepared for i in _recorded(session, settings, item, now)]
    except Exception as exc:
        if is_infrastructure(exc):
            raise
        return [i for item in prepared for i in _record_alone(settings, item, now)]


def take_mail(settings: Settings, uidvalidity: int, fetched: FetchedMail, now: datetime
              ) -> list[int]:
    """Record one fetched mail and open its inputs, in one transaction (idempotent). It is
    prepared on the worker pool like any other."""
    return [i for item in _prepare_all(settings, uidvalidity, [fetched], now)
            for i in _record_alone(settings, item, now)]


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


def _prepare_all(settings: Settings, uidvalidity: int, batch: list[FetchedMail],
                 now: datetime) -> list[PreparedMail | UnreadableMail]:
    """Prepare every mail on the worker pool, with its limits (even a batch of one). A mail
    whose preparation fails is counted and left for the next pass; after
    ``intake.max_attempts`` it is taken as unreadable, so the mails behind it go on."""
    futures = [workers.submit(_prepared, (settings, uidvalidity, fetched),
                              workers=settings.worker_count,
                              memory_mb=settings.intake.read_memory_mb,
                              timeout=settings.intake.read_timeout_seconds)
               for fetched in batch]
    prepared: list[PreparedMail | UnreadableMail] = []
    for fetched, future in zip(batch, futures, strict=True):
        result = workers.outcome(future, settings.intake.read_timeout_seconds)
        if isinstance(result, PreparedMail):
            prepared.append(result)
            continue
        failed = _given_up(settings, uidvalidity, fetched, result.reason, now)
        if failed is not None:
            prepared.append(failed)
    return prepared


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


def _given_up(settings: Settings, uidvalidity: int, fetched: FetchedMail, reason: str,
              now: datetime, *, at_once: bool = False) -> UnreadableMail | None:
    """Count a failed preparation of the mail; once it has failed ``intake.max_attempts``
    times (``at_once``: a failure that would come back every time), the mail as unreadable
    (its raw bytes archived and claimed, nothing parsed)."""
    imap = settings.imap
    with session_factory(settings.db_url).begin() as session:
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
    return PreparedMail(uidvalidity, fetched.uid, fetched.internaldate, parsed.message_id,
                        sender, parsed.subject, automatic,
                        skipped, hashlib.sha256(fetched.raw).hexdigest(),
                        raw_path, bool(parsed.pdfs), claims, bounce, too_many=too_many,
                        unverified=check.failure_reason, oversized=fetched.oversized)


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
    return prefix + folders.safe_name(name, max_bytes=NAME_MAX_BYTES - len(prefix))


def _record_alone(settings: Settings, item: PreparedMail | UnreadableMail, now: datetime
                  ) -> list[int]:
    """Record one mail in its own transaction. A mail whose values the register refuses is
    recorded as unreadable at once, with the refusal as its reason (``_given_up``)."""
    sessions = session_factory(settings.db_url)
    try:
        with sessions.begin() as session:
            return _recorded(session, settings, item, now)
    except Exception as exc:
        if is_infrastructure(exc):
            raise
        if isinstance(exc, IntegrityError) and _in_ledger(settings, item):
            return []  # another worker recorded this mail first
        error: Exception = exc
    if isinstance(item, UnreadableMail):  # nothing of it is parsed: a fault of ours
        log.error("Unlesbare E-Mail %s nicht vermerkt: %s", item.uid, failure_reason(error))
        return []
    fetched = FetchedMail(uid=item.uid, internaldate=item.internaldate,
                          raw=storage.read_location(item.raw_path, settings.storage.options))
    failed = _given_up(settings, item.uidvalidity, fetched, failure_reason(error, "E-Mail"),
                       now, at_once=True)
    if failed is None:
        return []
    return _record_alone(settings, failed, now)


def _in_ledger(settings: Settings, item: PreparedMail | UnreadableMail) -> bool:
    imap = settings.imap
    with session_factory(settings.db_url).begin() as session:
        return session.scalars(select(MailRow.id).where(
            MailRow.account == imap.account, MailRow.folder == imap.folder,
            MailRow.uidvalidity == item.uidvalidity, MailRow.uid == item.uid)).first() \
            is not None


def _recorded(session: Session, settings: Settings, item: PreparedMail | UnreadableMail,
              now: datetime) -> list[int]:
    if isinstance(item, PreparedMail):
        return _record(session, settings, item, now)
    return _record_unreadable(session, settings, item, now)


def _record_unreadable(session: Session, settings: Settings, item: UnreadableMail,
                       now: datetime) -> list[int]:
    """The ledger entry of an unreadable mail and its one input, decided invalid with the
    reason: the raw mail goes to the quarantine, and the post-action can run."""
    imap = settings.imap
    row = MailRow(account=imap.account, folder=imap.folder, uidvalidity=item.uidvalidity,
                  uid=item.uid, message_id=None, sha256=item.sha256,
                  internaldate=item.internaldate, sender=None, subject="",
                  kind="unreadable", reasons=[item.reason], raw_path=item.raw_path,
                  state="taken")
    session.add(row)
    session.flush()
    opened = _input(session, row, item.claim, f"E-Mail {_origin(row)} (nicht lesbar)")
    decide(session, opened.id, Assessment(reasons=[item.reason]), settings, now)
    return [opened.id]


def _record(session: Session, settings: Settings, item: PreparedMail, now: datetime
            ) -> list[int]:
    imap = settings.imap
    row = MailRow(account=imap.account, folder=imap.folder, uidvalidity=item.uidvalidity,
                  uid=item.uid, message_id=item.message_id, sha256=item.sha256,
                  internaldate=item.internaldate, sender=item.sender, subject=item.subject,
                  kind="", reasons=list(item.skipped), raw_path=str(item.raw_path),
                  state="taken")
    row.kind = _kind(session, row, item)
    session.add(row)
    session.flush()
    if row.kind == "duplicate":  # its content is on file already; drop the copies
        for claim in item.claims:
            claim.path.unlink(missing_ok=True)
        return []
    if row.kind == "bounce" and item.bounce is not None:
        record_bounce(session, row, item.bounce)
        return []
    if row.kind == "automatic":
        return []
    origin = _origin(row)
    note = f" – {STAFF_NOTE}" if row.kind == "unverified" and not item.too_many else ""
    if item.too_many or not item.has_pdf:  # the mail itself is the one input
        [claim] = item.claims
        what = (f"zu viele PDF-Dateien – {STAFF_NOTE}" if item.too_many
                else "zu groß" if item.oversized else "ohne PDF-Anhang")
        opened = _input(session, row, claim, f"E-Mail {origin} ({what}){note}")
        reasons = (list(row.reasons) if item.too_many or item.oversized
                   else [NO_PDF, *row.reasons])
        decide(session, opened.id, Assessment(reasons=reasons), settings, now)
        return [opened.id]
    return [_input(session, row, claim, f"E-Mail {origin}: {claim.name}{note}").id
            for claim in item.claims]


def _kind(session: Session, row: MailRow, item: PreparedMail) -> str:
    if item.automatic:
        row.reasons = [item.automatic, *row.reasons]
        return "bounce" if item.bounce is not None else "automatic"
    twin = select(MailRow.id).where(MailRow.account == row.account,
                                    MailRow.kind != "duplicate")
    twin = twin.where(MailRow.message_id == row.message_id) if row.message_id else \
        twin.where(MailRow.sha256 == row.sha256)
    if session.scalars(twin).first() is not None:
        row.reasons = ["Diese E-Mail wurde bereits verarbeitet (gleiche Message-ID)."]
        return "duplicate"
    staff = [reason for reason in (item.unverified, item.too_many) if reason]
    row.reasons = [*staff, *row.reasons]
    if item.unverified:
        return "unverified"
    if item.too_many:
        return "staff"
    return "application" if item.has_pdf else "no_pdf"


def _origin(row: MailRow) -> str:
    when = row.internaldate.astimezone(BERLIN)
    subject = f" „{row.subject}“" if row.subject else ""
    return f"von {row.sender or 'unbekannt'}{subject} vom {when:%d.%m.%Y %H:%M} Uhr"


def _input(session: Session, row: MailRow, claim: Claim, source: str) -> Input:
    item = register.open_input(
        session, claim_path=str(claim.path), source_name=source, sha256=claim.sha256,
        size=claim.size, received_at=row.internaldate, channel="mail")
    session.flush()
    session.add(MailInput(input_id=item.id, mail_id=row.id))
    return item


def finish_mails(settings: Settings, mailbox: Mailbox, now: datetime) -> int:
    """Apply the post-action to every taken mail whose inputs are all done; returns how many.
    A failure leaves the mail ``taken`` with the error noted, for the next pass."""
    sessions = session_factory(settings.db_url)
    imap = settings.imap
    with sessions.begin() as session:
        waiting = list(session.scalars(select(MailRow).where(
            MailRow.state == "taken", MailRow.account == imap.account,
            MailRow.folder == imap.folder)))
        unfinished = _with_unfinished_inputs(session, [row.id for row in waiting])
        ready = [(row.id, row.uid, row.uidvalidity) for row in waiting
                 if row.id not in unfinished]
    current = [uid for _id, uid, validity in ready if validity == mailbox.uidvalidity]
    error = None
    if current:
        try:
            mailbox.mark_done(current)
        except MailboxError as exc:
            error = str(exc)
            log.warning("Nachbearbeitung im Postfach fehlgeschlagen: %s", error)
    finished = 0
    with sessions.begin() as session:
        for mail_id, _uid, uidvalidity in ready:
            row = session.get(MailRow, mail_id)
            assert row is not None
            if uidvalidity != mailbox.uidvalidity:
                # the folder was rebuilt: the mail comes back under a new UID as a duplicate
                row.error = "UIDVALIDITY des Ordners hat sich geändert; die E-Mail wird neu " \
                            "zugeordnet."
            elif error is not None:
                row.error = error  # stays taken: the next pass tries again
                continue
            row.state, row.done_at = "done", now
            finished += 1
    return finished


def _with_unfinished_inputs(session: Session, mail_ids: list[int]) -> set[int]:
    """Those of the mails that have an input whose outcome is not yet filed (one query)."""
    return set(session.scalars(
        select(MailInput.mail_id).join(Input, MailInput.input_id == Input.id)
        .where(MailInput.mail_id.in_(mail_ids), Input.state != "done").distinct()))


def take_mails(settings: Settings, now: datetime) -> list[int]:
    """One look into the mailbox: the inputs of every new mail (none without a mailbox). One
    process at a time per mailbox folder, over every worker."""
    if not settings.imap.host:
        return []
    with locks_for(settings) as locks, locks.named(mailbox_name(settings), wait=MAILBOX_WAIT), \
            open_mailbox(settings) as mailbox:
        return take_new_mails(settings, mailbox, now)


@dataclass
class MailReport:
    finished: int = 0
    queued: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def answer_and_finish(settings: Settings, now: datetime) -> MailReport:
    """After the register committed: post-actions, answers queued, due mails sent."""
    report = MailReport()
    if settings.smtp.host:  # without a server the answers are written once it is configured
        with locks_for(settings) as locks, locks.named("antworten", wait=MAILBOX_WAIT):
            report.queued = len(queue_answers(settings, now))
    if settings.imap.host:
        with locks_for(settings) as locks, locks.named(mailbox_name(settings),
                                                       wait=MAILBOX_WAIT), \
                open_mailbox(settings) as mailbox:
            report.finished = finish_mails(settings, mailbox, now)
    sending = send_queued(settings, now)
    report.sent, report.retrying, report.failed = sending.sent, sending.retrying, sending.failed
    return report
