"""Reminders on the real servers: a Zusage sent by mail opens its release follow-up; once it
is overdue, exactly one reminder reaches the team over two scheduled runs with a SIGKILL
between queuing and sending, or in the middle of sending; an extended follow-up is reminded
once more after its new date.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from ews.casefile.follow_ups import extend_by_staff
from ews.casefile.reminders import remind_overdue
from ews.core.deadlines import BERLIN, answer_due
from ews.intake import passes as intake
from ews.register import cases as register
from ews.register.database import session_factory
from ews.register.schema import ApplicationRow, FollowUpRow, OutgoingMail
from ews.runtime.settings import AzSettings, Settings, settings_environment
from ews.selection import decisions as selection
from ews.selection.notices import send_notices
from tests.conftest import REPO
from tests.integration.casefile.conftest import SENT, TEAM, add_case
from tests.integration.intake.test_mail_intake import mail_settings
from tests.support import pdfgen
from tests.support.mailserver import MailboxMissing, MailServers

#: queues the due reminders, reports how many, then waits to be killed before sending
CHILD = textwrap.dedent("""\
    import sys, time
    from datetime import datetime
    from ews.casefile.reminders import queue_reminders
    from ews.runtime.settings import Settings
    report = queue_reminders(Settings(_env_file=None), datetime.fromisoformat(sys.argv[1]))
    print(len(report.reminders), flush=True)
    time.sleep(120)
    """)


def _reminders(mail: MailServers, address: str) -> list[EmailMessage]:
    try:
        messages = [stored.message for stored in mail.dovecot.messages(address)]
    except MailboxMissing:
        return []
    return [m for m in messages if str(m["Subject"]).startswith("Erinnerung")]


@pytest.fixture
def office(tmp_path: Path, mail: MailServers) -> Settings:
    settings = mail_settings(tmp_path, mail)
    intake.prepare(settings)
    return settings


def _accept(settings: Settings) -> str:
    """Lüdenscheid's application, accepted; returns its Az."""
    with session_factory(settings.db_url).begin() as session:
        item = register.open_input(session, claim_path="/c/1", source_name="a.pdf",
                                   sha256="1" * 64, size=1, received_at=SENT - timedelta(days=40))
        session.flush()
        az, serial = register.issue_az(session, 2027, AzSettings())
        register.add_application(session, ApplicationRow(
            az=az, az_year=2027, az_serial=serial, round_name="EWS 6", ags="05962032",
            kommune_name="Stadt Lüdenscheid", status="registered",
            received_at=SENT - timedelta(days=40), deadline_last_day="2027-03-01",
            fields=dict(pdfgen.VALUES), input_id=item.id))
        selection.decide(session, az, "angenommen", seats=17, actor="frau.meier", now=SENT)
    return az


def _kill_after_queuing(settings: Settings, now: datetime) -> None:
    env = {**os.environ, **settings_environment(settings)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, now.isoformat()], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()  # ends at the latest when the child exits
        assert line.strip() == "1", child.stderr.read() if child.stderr else line
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


def test_overdue_release_gets_exactly_one_reminder_across_a_kill_and_two_runs(
        office: Settings, mail: MailServers) -> None:
    az = _accept(office)
    report = send_notices(office, SENT, actor="frau.meier")
    assert report.sent == 1  # the Zusage, with the declaration enclosed
    with session_factory(office.db_url).begin() as session:
        rows = {row.kind: row for row in session.scalars(select(FollowUpRow))}
    reply_by = answer_due(SENT.astimezone(BERLIN).date(), office.round.reply_days)
    assert rows["freistellung"].due_on == reply_by.isoformat() == "2027-04-15"
    assert rows["erklaerung"].due_on == answer_due(date(2027, 4, 1), 28).isoformat()
    release = rows["freistellung"]

    overdue = SENT + timedelta(days=15)  # 16.04.2027: the release is overdue, not the rest
    _kill_after_queuing(office, overdue)
    assert _reminders(mail, TEAM[0]) == []  # queued, not sent
    first = remind_overdue(office, overdue)  # the next scheduled run only sends
    second = remind_overdue(office, overdue + timedelta(days=1))  # and the day after
    assert (first.reminders, first.sent, second.reminders, second.sent) == ([], 1, [], 0)

    for address in TEAM:
        [reminder] = _reminders(mail, address)
    assert az in str(reminder["Subject"]) and "Freistellung" in str(reminder["Subject"])
    text = reminder.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "15.04.2027" in text and "01.04.2027" in text and az in text
    with session_factory(office.db_url).begin() as session:
        keys = list(session.scalars(select(OutgoingMail.subject_key).where(
            OutgoingMail.purpose == "erinnerung")))
        assert keys == [f"wiedervorlage:{release.id}:2027-04-15"]

    # extended: reminded once more after the new date (the declaration is due 29.04.)
    extend_by_staff(office, release.id, due_on=date(2027, 4, 26), actor="frau.meier",
                    now=overdue + timedelta(days=1), note="Telefonisch zugesagt")
    assert remind_overdue(office, datetime(2027, 4, 26, 23, tzinfo=BERLIN)).reminders == []
    again = remind_overdue(office, datetime(2027, 4, 27, 0, 5, tzinfo=BERLIN))
    assert [item.az for item in again.reminders] == [az] and again.sent == 1
    assert len(_reminders(mail, TEAM[0])) == 2


#: runs the whole check, but dies by SIGKILL the moment the reminder went out over SMTP and
#: into the Sent folder, before the outbox recorded it as sent (the worst moment to crash)
DIES_WHILE_SENDING = textwrap.dedent("""\
    import os, signal, sys
    from datetime import datetime
    from ews.casefile.reminders import remind_overdue
    from ews.outbox import delivery
    from ews.runtime.settings import Settings
    delivery._record_sent = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
    remind_overdue(Settings(_env_file=None), datetime.fromisoformat(sys.argv[1]))
    """)


def test_a_kill_while_sending_leaves_one_reminder(office: Settings, mail: MailServers) -> None:
    case = add_case(office)
    overdue = SENT + timedelta(days=15)
    env = {**os.environ, **settings_environment(office)}
    child = subprocess.run([sys.executable, "-c", DIES_WHILE_SENDING, overdue.isoformat()],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
                           check=False)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert len(_reminders(mail, TEAM[0])) == 1  # it went out before the kill
    with session_factory(office.db_url).begin() as session:
        assert session.scalar(select(OutgoingMail.state)) == "sending"
    first = remind_overdue(office, overdue + timedelta(hours=1))
    second = remind_overdue(office, overdue + timedelta(days=1))
    assert (first.reminders, second.reminders, second.sent) == ([], [], 0)
    [reminder] = _reminders(mail, TEAM[0])
    assert case.az in str(reminder["Subject"])
    with session_factory(office.db_url).begin() as session:
        assert session.scalar(select(OutgoingMail.state)) == "sent"
