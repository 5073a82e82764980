"""Delivery failure reports in the office mailbox, linked to the outbox mail they report on
(I/O: database). The link is the returned original's Message-ID, or the ``X-EWS-Versand``
header every circular mail carries; a report that matches no mail of ours is kept as well."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ews.mail.bounces import Bounce, FailedRecipient, reason_de
from ews.register import cases as register
from ews.register.schema import BounceRow, MailRow, OutgoingMail

_UNKNOWN = FailedRecipient(address="", status="", diagnostic="", permanent=True)


def reported_mail(session: Session, bounce: Bounce) -> OutgoingMail | None:
    """The outbox mail a report is about, if it is one of ours."""
    for message_id in bounce.message_ids:
        found = session.scalars(select(OutgoingMail).where(
            OutgoingMail.message_id.in_([f"<{message_id}>", message_id]))).first()
        if found is not None:
            return found
    for reference in bounce.references:
        purpose, _, key = reference.strip().partition("/")
        found = session.scalars(select(OutgoingMail).where(
            OutgoingMail.purpose == purpose, OutgoingMail.subject_key == key)).first()
        if found is not None:
            return found
    return None


def record_bounce(session: Session, mail: MailRow, bounce: Bounce) -> list[BounceRow]:
    """One row per failed recipient of the report, linked when the mail is ours."""
    target = reported_mail(session, bounce)
    rows = [BounceRow(mail_id=mail.id, outgoing_mail_id=target.id if target else None,
                      recipient=recipient.address, status=recipient.status,
                      permanent=recipient.permanent, reason=reason_de(recipient)[:2000],
                      received_at=mail.internaldate)
            for recipient in bounce.recipients or (_UNKNOWN,)]
    session.add_all(rows)
    register.log_event(
        session, actor="postfach", action="unzustellbar" if bounce.permanent else "verzoegert",
        subject=target.subject_key if target else f"E-Mail {mail.uid}",
        detail={"zweck": target.purpose if target else None,
                "gruende": [row.reason for row in rows]})
    return rows
