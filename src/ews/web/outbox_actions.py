"""„Erneut senden“ for a failed outgoing mail: back into the queue, logged with the user's
name, and sent at once (I/O: the register and the mail server)."""

from __future__ import annotations

from datetime import datetime

from ews.core.models import OutboxState
from ews.outbox.sending import send_queued
from ews.register import outbox as outbox_register
from ews.register.cases import log_event
from ews.register.database import transaction
from ews.register.schema import OutgoingMail
from ews.runtime.settings import Settings


def send_again(settings: Settings, mail_id: int, *, actor: str, now: datetime) -> str:
    """Queue a failed mail again and run the sender; a German sentence on what happened."""
    with transaction(settings.db_url) as session:
        row = session.get(OutgoingMail, mail_id)
        if row is None or row.state != OutboxState.FAILED:
            return (f"E-Mail Nr. {mail_id} ist nicht gescheitert; nur gescheiterte E-Mails "
                    "werden erneut gesendet.")
        outbox_register.requeue(session, mail_id, now, row.last_error or "")
        log_event(session, actor=actor, action="mail-erneut-senden", subject=row.subject_key,
                  detail={"nummer": mail_id})
    if not settings.smtp.host:
        return (f"E-Mail Nr. {mail_id} wartet wieder auf den Versand; es ist kein "
                "E-Mail-Versand eingerichtet (EWS_SMTP__HOST).")
    send_queued(settings, now)
    return f"E-Mail Nr. {mail_id} wurde erneut gesendet (Stand siehe Tabelle)."
