"""Answers and other mails through a transactional outbox (I/O: database, files).

``queue_answers`` writes every due answer to ``data/postausgang`` and records it ``queued`` in
the same transaction; ``ews.outbox.delivery.send_due`` sends what is queued. A mail gets at
most one answer, naming all its inputs, and one address at most
``max_answers_per_sender_per_day`` in 24 hours; a mail that gets none (DMARC failure, limit
reached, no sender) is recorded ``withheld`` with the German reason, so that staff see it and
it is decided only once (``ews.outbox.answers``). The ledger is ``ews.register.outbox``; sending is
``ews.outbox.delivery``, the office's addresses ``ews.outbox.office``, the mail templates
``ews.outbox.templates``.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from typing import TYPE_CHECKING, Any

from ews.mail.messages import normalised_address
from ews.outbox.answers import (
    ANSWER,
    ANSWERED_KINDS,
    WITHHELD,
    answer_letters,
    answer_recipients,
    answers_per_address,
    build_answer,
    build_collected_answer,
    letters_final,
    limit_reason,
    no_answer_reason,
    within_limit,
)
from ews.register import outbox as ledger
from ews.register.database import transaction
from ews.runtime import storage
from ews.runtime.settings import Settings

if TYPE_CHECKING:
    from ews.register.database import Session
    from ews.register.outbox import MailToAnswer



def queue_answers(settings: Settings, now: datetime) -> list[int]:
    """Write one answer per mail once every input of it has its outcome and letters, naming
    all of them (at most one per mail, at most ``max_answers_per_sender_per_day`` to one
    address within 24 hours before ``now``). A mail that gets none is recorded ``withheld``
    with the German reason (``ews postausgang``). Returns the ids of the queued mails."""
    queued = []
    with transaction(settings.db_url) as session:
        sent_to = answers_per_address(ledger.recipients_since(
            session, ANSWER, now - timedelta(hours=24), now, excluded_state=WITHHELD))
        for mail in ledger.mails_to_answer(session, ANSWERED_KINDS, ANSWER):
            if not all(letters_final(answer_letters(item), settings.letters.pdf)
                       for item in mail.inputs):
                continue  # PDF conversion still to come
            mail_id = _answer_mail(settings, session, mail, sent_to, now)
            if mail_id is not None:
                queued.append(mail_id)
    return queued


def _answer_mail(settings: Settings, session: Session, mail: MailToAnswer,
                 sent_to: Counter[str], now: datetime) -> int | None:
    """Queue the answer to one mail, or record why there is none; the queued mail's id."""
    key = f"mail:{mail.id}"
    reason = no_answer_reason(mail)
    recipients = [] if reason else answer_recipients(settings, mail)
    limit = settings.smtp.max_answers_per_sender_per_day
    if reason is None:
        reason = limit_reason(recipients, sent_to, limit)
    if reason is not None:
        ledger.record_withheld(session, purpose=ANSWER, key=key, state=WITHHELD,
                               recipients=recipients[:1] or ([mail.sender] if mail.sender
                                                             else []),
                               reason=reason, now=now)
        return None
    recipients = within_limit(recipients, sent_to, limit)
    if len(mail.inputs) == 1:
        message = build_answer(settings, mail, mail.inputs[0], recipients, now)
    else:
        message = build_collected_answer(settings, mail, recipients, now)
    sent_to.update(normalised_address(address) for address in recipients)
    return enqueue(session, settings, key, message, recipients, now)


def enqueue(session: Session, settings: Settings, key: str, message: EmailMessage,
            recipients: list[str], now: datetime, *, purpose: str = ANSWER) -> int:
    """Write the mail to ``data/postausgang`` (or the store's ``postausgang``) and record it
    ``queued`` (caller's transaction; unique per purpose and key)."""
    mail_id = ledger.add_queued(session, purpose=purpose, key=key,
                                message_id=str(message["Message-ID"]), recipients=recipients,
                                now=now)
    store = storage.outgoing_mail_store(settings)
    # CRLF line ends as SMTP requires; stored before the commit records it
    ledger.set_file(session, mail_id, store.put(store.location(f"{mail_id:06d}.eml"),
                                                message.as_bytes(policy=SMTP)))
    return mail_id


def outgoing_records(settings: Settings) -> list[dict[str, Any]]:
    """The outbox for display: one dict per mail."""
    with transaction(settings.db_url) as session:
        return [{"id": entry.id, "zweck": entry.purpose, "bezug": entry.subject_key,
                 "empfaenger": entry.recipients, "status": entry.state,
                 "versuche": entry.attempts, "fehler": entry.last_error,
                 "gesendet": entry.sent_at.isoformat() if entry.sent_at else None}
                for entry in ledger.ledger(session)]
