"""The neutral acknowledgment of correspondence: „Ihre Nachricht ist eingegangen; wir
antworten Ihnen persönlich.“ (I/O: database, files).

At most one per sender and Berlin day, through the outbox's unique key (``eingang``,
``absender:<address>:<date>``), so a second question the same day gets none, even from a
second worker. Never to automatic mails or senders failing DMARC (their mails are not of kind
``schriftverkehr``, ``ews.register.correspondence.awaiting_acknowledgment``), never to the
office's own address, never for a mail that brought an input (it is answered with its letters).
The text is the staff-editable template ``vorlagen/mail/eingang_nachricht.txt.j2``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from email.message import EmailMessage

from ews.core.deadlines import BERLIN
from ews.mail.messages import mark_as_reply, normalised_address
from ews.outbox.office import mail_recipients, office_mail
from ews.outbox.queue import enqueue
from ews.outbox.templates import render_body
from ews.register import correspondence
from ews.register import outbox as ledger
from ews.register.case_keys import ACKNOWLEDGMENT
from ews.register.correspondence import ToAcknowledge
from ews.register.database import transaction
from ews.runtime.settings import Settings

PURPOSE = "eingang"
TEMPLATE = "eingang_nachricht.txt.j2"
#: correspondence recorded longer ago than this is not acknowledged any more
LOOK_BACK = timedelta(hours=36)


def sender_day_key(address: str, received_at: datetime) -> str:
    """The outbox key that allows one acknowledgment per sender and Berlin day (pure)."""
    normalised = normalised_address(address)
    if len(normalised) > 90:  # the key column holds 128 characters
        normalised = hashlib.sha256(normalised.encode()).hexdigest()[:40]
    return f"{ACKNOWLEDGMENT}{normalised}:{received_at.astimezone(BERLIN):%Y-%m-%d}"


def queue_acknowledgments(settings: Settings, now: datetime) -> list[int]:
    """Queue the acknowledgment for every recent piece of correspondence that may get one;
    the ids of the queued mails. A piece whose sender got one that day is left alone."""
    queued: list[int] = []
    with transaction(settings.db_url) as session:
        for piece in correspondence.awaiting_acknowledgment(session, now - LOOK_BACK):
            recipients = mail_recipients(settings, [piece.sender] if piece.sender else [])
            if not recipients:
                continue  # no sender, or the office itself
            key = sender_day_key(recipients[0], piece.received_at)
            if ledger.has_key(session, PURPOSE, key):
                continue
            message = acknowledgment(settings, piece, recipients[:1], now)
            queued.append(enqueue(session, settings, key, message, recipients[:1], now,
                                  purpose=PURPOSE))
            correspondence.mark_acknowledged(session, piece.id, now)
    return queued


def acknowledgment(settings: Settings, piece: ToAcknowledge, recipients: list[str],
                   now: datetime) -> EmailMessage:
    """The acknowledgment mail, as a reply to the piece."""
    body = render_body(settings, {
        "anrede": "Sehr geehrte Damen und Herren", "betreff": piece.subject,
        "eingang": f"{piece.received_at.astimezone(BERLIN):%d.%m.%Y, %H:%M} Uhr",
        "aktenzeichen": piece.az or "", "buero": settings.office.model_dump()},
        template=TEMPLATE)
    reference = f" ({piece.az})" if piece.az else ""
    message = office_mail(settings, f"Ihre Nachricht ist eingegangen{reference}", recipients,
                          now, body, [], auto_submitted="auto-replied")
    return mark_as_reply(message, piece.message_id)
