"""Fetched mails recorded in the mail ledger, and their inputs opened (I/O: database, in the
caller's transaction, through ``ews.register``). A mail's kind decides its inputs: its PDFs,
or the mail itself as one invalid input (no PDF, too many, unreadable); automatic mails,
bounces and mails seen before open none. Correspondence (``ews.intake.replies``) is recorded
in the case file; only those of its PDFs that may be a form or a declaration become inputs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ews.core.deadlines import BERLIN
from ews.core.models import MailKind
from ews.core.outcomes import rejection
from ews.intake.bounce_links import record_bounce
from ews.intake.failures import failure_reason, is_infrastructure
from ews.intake.mail_preparation import Claim, PreparedMail, UnreadableMail, given_up
from ews.intake.pipeline import decide
from ews.intake.replies import READ_BY_INTAKE, Case, case_of, is_correspondence
from ews.mail.imap import FetchedMail
from ews.register import cases as register
from ews.register import correspondence, mails
from ews.register.database import IntegrityError, Session, transaction
from ews.register.schema import Input, MailRow
from ews.runtime import storage
from ews.runtime.settings import Settings

log = logging.getLogger(__name__)

STAFF_NOTE = "zur Prüfung durch das Programmbüro"
NO_PDF = "Die E-Mail enthält keine Bewerbung als PDF-Datei (auch nicht in einem ZIP-Archiv " \
         "oder einer weitergeleiteten Nachricht)."


def record_alone(settings: Settings, item: PreparedMail | UnreadableMail, now: datetime
                  ) -> list[int]:
    """Record one mail in its own transaction. A mail whose values the register refuses is
    recorded as unreadable at once, with the refusal as its reason (``given_up``)."""
    try:
        with transaction(settings.db_url) as session:
            return record_batch(session, settings, [item], now)
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
    failed = given_up(settings, item.uidvalidity, fetched, failure_reason(error, "E-Mail"),
                       now, at_once=True)
    if failed is None:
        return []
    return record_alone(settings, failed, now)


def _in_ledger(settings: Settings, item: PreparedMail | UnreadableMail) -> bool:
    with transaction(settings.db_url) as session:
        return mails.in_ledger(session, _key(settings, item))


def _key(settings: Settings, item: PreparedMail | UnreadableMail) -> mails.MailKey:
    return settings.imap.account, settings.imap.folder, item.uidvalidity, item.uid


@dataclass
class _Batch:
    """What one transaction records: the mails on file (``seen``, told of each mail added)
    and the inputs opened, each with its mail's row."""

    seen: mails.SeenMails
    opened: list[tuple[Input, MailRow]] = field(default_factory=list)


def record_batch(session: Session, settings: Settings,
                 items: Sequence[PreparedMail | UnreadableMail], now: datetime) -> list[int]:
    """Record the mails in the caller's transaction and open their inputs; returns the
    inputs' ids, in the mails' order. The rows are inserted together (one flush for the
    batch, where a mail another worker recorded first fails on its key), then each input is
    linked to its mail."""
    batch = _Batch(mails.SeenMails(session, settings.imap.account, [
        (item.message_id, item.sha256) for item in items if isinstance(item, PreparedMail)]))
    for item in items:
        if isinstance(item, PreparedMail):
            _record(session, settings, item, now, batch)
        else:
            _record_unreadable(session, settings, item, now, batch)
    session.flush()
    mails.link_inputs(session, [(opened.id, row.id) for opened, row in batch.opened])
    return [opened.id for opened, _row in batch.opened]


def _record_unreadable(session: Session, settings: Settings, item: UnreadableMail,
                       now: datetime, batch: _Batch) -> None:
    """The ledger entry of an unreadable mail and its one input, decided invalid with the
    reason: the raw mail goes to the quarantine, and the post-action can run."""
    row = mails.stage_mail(session, mails.new_mail(
        _key(settings, item), message_id=None, sha256=item.sha256,
        internaldate=item.internaldate, sender=None, subject="", kind="unreadable",
        reasons=[item.reason], raw_path=item.raw_path))
    batch.seen.note(row)
    opened = _input(session, batch, row, item.claim, f"E-Mail {_origin(row)} (nicht lesbar)")
    session.flush()  # the input's id
    decide(session, opened.id, rejection(item.reason), settings, now)


