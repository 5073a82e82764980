"""The intake flow ``posteingang`` under Prefect's test harness, with PDF/A letters."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.testing.utilities import prefect_test_harness
from pypdf import PdfReader

from ews.core.errors import MailboxError
from ews.register.reports import application_records, journal_records
from ews.runtime.settings import LetterSettings, Settings
from flows.intake import run_posteingang
from tests.conftest import make_settings
from tests.integration.intake.test_mail_intake import (
    OFFICE,
    SENDER,
    application_mail,
    mail_settings,
)
from tests.support import pdfgen
from tests.support.mailserver import MailServers, free_port

pytestmark = pytest.mark.libreoffice


@pytest.fixture(scope="module", autouse=True)
def prefect_harness() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


ServiceEnv = Callable[[Settings], Settings]


@pytest.fixture
def office(tmp_path: Path, service_env: ServiceEnv) -> Settings:
    return service_env(make_settings(tmp_path, letters=LetterSettings(pdf=True,
                                                                      timeout_seconds=120)))


def test_flow_registers_every_file_and_writes_pdfa_letters(office: Settings) -> None:
    inputs = {
        "Bewerbung Lüdenscheid.pdf": pdfgen.filled_form(),
        "Bewerbung Lüdenscheid (2).pdf": pdfgen.filled_form(),
        "ohne_datenschutz.pdf": pdfgen.filled_form(
            dict(
                pdfgen.VALUES,
                datenschutz=False,
                kommune_name="Gemeinde Finnentrop",
                kommune_typ="Gemeinde",
                ags="",
                ort="Finnentrop",
                plz="57413",
            )
        ),
        "gedruckt.pdf": pdfgen.printed_form(),
        "kaputt.pdf": pdfgen.truncated_form(),
    }
    for name, data in inputs.items():
        (office.inbox_dir / name).write_bytes(data)
    results = run_posteingang()
    assert len(results) == 5
    outcomes = {r["source"]: r["outcome"] for r in journal_records(office)}
    assert outcomes == {
        "Bewerbung Lüdenscheid.pdf": "registered",
        "Bewerbung Lüdenscheid (2).pdf": "duplicate",
        "ohne_datenschutz.pdf": "invalid",
        "gedruckt.pdf": "registered",
        "kaputt.pdf": "invalid",
    }
    pdfs = [
        Path(p) for app in application_records(office) for p in app["letters"] if p.endswith(".pdf")
    ]
    assert len(pdfs) == 2
    for pdf in pdfs:
        reader = PdfReader(pdf)
        assert b"pdfaid:part" in pdf.read_bytes()
        assert "Eingangsbestätigung" in reader.pages[0].extract_text()
    deficiency = list(office.outbox_dir.rglob("*Mängelschreiben.pdf"))
    assert len(deficiency) == 1
    with get_client(sync_client=True) as client:
        [table] = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["posteingang"])))
        [summary] = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["posteingang-zusammenfassung"])))
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert {row["Ergebnis"] for row in rows} >= {"registriert", "Duplikat", "ungültig"}
    assert "5 Eingänge" in summary.data


def test_second_run_over_an_empty_inbox_changes_nothing(office: Settings) -> None:
    (office.inbox_dir / "a.pdf").write_bytes(pdfgen.filled_form())
    run_posteingang()
    before = journal_records(office)
    assert run_posteingang() == []
    assert journal_records(office) == before


def test_flow_takes_a_mail_and_answers_with_the_pdfa_letter(
        tmp_path: Path, mail: MailServers, service_env: ServiceEnv) -> None:
    settings = service_env(mail_settings(tmp_path, mail,
                                         letters=LetterSettings(pdf=True, timeout_seconds=120)))
    (settings.inbox_dir / "aus dem Ordner.pdf").write_bytes(
        pdfgen.filled_form(dict(pdfgen.VALUES, kommune_name="Gemeinde Möhnesee",
                                kommune_typ="Gemeinde", ags="05974032", plz="59519",
                                ort="Möhnesee")))
    mail.dovecot.append(OFFICE, application_mail(("Bewerbung.pdf", pdfgen.filled_form())))

    results = run_posteingang()

    assert sorted(r.outcome for r in results) == ["registered", "registered"]
    [answer] = [stored.message for stored in mail.dovecot.messages(SENDER)]
    [letter] = list(answer.iter_attachments())
    assert letter.get_content_type() == "application/pdf"
    assert b"pdfaid:part" in letter.get_content()
    assert len(mail.dovecot.messages(OFFICE, "Bewerbungen/Verarbeitet")) == 1


def test_flow_processes_the_folder_when_the_mailbox_is_down_and_fails_the_run(
        tmp_path: Path, mail: MailServers, service_env: ServiceEnv) -> None:
    settings = mail_settings(tmp_path, mail)
    settings.imap.port = free_port()
    service_env(settings)
    (settings.inbox_dir / "a.pdf").write_bytes(pdfgen.filled_form())

    with pytest.raises(MailboxError):
        run_posteingang()

    assert [r["outcome"] for r in journal_records(settings)] == ["registered"]


def test_mailbox_heartbeat_reaches_prefect_as_an_event(tmp_path: Path, mail: MailServers
                                                       ) -> None:
    from prefect.events.filters import EventFilter, EventNameFilter

    from flows.mailbox_watch import MailboxWatcher

    class Runner:
        def request(self) -> None:
            pass

    watcher = MailboxWatcher(mail_settings(tmp_path, mail), Runner())
    watcher.start()
    try:
        deadline = time.monotonic() + 30
        found = []
        while not found and time.monotonic() < deadline:
            time.sleep(0.5)
            with get_client(sync_client=True) as client:
                found = client.read_events(EventFilter(event=EventNameFilter(
                    name=["ews.postfach.herzschlag"])), limit=50).events
    finally:
        watcher.stop()
        watcher.join(10)
    assert found and found[0].resource.id == f"ews.postfach.{OFFICE}@127.0.0.1"
