"""Mails into the register (I/O: mailbox, database, files).

Every mail the service looks at gets one row in the mail ledger, keyed by account, folder,
UIDVALIDITY and UID (a second worker's insert fails on that key and it leaves the mail alone),
and its raw bytes are archived. Its PDFs become inputs of the ordinary intake, received at the
server's INTERNALDATE; a human's mail without a usable PDF becomes one invalid input (the mail
itself, quarantined with the reason, and answered); automatic mails and mails seen before (same
Message-ID or bytes) become no input. The post-action (move or keyword) runs only once every
input of the mail has its outcome committed; until then the mail is retried, never lost.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ews import folders, register
from ews.database import session_factory
from ews.deadlines import BERLIN
from ews.imap import FetchedMail, Mailbox, MailboxError
from ews.mail_out import queue_answers, send_due
from ews.mail_parse import ParsedMail, parse_mail
from ews.models import Assessment
from ews.pipeline import decide
from ews.schema import Input, MailInput, MailRow
from ews.settings import Settings

log = logging.getLogger(__name__)

NO_PDF = "Die E-Mail enthält keine Bewerbung als PDF-Datei (auch nicht in einem ZIP-Archiv " \
         "oder einer weitergeleiteten Nachricht)."


def take_new_mails(settings: Settings, mailbox: Mailbox, now: datetime) -> list[int]:
    """Take every mail of the folder that the ledger has not seen; returns the new inputs."""
    sessions = session_factory(settings.db_url)
    imap = settings.imap
    with sessions.begin() as session:
        seen = set(session.scalars(select(MailRow.uid).where(
            MailRow.account == imap.account, MailRow.folder == imap.folder,
            MailRow.uidvalidity == mailbox.uidvalidity)))
    new = [uid for uid in mailbox.uids_to_look_at() if uid not in seen]
    input_ids: list[int] = []
    for fetched in mailbox.fetch(new):
        input_ids += take_mail(settings, mailbox.uidvalidity, fetched, now)
    return input_ids


def take_mail(settings: Settings, uidvalidity: int, fetched: FetchedMail, now: datetime
              ) -> list[int]:
    """Record one fetched mail and open its inputs, in one transaction (idempotent)."""
    imap = settings.imap
    parsed = parse_mail(fetched.raw, max_attachment_bytes=imap.max_attachment_mb * 1024 * 1024)
    digest = hashlib.sha256(fetched.raw).hexdigest()
    key = f"{uidvalidity}-{fetched.uid}"
    month = fetched.internaldate.astimezone(BERLIN).strftime("%Y-%m")
    raw_path = folders.write_atomic(
        settings.archive_dir / "mail" / month / folders.safe_name(f"{key}__{_label(parsed)}.eml"),
        fetched.raw)
    sessions = session_factory(settings.db_url)
    try:
        with sessions.begin() as session:
            row = MailRow(account=imap.account, folder=imap.folder, uidvalidity=uidvalidity,
                          uid=fetched.uid, message_id=parsed.message_id, sha256=digest,
                          internaldate=fetched.internaldate, sender=parsed.sender,
                          subject=parsed.subject[:998], kind="", reasons=list(parsed.skipped),
                          raw_path=str(raw_path), state="taken")
            row.kind = _kind(session, row, parsed)
            session.add(row)
            session.flush()
            return _open_inputs(session, row, parsed, settings, key, now)
    except IntegrityError:  # another worker recorded this mail first
        return []


def _label(parsed: ParsedMail) -> str:
    return (parsed.subject or parsed.message_id or "ohne Betreff")[:80]


def _kind(session: Session, row: MailRow, parsed: ParsedMail) -> str:
    if parsed.automatic:
        row.reasons = [parsed.automatic, *row.reasons]
        return "automatic"
    twin = select(MailRow.id).where(MailRow.account == row.account,
                                    MailRow.kind != "duplicate")
    twin = twin.where(MailRow.message_id == row.message_id) if row.message_id else \
        twin.where(MailRow.sha256 == row.sha256)
    if session.scalars(twin).first() is not None:
        row.reasons = ["Diese E-Mail wurde bereits verarbeitet (gleiche Message-ID)."]
        return "duplicate"
    return "application" if parsed.pdfs else "no_pdf"


def _open_inputs(session: Session, row: MailRow, parsed: ParsedMail, settings: Settings,
                 key: str, now: datetime) -> list[int]:
    if row.kind in ("automatic", "duplicate"):
        return []
    origin = _origin(row)
    folder = settings.mail_dir / key
    if row.kind == "no_pdf":
        claim = folders.write_atomic(folder / "00__E-Mail.eml", Path(row.raw_path).read_bytes())
        inputs = [_input(session, row, claim, f"E-Mail {origin} (ohne PDF-Anhang)", now)]
        decide(session, inputs[0].id, Assessment(reasons=[NO_PDF, *row.reasons]), settings, now)
    else:
        inputs = []
        for number, pdf in enumerate(parsed.pdfs, start=1):
            claim = folders.write_atomic(
                folder / f"{number:02d}__{folders.safe_name(pdf.name)}", pdf.data)
            inputs.append(_input(session, row, claim, f"E-Mail {origin}: {pdf.name}", now))
    return [item.id for item in inputs]


def _origin(row: MailRow) -> str:
    when = row.internaldate.astimezone(BERLIN)
    subject = f" „{row.subject}“" if row.subject else ""
    return f"von {row.sender or 'unbekannt'}{subject} vom {when:%d.%m.%Y %H:%M} Uhr"


def _input(session: Session, row: MailRow, claim: Path, source: str, now: datetime) -> Input:
    data = claim.read_bytes()
    item = register.open_input(
        session, claim_path=str(claim), source_name=source[:1024],
        sha256=hashlib.sha256(data).hexdigest(), size=len(data),
        received_at=row.internaldate, channel="mail")
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
        ready = [(row.id, row.uid, row.uidvalidity) for row in waiting
                 if _inputs_done(session, row.id)]
    finished = 0
    for mail_id, uid, uidvalidity in ready:
        error = None
        if uidvalidity == mailbox.uidvalidity:
            try:
                mailbox.mark_done(uid)
            except MailboxError as exc:
                error = str(exc)
        else:  # the folder was rebuilt: the mail comes back under a new UID as a duplicate
            error = "UIDVALIDITY des Ordners hat sich geändert; die E-Mail wird neu zugeordnet."
        with sessions.begin() as session:
            row = session.get(MailRow, mail_id)
            assert row is not None
            row.error = error
            if error is None or uidvalidity != mailbox.uidvalidity:
                row.state, row.done_at = "done", now
                finished += 1
        if error:
            log.warning("E-Mail %s: %s", mail_id, error)
    return finished


def _inputs_done(session: Session, mail_id: int) -> bool:
    states = session.scalars(select(Input.state).join(MailInput, MailInput.input_id == Input.id)
                             .where(MailInput.mail_id == mail_id))
    return all(state == "done" for state in states)


@contextmanager
def open_mailbox(settings: Settings) -> Iterator[Mailbox]:
    mailbox = Mailbox(settings.imap)
    try:
        yield mailbox
    finally:
        mailbox.close()


def take_mails(settings: Settings, now: datetime) -> list[int]:
    """One look into the mailbox: the inputs of every new mail (none without a mailbox)."""
    if not settings.imap.host:
        return []
    with open_mailbox(settings) as mailbox:
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
    report.queued = len(queue_answers(settings, now))
    if not settings.imap.host:
        sending = send_due(settings, now)
    else:
        with open_mailbox(settings) as mailbox:
            report.finished = finish_mails(settings, mailbox, now)
            sent_folder = settings.imap.sent_folder
            sending = send_due(
                settings, now,
                copy_to_sent=mailbox.append_sent if sent_folder else None,
                in_sent=(lambda mid: mailbox.has_message_id(sent_folder, mid))
                if sent_folder else None)
    report.sent, report.retrying, report.failed = sending.sent, sending.retrying, sending.failed
    return report
