"""The form reading done while a mail is prepared stands in for the intake's own reading: it is
the same for every document it is kept for, and it is taken only while the file is unchanged."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from ews.core.models import FormReading, ReadMethod
from ews.intake.early_readings import EarlyReadings
from ews.intake.reading import assess_document, assess_file, assess_reading
from ews.intake.replies import FORM, read_nature
from ews.runtime.settings import Settings
from tests.conftest import make_settings
from tests.support import hostilegen, pdfgen, programs

READING = FormReading(fields={"kommune_name": "Stadt Lüdenscheid"}, method=ReadMethod.ACROFORM,
                      page_count=2)


@functools.cache
def documents() -> list[tuple[str, bytes]]:
    """Forms as producers fill them, damaged, hostile, printed and scanned ones."""
    found = [(f"{theme}-{seed}", pdfgen.filled_form(programs.value_set(theme, seed)))
             for theme in programs.THEMES for seed in range(2)]
    found += [("export-name", pdfgen.filled_form(on_state="/On")),
              ("unticked", pdfgen.filled_form(missing=("zustimmung_datenschutz",))),
              ("incremental", pdfgen.incremental_update({"kommune_name": "Stadt Olpe"})),
              ("owner-password", pdfgen.encrypted_form("AES-256")),
              ("user-password", pdfgen.encrypted_form("AES-128", user_password="x")),
              ("truncated", pdfgen.truncated_form()), ("blank", pdfgen.blank_form()),
              ("printed", pdfgen.printed_form()), ("scan", pdfgen.blank_scan()),
              ("not-a-pdf", b"%PDF-1.7\n kaputt")]
    found += [(case.name, case.data) for case in hostilegen.inbox_cases(seed=3)
              if case.kind == "file" and case.data.lstrip()[:5] == b"%PDF-"]
    return found


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("frueh"))


def test_a_kept_reading_assesses_exactly_as_the_intake_reading_the_file(
        settings: Settings) -> None:
    for label, data in documents():
        nature, reading = read_nature(data)
        if reading is None:  # not read by its fields: the intake reads it itself, with OCR
            continue
        assert nature == FORM and reading.method == ReadMethod.ACROFORM, label
        assert assess_reading(reading, settings) == assess_document(data, settings), label


def test_the_documents_include_kept_and_not_kept_readings() -> None:
    kept = [label for label, data in documents() if read_nature(data)[1] is not None]
    assert "incremental" in kept and "owner-password" in kept
    assert "printed" not in kept and "scan" not in kept and "truncated" not in kept
    assert "user-password" not in kept  # unreadable: the intake gives its reason


def test_a_claimed_file_with_a_kept_reading_is_not_read_again(tmp_path: Path,
                                                              settings: Settings) -> None:
    claim = tmp_path / "01__Bewerbung.pdf"
    claim.write_bytes(b"no pdf at all")
    assert assess_file(claim, settings).reasons  # read: not a PDF
    assessment = assess_file(claim, settings, READING)
    assert assessment.method == ReadMethod.ACROFORM
    assert assessment.fields["kommune_name"] == "Stadt Lüdenscheid"


def test_the_size_limit_holds_for_a_kept_reading_too(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, intake={"max_file_mb": 1, "stable_seconds": 0.05})
    claim = tmp_path / "01__Bewerbung.pdf"
    claim.write_bytes(b"%PDF-1.7\n" + b"0" * (1024 * 1024 + 1))
    assert assess_file(claim, settings, READING).reasons == assess_file(claim, settings).reasons
    assert "größer als 1 MB" in assess_file(claim, settings, READING).reasons[0]


def test_a_reading_is_taken_once_and_only_while_its_file_is_unchanged(tmp_path: Path) -> None:
    early = EarlyReadings()
    claim = tmp_path / "01__Bewerbung.pdf"
    claim.write_bytes(b"%PDF-1.7 eins")
    early.keep(claim, READING)
    assert early.take(str(claim)) == READING
    assert early.take(str(claim)) is None  # once

    early.keep(claim, READING)
    stat = claim.stat()
    claim.write_bytes(b"%PDF-1.7 zwei")  # the same size, the same time: another file's bytes
    os.utime(claim, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    replaced = tmp_path / "neu.pdf"
    replaced.write_bytes(b"%PDF-1.7 drei")
    early.keep(replaced, READING)
    os.replace(replaced, claim)  # the name now means another file
    assert early.take(str(claim)) is None

    early.keep(claim, READING)
    claim.unlink()
    claim.symlink_to(tmp_path / "neu.pdf")  # a link in its place is never followed
    assert early.take(str(claim)) is None


def test_a_file_written_to_in_place_loses_its_reading(tmp_path: Path) -> None:
    early = EarlyReadings()
    claim = tmp_path / "01__Bewerbung.pdf"
    claim.write_bytes(b"%PDF-1.7 eins")
    early.keep(claim, READING)
    with claim.open("ab") as more:
        more.write(b" und mehr")
    assert early.take(str(claim)) is None


def test_only_readings_by_the_form_fields_are_kept_and_the_oldest_go_first(
        tmp_path: Path) -> None:
    early = EarlyReadings(limit=2)
    files = []
    for number in range(3):
        files.append(tmp_path / f"{number}.pdf")
        files[-1].write_bytes(b"%PDF-1.7")
    early.keep(files[0], READING.model_copy(update={"method": ReadMethod.TEXT}))
    assert len(early) == 0  # a text reading may differ from the intake's (ticks by OCR)
    for path in files:
        early.keep(path, READING)
    assert len(early) == 2
    assert early.take(str(files[0])) is None
    assert early.take(str(files[2])) == READING
    early.keep(tmp_path / "fehlt.pdf", READING)  # gone meanwhile: nothing kept
    assert len(early) == 1
