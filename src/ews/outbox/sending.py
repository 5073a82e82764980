"""Sending what the outbox holds, with a copy of each mail in the mailbox's Sent folder when
there is one, and sending a failed mail again (I/O: SMTP, mailbox, database)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from ews.core.errors import MailboxError
from ews.mail.imap import Mailbox
from ews.outbox.delivery import SendReport, send_due
from ews.register import outbox as outbox_register
from ews.register.cases import log_event
from ews.register.database import transaction
from ews.runtime.settings import Settings


@contextmanager
def open_mailbox(settings: Settings) -> Iterator[Mailbox]:
    mailbox = Mailbox(settings.imap)
    try:
        yield mailbox
    finally:
        mailbox.close()


def send_queued(settings: Settings, now: datetime) -> SendReport:
    """Send every due mail of the outbox, with copies in the Sent folder when there is one."""
    if not settings.smtp.host or not settings.imap.host:
        return send_due(settings, now)
    sent = SentFolder(settings)
    try:
        return _send_with_copies(settings, sent, now)
    finally:
        sent.close()


class SentFolder:
    """The mailbox that keeps the copies, logged in on first use: the first answer leaves by
    SMTP before the IMAP login (some 0.15 s), which only its copy needs. A login that failed
    is not tried again in the same run (each mail's missing copy is noted, as for a failed
    copy)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._mailbox: Mailbox | None = None
        self._failure: MailboxError | None = None

    def mailbox(self) -> Mailbox:
        if self._failure is not None:
            raise self._failure
        if self._mailbox is None:
            try:
                self._mailbox = Mailbox(self.settings.imap)
            except MailboxError as exc:
                self._failure = exc
                raise
        return self._mailbox

    def close(self) -> None:
        if self._mailbox is not None:
            self._mailbox.close()


def _send_with_copies(settings: Settings, sent: SentFolder, now: datetime) -> SendReport:
    sent_folder = settings.imap.sent_folder
    return send_due(settings, now,
                    copy_to_sent=(lambda raw, at: sent.mailbox().append_sent(raw, at))
                    if sent_folder else None,
                    in_sent=(lambda mid: sent.mailbox().has_message_id(sent_folder, mid))
                    if sent_folder else None)


def send_again(settings: Settings, mail_id: int, *, actor: str, now: datetime) -> str:
    """Queue a failed mail again and run the sender; a German sentence on what happened."""
    with transaction(settings.db_url) as session:
        key = outbox_register.requeue_failed(session, mail_id, now)
        if key is None:
            return (f"E-Mail Nr. {mail_id} ist nicht gescheitert; nur gescheiterte E-Mails "
                    "werden erneut gesendet.")
        log_event(session, actor=actor, action="mail-erneut-senden", subject=key,
                  detail={"nummer": mail_id})
    if not settings.smtp.host:
        return (f"E-Mail Nr. {mail_id} wartet wieder auf den Versand; es ist kein "
                "E-Mail-Versand eingerichtet (EWS_SMTP__HOST).")
    send_queued(settings, now)
    return f"E-Mail Nr. {mail_id} wurde erneut gesendet (Stand siehe Tabelle)."
