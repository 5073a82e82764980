"""No secret of the service reaches Prefect: the flows run with passwords, storage keys and
a database URL that are unique markers, then the Prefect database, the API's flow runs, task
runs, artifacts, events and logs, and the process's own output are searched for them."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from prefect import get_client
from prefect.settings import get_current_settings
from prefect.testing.utilities import prefect_test_harness
from sqlalchemy import select

from ews.core.errors import MailboxError
from ews.register.database import session_factory
from ews.register.schema import Input
from ews.runtime.settings import ImapSettings, SmtpSettings, StorageSettings
from ews.selection import decisions as selection
from flows.intake import run_posteingang
from flows.selection import bescheide_versenden
from tests.conftest import make_settings
from tests.integration.intake.test_mail_intake import OFFICE, SENDER, application_mail
from tests.integration.selection.test_selection import NOW, fill_register
from tests.support import pdfgen
from tests.support.mailserver import Dovecot, SmtpServer, free_port
from tests.support.pgserver import Postgres

MARKERS = {name: f"{name}-{secrets.token_hex(8)}" for name in
           ("imap-pw", "smtp-pw", "storage-key", "storage-secret", "db-pw")}


@pytest.fixture(scope="module", autouse=True)
def prefect_harness() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="module")
def mail_servers() -> Iterator[tuple[Dovecot, SmtpServer]]:
    """Mail servers that accept only the marker passwords."""
    with Dovecot(password=MARKERS["imap-pw"]) as dovecot:
        smtp = SmtpServer(dovecot, password=MARKERS["smtp-pw"], require_auth=True).start()
        try:
            yield dovecot, smtp
        finally:
            smtp.stop()


@pytest.fixture
def office(tmp_path: Path, postgres: Postgres, mail_servers: tuple[Dovecot, SmtpServer],
           service_env: Callable[[Any], Any]) -> Any:
    dovecot, smtp = mail_servers
    url = urlsplit(postgres.create_database(f"ews_{secrets.token_hex(4)}"))
    # the test cluster trusts every local connection: the password is carried, not checked
    database_url = url._replace(netloc=f"{url.username}:{MARKERS['db-pw']}@{url.hostname}:"
                                       f"{url.port}").geturl()
    settings = make_settings(
        tmp_path, database_url=database_url, mail_from=OFFICE,
        imap=ImapSettings(host="127.0.0.1", port=dovecot.imap_port, user=OFFICE,
                          password=MARKERS["imap-pw"], security="none", timeout_seconds=15),
        smtp=SmtpSettings(host="127.0.0.1", port=smtp.port, security="none",
                          user="ews@ews.test", password=MARKERS["smtp-pw"], retry_seconds=0,
                          timeout_seconds=15),
        storage=StorageSettings(url="dir://", options={
            "target_protocol": "file", "path": str(tmp_path / "ablage"),
            "key": MARKERS["storage-key"], "secret": MARKERS["storage-secret"]}))
    (tmp_path / "ablage").mkdir()
    return service_env(settings)


def test_no_secret_reaches_prefect_or_the_output(
        office: Any, tmp_path: Path, mail_servers: tuple[Dovecot, SmtpServer],
        service_env: Callable[[Any], Any], capfd: pytest.CaptureFixture[str]) -> None:
    dovecot, smtp = mail_servers
    (office.inbox_dir / "aus dem Ordner.pdf").write_bytes(pdfgen.filled_form(dict(
        pdfgen.VALUES, kommune_name="Gemeinde Möhnesee", kommune_typ="Gemeinde",
        ags="05974032", plz="59519", ort="Möhnesee")))
    dovecot.append(OFFICE, application_mail(("Bewerbung.pdf", pdfgen.filled_form())))

    results = run_posteingang()

    # every secret was in use: mailbox, mail server, storage and database
    assert sorted(r.outcome for r in results) == ["registered", "registered"]
    assert len(dovecot.messages(SENDER)) == 1  # the answer, sent with the SMTP password
    assert all(path.startswith("dir://archiv/") for path in _stored_paths(office))
    assert (tmp_path / "ablage" / "archiv").is_dir()

    office.imap.port = free_port()  # the mailbox is down: a failed run, with its error
    service_env(office)
    with pytest.raises(MailboxError):
        run_posteingang()
    office.imap.port = dovecot.imap_port
    service_env(office)

    azs = fill_register(office, 2)
    with session_factory(office.db_url).begin() as session:
        selection.decide(session, azs[1], "angenommen", seats=17, actor="frau.meier",
                         now=NOW)
    assert bescheide_versenden(von="frau.meier") == 2  # Zusage and Erklärung

    with get_client(sync_client=True) as client:
        parameters = [run.parameters for run in client.read_flow_runs()]
    assert sorted(map(str, parameters)) == ["{'von': 'frau.meier'}", "{}", "{}"]
    stored = _everything_prefect_holds()
    assert "posteingang" in stored and "bescheide" in stored  # the search works
    assert "Verbindung" in stored or "Postfach" in stored  # the failure's reason is there
    output = capfd.readouterr()
    for name, marker in MARKERS.items():
        assert marker not in stored, f"{name} in Prefect"
        assert marker not in output.out + output.err, f"{name} in the output"
    for path in _prefect_files():
        data = path.read_bytes()
        for name, marker in MARKERS.items():
            assert marker.encode() not in data, f"{name} in {path}"


def _stored_paths(settings: Any) -> list[str]:
    with session_factory(settings.db_url).begin() as session:
        return [str(path) for path in session.scalars(select(Input.stored_path))]


def _everything_prefect_holds() -> str:
    """Flow runs (with their parameters and states), task runs, artifacts, logs and events
    as the API returns them, as one text."""
    time.sleep(3)  # logs and events are sent in batches
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs()
        logs: list[Any] = []
        parts: list[Any] = [run.model_dump(mode="json") for run in runs]
        parts += [run.parameters for run in runs]
        parts += [task.model_dump(mode="json") for task in client.read_task_runs()]
        parts += [a.model_dump(mode="json") for a in client.read_artifacts()]
        while batch := client.read_logs(limit=200, offset=len(logs)):
            logs += batch
        parts += [log.model_dump(mode="json") for log in logs]
        for run in runs:
            parts += [s.model_dump(mode="json") for s in client.read_flow_run_states(run.id)]
        page = client.read_events(limit=50)
        parts += [event.model_dump(mode="json") for event in page.events]
        while page.next_page:
            page = client.read_events_page(page.next_page)
            parts += [event.model_dump(mode="json") for event in page.events]
    return json.dumps(parts, ensure_ascii=False, default=str)


def _prefect_files() -> list[Path]:
    """The test server's database (with its journal files) and Prefect's home folder."""
    settings = get_current_settings()
    database = Path(settings.server.database.connection_url.get_secret_value()  # type: ignore[union-attr]
                    .split("///", 1)[1])
    files = [p for p in database.parent.iterdir() if p.is_file()]
    files += [p for p in settings.home.rglob("*") if p.is_file()]
    assert database in files
    return files
