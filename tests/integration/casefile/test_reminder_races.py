"""Two checks at once (a duplicated scheduled run, two workers) queue each reminder once, on
both registers: SQLite serialises the transactions, PostgreSQL refuses the second key."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import date, timedelta
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import select

from ews.casefile.reminders import queue_reminders
from ews.register.database import session_factory
from ews.register.schema import FollowUpRow, OutgoingMail
from ews.runtime.settings import Settings, SmtpSettings, settings_environment
from tests.conftest import REPO, make_settings
from tests.integration.casefile.conftest import SENT, add_case

CHECK = textwrap.dedent("""\
    import sys
    from datetime import datetime
    from ews.casefile.reminders import queue_reminders
    from ews.runtime.settings import Settings
    report = queue_reminders(Settings(_env_file=None), datetime.fromisoformat(sys.argv[1]))
    print(len(report.reminders))
    """)


def _office(tmp_path: Path, database_url: str | None) -> Settings:
    # a mail server that is never reached: the checks only queue
    changes: dict[str, object] = {"smtp": SmtpSettings(host="127.0.0.1", port=9)}
    if database_url is not None:
        changes["database_url"] = SecretStr(database_url)
    return make_settings(tmp_path, **changes)


def test_two_checks_at_once_queue_each_reminder_once(tmp_path: Path,
                                                     database_url: str | None) -> None:
    settings = _office(tmp_path, database_url)
    for day in range(6):
        add_case(settings, due_on=date(2027, 4, 12) + timedelta(days=day))
    now = SENT + timedelta(days=30)
    env = {**os.environ, **settings_environment(settings)}
    checks = [subprocess.Popen([sys.executable, "-c", CHECK, now.isoformat()], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(2)]
    queued = []
    for check in checks:
        out, err = check.communicate(timeout=120)
        assert check.returncode == 0, err
        queued.append(int(out.strip()))
    assert sum(queued) == 6
    with session_factory(settings.db_url).begin() as session:
        keys = sorted(session.scalars(select(OutgoingMail.subject_key)))
        rows = list(session.scalars(select(FollowUpRow).order_by(FollowUpRow.id)))
    assert keys == sorted(f"wiedervorlage:{row.id}:{row.due_on}" for row in rows)
    assert all(row.reminded_on == row.due_on for row in rows)
    assert queue_reminders(settings, now + timedelta(days=1)).reminders == []
