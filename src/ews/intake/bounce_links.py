"""Delivery failure reports in the office mailbox, linked to the outbox mail they report on
(I/O: database, through ``ews.register.mails``). The link is the returned original's
Message-ID, or the ``X-EWS-Versand`` header every circular mail carries; a report that matches
no mail of ours is kept as well."""

from __future__ import annotations

from ews.mail.bounces import Bounce, FailedRecipient, reason_de
from ews.register import cases as register
from ews.register import mails
from ews.register.database import Session
from ews.register.schema import BounceRow, MailRow

_UNKNOWN = FailedRecipient(address="", status="", diagnostic="", permanent=True)


def record_bounce(session: Session, mail: MailRow, bounce: Bounce) -> list[BounceRow]:
    """One row per failed recipient of the report, linked when the mail is ours."""
    target = mails.reported_mail(session, bounce.message_ids, bounce.references)
    rows = [mails.add_bounce(session, mail_id=mail.id,
                             outgoing_mail_id=target.id if target else None,
                             recipient=recipient.address, status=recipient.status,
                             permanent=recipient.permanent, reason=reason_de(recipient)[:2000],
                             received_at=mail.internaldate)
            for recipient in bounce.recipients or (_UNKNOWN,)]
    register.log_event(
        session, actor="postfach", action="unzustellbar" if bounce.permanent else "verzoegert",
        subject=target.subject_key if target else f"E-Mail {mail.uid}",
        detail={"zweck": target.purpose if target else None,
                "gruende": [row.reason for row in rows]})
    return rows
