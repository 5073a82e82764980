"""The intake flow ``posteingang`` under Prefect's test harness, with PDF/A letters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.testing.utilities import prefect_test_harness
from pypdf import PdfReader

from ews.reports import application_records, journal_records
from ews.settings import LetterSettings, Settings
from flows.intake import run_posteingang
from tests import pdfgen
from tests.conftest import make_settings


@pytest.fixture(scope="module", autouse=True)
def prefect_harness() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def office(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, letters=LetterSettings(pdf=True, timeout_seconds=120))


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
    results = run_posteingang(office)
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
    run_posteingang(office)
    before = journal_records(office)
    assert run_posteingang(office) == []
    assert journal_records(office) == before
