"""Sending with copies in the Sent folder, on the real SMTP server and Dovecot: the mails leave
by SMTP and their copies land in Sent; when the mailbox for the copies cannot be reached (it
is logged into only after the first mail left), the mails leave all the same and each missing
copy is noted."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

from ews.core.models import OutboxState
from ews.intake import passes as intake
from ews.outbox.office import office_mail
from ews.outbox.queue import enqueue
from ews.outbox.sending import send_queued
from ews.register.database import transaction
from ews.register.schema import OutgoingMail
from ews.runtime.settings import Settings
from tests.integration.intake.test_mail_intake import OFFICE, mail_settings
from tests.support.mailserver import MailServers

NOW = datetime(2027, 3, 2, 9, 30, tzinfo=UTC)
TEAM = "team@luedenscheid.de"


def queue_two(settings: Settings) -> list[int]:
    intake.prepare(settings)
    ids = []
    with transaction(settings.db_url) as session:
        for number in (1, 2):
            message = office_mail(settings, f"Ihre Bewerbung {number}", [TEAM], NOW,
                                  "Sehr geehrte Damen und Herren,\n…", [],
                                  auto_submitted="auto-generated")
            ids.append(enqueue(session, settings, f"test:kopie-{number}", message, [TEAM],
                               NOW))
    return ids


def states(settings: Settings, ids: list[int]) -> list[tuple[str, bool]]:
    with transaction(settings.db_url) as session:
        return [(row.state, row.copied_to_sent) for row in
                (session.get_one(OutgoingMail, mail_id) for mail_id in ids)]


def closed_port() -> int:
    with socket.socket() as probe:  # bound, never listening: a connection is refused
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_mails_leave_and_their_copies_land_in_sent(tmp_path: Path,
                                                      mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    ids = queue_two(settings)

    assert send_queued(settings, NOW).sent == 2

    assert len(mail.dovecot.wait_for_messages(TEAM, 2)) == 2
    assert len(mail.dovecot.wait_for_messages(OFFICE, 2, folder="Sent")) == 2
    assert states(settings, ids) == [(OutboxState.SENT, True)] * 2


def test_without_the_mailbox_for_the_copies_the_mails_leave_and_the_copies_are_noted_missing(
        tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    settings.imap = settings.imap.model_copy(update={"port": closed_port()})
    ids = queue_two(settings)

    report = send_queued(settings, NOW)

    assert (report.sent, report.failed) == (2, 0)
    assert len(mail.dovecot.wait_for_messages(TEAM, 2)) == 2
    assert states(settings, ids) == [(OutboxState.SENT, False)] * 2
