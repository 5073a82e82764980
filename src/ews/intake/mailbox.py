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
but it is never answered; see ``mail_auth``). Correspondence (a question, a reply: see
``ews.intake.replies``) is recorded in the case file, moved to the staff folder and flagged,
and its sender gets at most the neutral acknowledgment (``ews.outbox.acknowledgments``). The
post-action (move or keyword) runs only once every input of the mail has its outcome
committed; until then the mail is retried, never lost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from ews.core.errors import MailboxError
from ews.intake.failures import is_infrastructure
from ews.intake.mail_ledger import record_alone, record_batch
from ews.intake.mail_preparation import (
    PreparedMail,
    Preparing,
    UnreadableMail,
    prepare_all,
    prepared_of,
    start_preparing,
)
from ews.mail.imap import FetchedMail, Mailbox
from ews.outbox.acknowledgments import queue_acknowledgments
from ews.outbox.queue import queue_answers
from ews.outbox.sending import open_mailbox, send_queued
from ews.register import correspondence, mails
from ews.register.database import transaction
from ews.register.heartbeats import mailbox_name
from ews.register.locks import locks_for
from ews.runtime.settings import Settings

log = logging.getLogger(__name__)

MAILBOX_WAIT = 600.0  # seconds a pass waits while another process works in the mailbox
REBUILT = "UIDVALIDITY des Ordners hat sich geändert; die E-Mail wird neu zugeordnet."


def take_new_mails(settings: Settings, mailbox: Mailbox, now: datetime) -> list[int]:
    """Take every mail of the folder that the ledger has not seen; returns the new inputs.
    Each fetch batch is recorded in one transaction. While the workers prepare one batch,
    the next is fetched from the server; a batch prepared is recorded even when fetching the
    next one fails."""
    imap = settings.imap
    with transaction(settings.db_url) as session:
        seen = mails.seen_uids(session, imap.account, imap.folder, mailbox.uidvalidity)
    new = [uid for uid in mailbox.uids_to_look_at() if uid not in seen]
    input_ids: list[int] = []
    preparing: Preparing | None = None  # on the workers while the next batch is fetched
    try:
        for batch in _batches(mailbox.fetch(new), imap.batch_size):
            queued = start_preparing(settings, mailbox.uidvalidity, batch)
            if preparing is not None:
                input_ids += take_prepared(settings, prepared_of(preparing, now), now)
            preparing = queued
    except Exception:  # e.g. the server went away: what was fetched and prepared is kept
        if preparing is not None:
            take_prepared(settings, prepared_of(preparing, now), now)
        raise
    if preparing is not None:
        input_ids += take_prepared(settings, prepared_of(preparing, now), now)
    return input_ids


def _batches(mails: Iterator[FetchedMail], size: int) -> Iterator[list[FetchedMail]]:
    """The fetched mails in lists of ``size`` (the last one shorter), as they come."""
    batch: list[FetchedMail] = []
    for fetched in mails:
        batch.append(fetched)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def take_prepared(settings: Settings, prepared: list[PreparedMail | UnreadableMail],
                  now: datetime) -> list[int]:
    """Record prepared mails and open their inputs in one transaction; when that fails
    (another worker recorded one of them meanwhile, or the register refuses one mail's
    values), each mail is recorded on its own."""
    try:
        with transaction(settings.db_url) as session:
            return record_batch(session, settings, prepared, now)
    except Exception as exc:
        if is_infrastructure(exc):
            raise
        return [i for item in prepared for i in record_alone(settings, item, now)]


def take_mail(settings: Settings, uidvalidity: int, fetched: FetchedMail, now: datetime
              ) -> list[int]:
    """Record one fetched mail and open its inputs, in one transaction (idempotent). It is
    prepared on the worker pool like any other."""
    return [i for item in prepare_all(settings, uidvalidity, [fetched], now)
            for i in record_alone(settings, item, now)]


def finish_mails(settings: Settings, mailbox: Mailbox, now: datetime) -> int:
    """Apply the post-action to every taken mail whose inputs are all done; returns how many.
    A failure leaves the mail ``taken`` with the error noted, for the next pass."""
    with transaction(settings.db_url) as session:
        ready = mails.ready_to_finish(session, settings.imap.account, settings.imap.folder)
        staff = correspondence.for_staff(session, [mail.mail_id for mail in ready])
    current = [mail for mail in ready if mail.uidvalidity == mailbox.uidvalidity]
    done = [mail.uid for mail in current if mail.mail_id not in staff]
    for_staff = [mail.uid for mail in current if mail.mail_id in staff]
    error = None
    if current:
        try:
            if done:
                mailbox.mark_done(done)
            if for_staff:  # correspondence: flagged, in the staff folder
                mailbox.mark_for_staff(for_staff)
        except MailboxError as exc:
            error = str(exc)
            log.warning("Nachbearbeitung im Postfach fehlgeschlagen: %s", error)
    rebuilt = [mail.mail_id for mail in ready if mail.uidvalidity != mailbox.uidvalidity]
    ours = [mail.mail_id for mail in current]
    with transaction(settings.db_url) as session:
        # the folder was rebuilt: the mail comes back under a new UID as a duplicate
        mails.note_post_actions(session, rebuilt, error=REBUILT, done=True, now=now)
        # after a failure the mails stay taken: the next pass tries again
        mails.note_post_actions(session, ours, error=error, done=error is None, now=now)
    return len(rebuilt) + (len(ours) if error is None else 0)


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
    """After the register committed: answers queued, due mails sent, post-actions. The
    answers go out first (the post-actions need nothing the sending does), so that the
    sender's answer does not wait for the moving and marking; these run even when the
    sending failed."""
    report = MailReport()
    if settings.smtp.host:  # without a server the answers are written once it is configured
        with locks_for(settings) as locks, locks.named("antworten", wait=MAILBOX_WAIT):
            report.queued = len(queue_answers(settings, now)) + \
                len(queue_acknowledgments(settings, now))
    try:
        sending = send_queued(settings, now)
        report.sent, report.retrying, report.failed = (sending.sent, sending.retrying,
                                                       sending.failed)
    finally:
        if settings.imap.host:
            with locks_for(settings) as locks, locks.named(mailbox_name(settings),
                                                           wait=MAILBOX_WAIT), \
                    open_mailbox(settings) as mailbox:
                report.finished = finish_mails(settings, mailbox, now)
    return report
