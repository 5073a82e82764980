"""Scans: the letters of NRW's names read by OCR, and the journal telling staff which inputs
text recognition read (a real intake pass: SQLite register, worker pool, tesseract)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ews.core.models import ReadMethod
from ews.documents.pdf import read_form
from ews.intake import passes as intake
from ews.register.reports import READ_NOTES, journal_records
from tests.conftest import make_settings
from tests.support import pdfgen, programs

pytestmark = pytest.mark.ocr


def test_only_what_ocr_read_gets_the_note_to_check_the_values(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    flattened = next(p for p in programs.PROGRAMS if p.name == "pdftk-flatten")
    try:
        flat = programs.produced(flattened, dict(pdfgen.VALUES))
    except (programs.ProgramMissing, programs.ProgramCannot) as reason:
        pytest.skip(str(reason))
    (settings.inbox_dir / "scan.pdf").write_bytes(pdfgen.scanned_office_form())
    (settings.inbox_dir / "flach.pdf").write_bytes(flat)

    intake.run_pass(settings)

    records = {record["source"]: record for record in journal_records(settings)}
    assert records["scan.pdf"]["read_method"] == "ocr"
    assert records["scan.pdf"]["notes"] == ["Per Texterkennung gelesen: bitte die Werte prüfen."]
    assert records["flach.pdf"]["read_method"] == "text"
    assert records["flach.pdf"]["notes"] == []
    assert set(READ_NOTES) == {"ocr"}


def test_a_scan_without_text_is_read_with_the_letters_of_turkish_names() -> None:
    values = programs.value_set("türkisch", 5)
    scan = pdfgen.scanned_pages(pdfgen.printed_form(values), seed=5)

    reading = read_form(scan)

    assert reading.method == ReadMethod.OCR
    names = ("hvb_name", "team1_name", "team2_name", "unterzeichner")
    assert {name: reading.fields[name] for name in names} == {name: values[name] for name in names}
    assert "ğ" in str(values["hvb_name"]) + str(values["team2_name"]) + str(values["team1_name"])
