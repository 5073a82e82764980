"""Sending a failed mail again, on the real SMTP server and Dovecot: a mail the server refused
for good is failed; once staff send it again it is queued, sent, and reaches the recipient's
mailbox, and the event names who asked. A mail that did not fail is not sent twice."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from ews.core.models import OutboxState
from ews.intake import passes as intake
from ews.outbox.office import office_mail
from ews.outbox.queue import enqueue
from ews.outbox.sending import send_again, send_queued
from ews.register.database import transaction
from ews.register.schema import EventRow, OutgoingMail
from tests.integration.intake.test_mail_intake import mail_settings
from tests.support.mailserver import MailServers

NOW = datetime(2027, 3, 2, 9, 30, tzinfo=UTC)
TEAM = "team@luedenscheid.de"


def _row(url: str, mail_id: int) -> tuple[str, int, str | None]:
    with transaction(url) as session:
        row = session.get_one(OutgoingMail, mail_id)
        return row.state, row.attempts, row.last_error


def test_a_refused_mail_is_sent_again_and_arrives(tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    intake.prepare(settings)
    with transaction(settings.db_url) as session:
        message = office_mail(settings, "Ihre Bewerbung – Az. 13.0.70-001/2027", [TEAM], NOW,
                              "Sehr geehrte Damen und Herren,\n…", [],
                              auto_submitted="auto-generated")
        mail_id = enqueue(session, settings, "test:erneut", message, [TEAM], NOW)
    mail.smtp.reject_recipient(TEAM, 550, "5.2.1 Postfach gesperrt", times=1)

    send_queued(settings, NOW)
    state, attempts, error = _row(settings.db_url, mail_id)
    assert (state, attempts) == (OutboxState.FAILED, 1)
    assert error is not None and "Postfach gesperrt" in error
    assert mail.smtp.received == []

    said = send_again(settings, mail_id, actor="frau.meier", now=NOW)

    assert said == f"E-Mail Nr. {mail_id} wurde erneut gesendet (Stand siehe Tabelle)."
    assert _row(settings.db_url, mail_id)[:2] == (OutboxState.SENT, 2)
    [envelope] = mail.smtp.wait_for(1)
    assert envelope.rcpt_tos == [TEAM]
    [arrived] = mail.dovecot.wait_for_messages(TEAM, 1)
    assert arrived.message["Message-ID"] == message["Message-ID"]
    assert arrived.message["Subject"] == "Ihre Bewerbung – Az. 13.0.70-001/2027"
    with transaction(settings.db_url) as session:
        events = session.execute(select(EventRow.actor, EventRow.subject).where(
            EventRow.action == "mail-erneut-senden")).all()
    assert [tuple(event) for event in events] == [("frau.meier", "test:erneut")]

    refused = send_again(settings, mail_id, actor="frau.meier", now=NOW)
    assert refused == (f"E-Mail Nr. {mail_id} ist nicht gescheitert; nur gescheiterte "
                       "E-Mails werden erneut gesendet.")
    assert _row(settings.db_url, mail_id)[:2] == (OutboxState.SENT, 2)
    assert len(mail.smtp.received) == 1