def _record(session: Session, settings: Settings, item: PreparedMail, now: datetime,
            batch: _Batch) -> None:
    row = mails.new_mail(
        _key(settings, item), message_id=item.message_id, sha256=item.sha256,
        internaldate=item.internaldate, sender=item.sender, subject=item.subject, kind="",
        reasons=list(item.skipped), raw_path=str(item.raw_path))
    row.kind = _kind(row, item, batch.seen)
    case = _case(session, settings, row, item)
    if case is not None and row.kind != MailKind.UNVERIFIED:
        row.kind = MailKind.CORRESPONDENCE
    batch.seen.note(mails.stage_mail(session, row))
    if case is not None:
        _file_correspondence(session, batch, row, item, case, now)
        return
    if row.kind == MailKind.DUPLICATE:  # its content is on file already; drop the copies
        for claim in item.claims:
            claim.path.unlink(missing_ok=True)
        return
    if row.kind == MailKind.BOUNCE and item.bounce is not None:
        session.flush()  # the mail's id
        record_bounce(session, row, item.bounce)
        return
    if row.kind == MailKind.AUTOMATIC:
        return
    origin = _origin(row)
    note = f" – {STAFF_NOTE}" if row.kind == MailKind.UNVERIFIED and not item.too_many else ""
    if item.too_many or not item.has_pdf:  # the mail itself is the one input
        [claim] = item.claims
        what = (f"zu viele PDF-Dateien – {STAFF_NOTE}" if item.too_many
                else "zu groß" if item.oversized else "ohne PDF-Anhang")
        opened = _input(session, batch, row, claim, f"E-Mail {origin} ({what}){note}")
        reasons = (list(row.reasons) if item.too_many or item.oversized
                   else [NO_PDF, *row.reasons])
        session.flush()  # the input's id
        decide(session, opened.id, rejection(*reasons), settings, now)
        return
    for claim in item.claims:
        _input(session, batch, row, claim, f"E-Mail {origin}: {claim.name}{note}")


def _kind(row: MailRow, item: PreparedMail, seen: mails.SeenMails) -> str:
    if item.automatic:
        row.reasons = [item.automatic, *row.reasons]
        return "bounce" if item.bounce is not None else "automatic"
    if seen.holds(row.message_id, row.sha256):
        row.reasons = ["Diese E-Mail wurde bereits verarbeitet (gleiche Message-ID)."]
        return "duplicate"
    staff = [reason for reason in (item.unverified, item.too_many) if reason]
    row.reasons = [*staff, *row.reasons]
    if item.unverified:
        return "unverified"
    if item.too_many:
        return "staff"
    return "application" if item.has_pdf else "no_pdf"


def _case(session: Session, settings: Settings, row: MailRow, item: PreparedMail
          ) -> Case | None:
    """The mail's case when it is correspondence (``ews.intake.replies``), else None."""
    if row.kind not in (MailKind.APPLICATION, MailKind.NO_PDF, MailKind.UNVERIFIED) or \
            item.too_many or item.oversized:
        return None
    case = case_of(session, settings, item.answers, item.subject, item.excerpt)
    if not is_correspondence(case, item.natures, applying=item.applying,
                             carries_something=item.carries_something,
                             has_sender=bool(item.sender)):
        return None
    return case


def _file_correspondence(session: Session, batch: _Batch, row: MailRow, item: PreparedMail,
                         case: Case, now: datetime) -> None:
    """The mail in the case file; of a mail with a case, the PDFs that may be a form or a
    declaration become inputs (a corrected application, a returned declaration)."""
    session.flush()  # the mail's id
    piece = correspondence.record(
        session, az=case.az, channel="postfach", mail_id=row.id,
        matched_by=case.matched_by.value, sender=row.sender, subject=row.subject,
        excerpt=item.excerpt, received_at=row.internaldate, raw_path=row.raw_path,
        attachments=list(item.attachments), sha256=row.sha256, created_at=now)
    natures = item.natures if item.has_pdf else [""] * len(item.claims)
    opened: list[Input] = []
    note = f" – {STAFF_NOTE}" if row.kind == MailKind.UNVERIFIED else ""
    for claim, nature in zip(item.claims, natures, strict=True):
        if case.az is None or nature not in READ_BY_INTAKE:
            claim.path.unlink(missing_ok=True)  # archived as an attachment, or the mail
            continue
        opened.append(_input(session, batch, row, claim, f"E-Mail {_origin(row)}: "
                             f"{claim.name} (zur Akte {case.az}){note}"))
    if opened:
        session.flush()  # the input's id
        correspondence.link_input(session, piece.id, opened[0].id)


def _origin(row: MailRow) -> str:
    when = row.internaldate.astimezone(BERLIN)
    subject = f" „{row.subject}“" if row.subject else ""
    return f"von {row.sender or 'unbekannt'}{subject} vom {when:%d.%m.%Y %H:%M} Uhr"


def _input(session: Session, batch: _Batch, row: MailRow, claim: Claim, source: str
           ) -> Input:
    """An input opened for the mail's claimed file (inserted with the batch)."""
    item = register.open_input(
        session, claim_path=str(claim.path), source_name=source, sha256=claim.sha256,
        size=claim.size, received_at=row.internaldate, channel="mail")
    batch.opened.append((item, row))
    return item
