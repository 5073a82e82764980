"""read_form against real PDFs in every variant the form contract lists (real pypdf, real files)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from ews.core.errors import NoFormContent, NotAPdf, UnreadablePdf
from ews.core.form_contract import FIELD_NAMES
from ews.core.models import ReadMethod
from ews.documents.pdf import read_form
from tests.support import pdfgen

VALUES = pdfgen.VALUES


def assert_reads_all_values(data: bytes, method: ReadMethod = ReadMethod.ACROFORM) -> None:
    reading = read_form(data)
    assert reading.method == method
    assert reading.fields == VALUES


# --- AcroForm variants -------------------------------------------------------------------


@pytest.mark.parametrize("on_state", ["/Yes", "/On", "/Ja", "/1"])
def test_filled_form_is_read_completely_whatever_the_checkbox_export_name(on_state: str) -> None:
    assert_reads_all_values(pdfgen.filled_form(on_state=on_state))


def test_checkbox_export_name_is_really_written_as_given() -> None:
    reader = PdfReader(io.BytesIO(pdfgen.filled_form(on_state="/Ja")))
    assert (reader.get_fields() or {})["datenschutz"]["/V"] == "/Ja"


def test_unticked_and_stateless_checkboxes_read_as_unchecked() -> None:
    values = dict(VALUES, ehrenamtskarte=False)
    reading = read_form(pdfgen.filled_form(values, missing=("freistellung",)))
    assert reading.fields["ehrenamtskarte"] is False
    assert reading.fields["freistellung"] is False
    assert reading.fields["datenschutz"] is True


def test_empty_text_fields_read_as_none_and_values_are_stripped() -> None:
    values = dict(VALUES, strukturen="", team2_telefon="   ", kommune_name="  Stadt Lüdenscheid ")
    fields = read_form(pdfgen.filled_form(values)).fields
    assert fields["strukturen"] is None
    assert fields["team2_telefon"] is None
    assert fields["kommune_name"] == "Stadt Lüdenscheid"


def test_utf16_strings_with_bom_are_decoded() -> None:
    data = pdfgen.raw_form(utf16=True)
    assert b"(\xfe\xff\x00S\x00t\x00a\x00d\x00t" in data  # "Stadt …" as raw UTF-16BE
    assert_reads_all_values(data)


def test_pdfdocencoding_strings_with_umlauts_and_line_breaks_are_decoded() -> None:
    data = pdfgen.raw_form(utf16=False)
    assert "(Stadt Lüdenscheid)".encode("latin-1") in data
    assert b"\\n" in data  # the motivation's line breaks, escaped in the literal
    assert_reads_all_values(data)


def test_carriage_returns_in_a_value_become_line_breaks() -> None:
    values = dict(VALUES, motivation="Erste Zeile\r\nzweite Zeile\rdritte Zeile")
    fields = read_form(pdfgen.raw_form(values)).fields
    assert fields["motivation"] == "Erste Zeile\nzweite Zeile\ndritte Zeile"


def test_values_only_on_the_kid_widget_are_read() -> None:
    data = pdfgen.raw_form(placement="widget")
    assert b"/T (datenschutz) /FT /Btn /Kids" in data  # no /V on the field itself
    assert_reads_all_values(data)


def test_values_only_on_the_parent_field_are_read() -> None:
    data = pdfgen.raw_form(placement="parent")
    assert b"/AS" not in data
    assert_reads_all_values(data)


@pytest.mark.parametrize("names", [("Bewerbung",), ("form1[0]", "seite1[0]")])
def test_hierarchical_field_names_match_by_their_terminal_name(names: tuple[str, ...]) -> None:
    data = pdfgen.raw_form(names=names)
    full_names = set(PdfReader(io.BytesIO(data)).get_fields() or {})
    assert "kommune_name" not in full_names
    assert_reads_all_values(data)


def test_choice_fields_with_array_values_are_read() -> None:
    data = pdfgen.raw_form(choice_array=True)
    assert b"/V [(Arnsberg)]" in data
    assert_reads_all_values(data)


def test_only_contract_fields_are_returned() -> None:
    data = pdfgen.raw_form()
    assert b"(Drucken)" in data
    assert tuple(read_form(data).fields) == FIELD_NAMES


def test_incremental_update_counts_the_last_save() -> None:
    data = pdfgen.incremental_update({"kommune_name": "Stadt Altena", "team1_name": "Jörg Groß"})
    assert data.count(b"%%EOF") == 2
    assert data.count(b"startxref") == 2
    first_save = read_form(pdfgen.last_save_removed(data)).fields
    assert first_save["kommune_name"] == "Stadt Lüdenscheid"
    fields = read_form(data).fields
    assert fields["kommune_name"] == "Stadt Altena"
    assert fields["team1_name"] == "Jörg Groß"
    assert fields["motivation"] == VALUES["motivation"]


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-256"])
def test_owner_password_only_encryption_is_read(algorithm: str) -> None:
    data = pdfgen.encrypted_form(algorithm)
    assert b"/Encrypt" in data
    assert b"Sebastian Wagemeyer" not in data
    assert_reads_all_values(data)


def test_user_password_is_rejected_with_a_reason() -> None:
    with pytest.raises(UnreadablePdf) as rejected:
        read_form(pdfgen.encrypted_form("AES-256", user_password="geheim"))
    assert "mit einem Kennwort geschützt" in rejected.value.reasons[0]


def test_form_with_empty_fields_is_rejected_as_not_filled_in() -> None:
    empty = {name: (False if isinstance(value, bool) else "") for name, value in VALUES.items()}
    with pytest.raises(NoFormContent) as rejected:
        read_form(pdfgen.filled_form(empty))
    assert "keines ist ausgefüllt" in rejected.value.reasons[0]


def test_blank_office_form_yields_only_the_printed_round() -> None:
    reading = read_form(pdfgen.blank_form())
    assert reading.fields["runde"] == "EWS 6"
    assert [name for name, value in reading.fields.items() if value] == ["runde"]


# --- rejected documents --------------------------------------------------------------------


def test_xfa_only_form_is_rejected_with_a_request_for_the_office_form() -> None:
    with pytest.raises(UnreadablePdf) as rejected:
        read_form(pdfgen.xfa_only_form())
    assert "XFA" in rejected.value.reasons[0]
    assert "Bewerbungsbogen des Programmbüros" in rejected.value.reasons[0]


def test_truncated_file_is_rejected_as_incomplete() -> None:
    with pytest.raises(UnreadablePdf) as rejected:
        read_form(pdfgen.truncated_form())
    assert "unvollständig" in rejected.value.reasons[0]


def test_incremental_save_cut_off_is_rejected_instead_of_reading_the_older_values() -> None:
    data = pdfgen.incremental_update({"kommune_name": "Stadt Altena"})
    with pytest.raises(UnreadablePdf) as rejected:
        read_form(data[: -len(b"startxref") - 40])
    assert "unvollständig" in rejected.value.reasons[0]


def test_junk_appended_after_the_end_of_file_is_ignored() -> None:
    assert_reads_all_values(pdfgen.filled_form() + b"\r\n-- \r\nGesendet von meinem iPad\r\n" * 80)


def test_damaged_file_is_rejected_as_damaged() -> None:
    data = pdfgen.filled_form().replace(b"startxref", b"startxrex")
    with pytest.raises(UnreadablePdf) as rejected:
        read_form(data)
    assert "beschädigt" in rejected.value.reasons[0]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "leer (0 Bytes)"),
        (pdfgen.docx_bytes(), "Word-Dokument"),
        (pdfgen.png_bytes(), "Bild (PNG)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "älteres Office-Dokument"),
        (b"<!DOCTYPE html><html><body>Fehler 404</body></html>", "Webseite"),
        (b"\x00\x01\x02\x03" * 100, "nicht erkennbar"),
    ],
    ids=["empty", "docx", "png", "doc", "html", "unknown"],
)
def test_files_that_are_not_pdfs_say_what_they_seem_to_be(data: bytes, expected: str) -> None:
    with pytest.raises(NotAPdf) as rejected:
        read_form(data)
    assert expected in rejected.value.reasons[0]


def test_pdf_header_further_than_1024_bytes_in_is_not_a_pdf() -> None:
    with pytest.raises(NotAPdf):
        read_form(bytes(1100) + pdfgen.filled_form())


def test_pdf_header_after_some_leading_junk_is_still_a_pdf() -> None:
    assert_reads_all_values(b"\r\n" * 100 + pdfgen.filled_form())


# --- forms without fields ------------------------------------------------------------------


@pytest.mark.parametrize(
    "style", ["brackets", "brackets_upper", "glyphs", "ticked", "after", "words"]
)
def test_printed_form_is_read_by_its_labels(style: str) -> None:
    assert_reads_all_values(pdfgen.printed_form(checkbox_style=style), ReadMethod.TEXT)


@pytest.mark.parametrize("style", ["brackets", "glyphs", "after", "words"])
def test_printed_form_shows_unticked_boxes_as_unchecked(style: str) -> None:
    values = dict(VALUES, ehrenamtskarte=False, datenschutz=False)
    fields = read_form(pdfgen.printed_form(values, checkbox_style=style)).fields
    assert (fields["ehrenamtskarte"], fields["freistellung"], fields["datenschutz"]) == (
        False,
        True,
        False,
    )


@pytest.mark.parametrize("dash", ["-", "—", " - "])
def test_printed_form_tolerates_other_dashes_in_team_labels(dash: str) -> None:
    assert_reads_all_values(pdfgen.printed_form(dash=dash), ReadMethod.TEXT)


@pytest.mark.ocr
def test_office_form_printed_to_pdf_is_read_with_its_ticks_from_the_page_image() -> None:
    values = dict(VALUES, ehrenamtskarte=False)
    reading = read_form(pdfgen.printed_office_form(values))
    assert reading.method == ReadMethod.TEXT
    assert reading.fields == values


def test_printed_glyphs_are_really_in_the_text_layer() -> None:
    text = PdfReader(io.BytesIO(pdfgen.printed_form(checkbox_style="glyphs")))
    assert "☒ Einwilligung Datenschutz" in text.pages[0].extract_text()


@pytest.mark.ocr
def test_scan_of_an_empty_page_has_no_form_content() -> None:
    with pytest.raises(NoFormContent) as rejected:
        read_form(pdfgen.blank_scan())
    assert "Texterkennung" in rejected.value.reasons[0]


@pytest.mark.ocr
def test_scan_is_not_read_when_ocr_is_switched_off() -> None:
    with pytest.raises(NoFormContent):
        read_form(pdfgen.scanned_form(), ocr=False)


# --- bounded work --------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("with_fields", [True, False], ids=["fields", "text-layer"])
def test_three_thousand_pages_are_read_within_seconds(with_fields: bool) -> None:
    data = pdfgen.long_form(3000, with_fields=with_fields)
    started = time.perf_counter()
    reading = read_form(data)
    elapsed = time.perf_counter() - started
    assert reading.page_count == 3000
    assert reading.fields == VALUES
    assert elapsed < 5.0


BOMBS = {
    "content-stream-only-text": ("content", False),
    "content-stream-beside-fields": ("content", True),
    "field-value-stream": ("value", False),
    "appearance-stream": ("appearance", False),
}


def _bomb(kind: str, with_fields: bool) -> bytes:
    if kind == "content":
        return pdfgen.content_bomb_form(with_fields=with_fields)
    return pdfgen.value_bomb_form(in_appearance=kind == "appearance")


@pytest.mark.slow
@pytest.mark.parametrize("case", list(BOMBS))
def test_deflate_bomb_ends_with_a_reason_or_a_reading_in_bounded_memory(
    case: str, tmp_path: Path
) -> None:
    data = _bomb(*BOMBS[case])
    assert len(data) < 2 * 1024 * 1024
    assert pdfgen.BOMB_SIZE == 512 * 1024 * 1024
    source = tmp_path / "bombe.pdf"
    source.write_bytes(data)
    result = json.loads(_read_in_child(source))
    assert result["peak_mib"] < 300
    if result["outcome"] == "reading":
        assert result["kommune_name"] == "Stadt Lüdenscheid"
    else:
        assert result["outcome"] == "UnreadablePdf"
        assert "unzulässig groß" in result["reason"]


_CHILD = """
import json, sys
from ews.core.errors import DocumentRejected
from ews.documents.pdf import read_form
data = open(sys.argv[1], "rb").read()
try:
    reading = read_form(data, ocr=False)
    result = {"outcome": "reading", "kommune_name": reading.fields["kommune_name"]}
except DocumentRejected as rejected:
    result = {"outcome": type(rejected).__name__, "reason": rejected.reasons[0]}
# VmHWM is the peak of this process image; ru_maxrss would include the forking parent's
status = open("/proc/self/status").read()
result["peak_mib"] = int(status.split("VmHWM:")[1].split()[0]) / 1024
print(json.dumps(result))
"""


def _read_in_child(source: Path) -> str:
    """read_form in a fresh interpreter, so that its peak memory is measured alone."""
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD, str(source)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return completed.stdout.strip().splitlines()[-1]
