"""The restore drill: a pass over 200 files runs (``ews process`` as a child process), a backup
is taken in the middle of it, then the service dies (SIGKILL) and its data folder is lost. The
backup is restored into a fresh installation that watches the same inbox, and ``ews process``
runs there.

What must hold: every case, letter and journal entry of the backup is there; the files that
came into the inbox after the backup are taken; a file filed before the backup is not taken a
second time; the Az. numbers go on without a gap and none is given twice. What the dead
installation took *after* the backup is gone with its disk (the README says so): here those
are exactly the files the lost register holds and the backup does not."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from ews.letters.samples import sample_applications
from ews.operations.backup import make_backup
from ews.operations.restore import restore
from ews.register.database import engine_for, session_factory
from ews.register.reports import application_records, journal_records
from ews.register.schema import EventRow, Input, LetterRow
from ews.register.snapshot import state_of
from ews.runtime.settings import Settings, settings_environment
from tests.conftest import REPO, make_settings
from tests.integration.intake.test_mail_intake import OFFICE, application_mail, mail_settings
from tests.support.mailserver import MailServers
from tests.support.pgserver import Postgres

pytestmark = pytest.mark.slow

FILES, LATER = 200, 20
MAILS = 5  # application mails before the pass and as many after the backup
EWS = REPO / ".venv" / "bin" / "ews"
NOW = datetime(2026, 12, 5, 10, 30, tzinfo=UTC)
WAIT = 300.0  # seconds, at most, for the first pass to reach the middle


def _env(settings: Settings, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "EWS_"))}
    env.update(settings_environment(settings))
    env.update({"EWS_INTAKE__OCR": "false", "EWS_INTAKE__STABLE_SECONDS": "0.05",
                "EWS_INTAKE__WORKERS": "2", "PREFECT_HOME": str(home / "prefect"),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    return env


def _registered(settings: Settings) -> int:
    return sum(state_of(settings.db_url).az_counters.values())


def _shas(settings: Settings) -> set[str]:
    with session_factory(settings.db_url).begin() as session:
        return set(session.scalars(select(Input.sha256)))


def _ids(settings: Settings, table: type[LetterRow] | type[EventRow]) -> set[int]:
    with session_factory(settings.db_url).begin() as session:
        return set(session.scalars(select(table.id)))


def test_restore_drill_on_sqlite(tmp_path: Path) -> None:
    inbox = tmp_path / "posteingang"  # the office's folder: not in the backup, it outlives
    _drill(tmp_path, make_settings(tmp_path / "alt", inbox_dir=inbox),
           make_settings(tmp_path / "neu", inbox_dir=inbox))


@pytest.mark.postgresql
def test_restore_drill_on_postgresql_with_mail(tmp_path: Path, postgres: Postgres,
                                               mail: MailServers) -> None:
    """The same on PostgreSQL (pg_dump, psql), with the office mailbox on a real Dovecot:
    application mails before the pass (taken by the dead installation) and after the backup
    (taken by the restored one); answers go through the real SMTP server."""
    inbox = tmp_path / "posteingang"
    names = [f"drill_{uuid.uuid4().hex}" for _ in range(2)]
    urls = [postgres.create_database(name) for name in names]
    try:
        settings = [mail_settings(tmp_path / root, mail, inbox_dir=inbox,
                                  database_url=SecretStr(url))
                    for root, url in zip(("alt", "neu"), urls, strict=True)]
        _drill(tmp_path, *settings, mail=mail)
    finally:
        for name, url in zip(names, urls, strict=True):
            engine_for(url).dispose()
            postgres.drop_database(name)


def _drill(tmp_path: Path, old: Settings, new: Settings, mail: MailServers | None = None
           ) -> None:
    inbox = old.inbox_dir
    (tmp_path / "alt").mkdir()
    files = sample_applications(FILES + LATER + 2 * MAILS, seed=1812)
    mailed = files[FILES + LATER:]
    files = files[:FILES + LATER]
    for name, data in files[:FILES]:
        (inbox / name).write_bytes(data)
    if mail is not None:
        for name, data in mailed[:MAILS]:
            mail.dovecot.deliver(application_mail((name, data)), OFFICE)
    service = subprocess.Popen([str(EWS), "process", "--ohne-prefect"], cwd=tmp_path / "alt",
                               env=_env(old, tmp_path / "alt"), start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + WAIT
        while _registered_or_zero(old) < 30 and service.poll() is None:
            assert time.monotonic() < deadline, "the pass did not get going"
            time.sleep(0.2)
        assert service.poll() is None, "the pass ended before the backup"
        backup = make_backup(old, tmp_path / "sicherungen", NOW,
                             config_dir=tmp_path / "alt" / "config")
    finally:
        os.killpg(service.pid, signal.SIGKILL)  # the machine dies
        service.wait(timeout=60)
    lost_register = _shas(old)
    for name, data in files[FILES:]:  # they come after the backup
        (inbox / name).write_bytes(data)
    if mail is not None:
        for name, data in mailed[MAILS:]:
            mail.dovecot.deliver(application_mail((name, data)), OFFICE)
    else:
        mailed = []

    (tmp_path / "neu").mkdir()
    restore(new, backup.path, config_dir=tmp_path / "neu" / "config")
    before_apps = {record["az"]: record for record in application_records(new)}
    before_journal = journal_records(new)
    before_letters, before_events = _ids(new, LetterRow), _ids(new, EventRow)
    in_backup = _shas(new)
    assert len(before_apps) >= 30 and sum(backup.manifest["az_zaehler"].values()) == len(
        before_apps)

    for _attempt in range(new.intake.max_attempts):  # an input's filing is retried per pass
        done = subprocess.run([str(EWS), "process"], cwd=tmp_path / "neu",
                              env=_env(new, tmp_path / "neu"), capture_output=True, text=True,
                              timeout=900, check=False)
        if done.returncode == 0:
            break
    assert done.returncode == 0, done.stdout + done.stderr

    after_apps = {record["az"]: record for record in application_records(new)}
    for az, record in before_apps.items():
        assert after_apps[az]["ags"] == record["ags"], az
    journal = {record["eingangsnummer"]: record for record in journal_records(new)}
    for record in before_journal:
        assert journal[record["eingangsnummer"]]["sha256"] == record["sha256"]
        if record["state"] == "done":
            assert journal[record["eingangsnummer"]] == record
    assert before_letters <= _ids(new, LetterRow) and before_events <= _ids(new, EventRow)

    # the inbox is empty: what came later and what the dead service had not filed is taken
    assert not [path for path in inbox.iterdir() if path.is_file()]
    taken = _shas(new)
    later = {_sha(data) for _, data in [*files[FILES:], *mailed[MAILS:]]}
    assert later <= taken
    if mail is not None:  # every mail was taken and filed away
        assert mail.dovecot.messages(OFFICE, "INBOX") == []
    # nothing is lost but what the dead installation took after the backup
    everything = {_sha(data) for _, data in [*files, *mailed]}
    assert everything - taken <= lost_register - in_backup
    # no file is taken twice, no Az. is given twice, the numbers have no gap
    with session_factory(new.db_url).begin() as session:
        shas = Counter(session.scalars(select(Input.sha256)))
    assert max(shas.values()) == 1
    serials = sorted(int(az.split("-")[-1].split("/")[0]) for az in after_apps)
    assert serials == list(range(1, len(serials) + 1))
    assert sum(state_of(new.db_url).az_counters.values()) == len(serials)
    assert len(after_apps) >= len(before_apps) + LATER + len(mailed[MAILS:])
    print(f"Drill: {len(before_apps)} in the backup, {len(after_apps)} after the restore, "
          f"{len(everything - taken)} lost with the dead installation")


def _registered_or_zero(settings: Settings) -> int:
    try:
        return _registered(settings)
    except OperationalError:  # the register is still being created by the child
        return 0


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
