"""The journal tells staff which inputs text recognition read: a real intake pass (SQLite
register, worker pool, tesseract) over a scanned form and a form that pdftk flattened."""

from __future__ import annotations

from pathlib import Path

import pytest

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
