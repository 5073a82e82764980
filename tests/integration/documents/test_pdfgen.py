"""The test generators produce what they claim, checked with other tools than the reader."""

from __future__ import annotations

import io
import zipfile
import zlib

import pikepdf
import pytest
from pypdf import PdfReader

from tests.support import pdfgen


def test_filled_form_is_an_acroform_with_the_values() -> None:
    with pikepdf.open(io.BytesIO(pdfgen.filled_form())) as pdf:
        names = {str(field.T): field for field in pdf.Root.AcroForm.Fields}
        assert str(names["kommune_name"].V) == "Stadt Lüdenscheid"
        assert names["datenschutz"].V == pikepdf.Name("/Yes")


def test_missing_checkbox_state_has_neither_value_nor_appearance_state() -> None:
    with pikepdf.open(io.BytesIO(pdfgen.filled_form(missing=("freistellung",)))) as pdf:
        [box] = [f for f in pdf.Root.AcroForm.Fields if str(f.T) == "freistellung"]
        assert "/V" not in box and "/AS" not in box


def test_incremental_update_keeps_the_first_save_unchanged_in_front() -> None:
    data = pdfgen.incremental_update({"kommune_name": "Stadt Altena"})
    first = pdfgen.last_save_removed(data)
    assert data.startswith(first.rstrip(b"\n"))
    assert b"Stadt Altena" not in first
    assert b"Stadt Altena" in data[len(first) :]


def test_user_password_form_needs_the_password() -> None:
    data = pdfgen.encrypted_form("AES-256", user_password="geheim")
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(data))
    with pikepdf.open(io.BytesIO(data), password="geheim") as pdf:
        assert pdf.user_password_matched


@pytest.mark.parametrize(("algorithm", "filter_version"), [("RC4-128", 2), ("AES-256", 5)])
def test_owner_password_forms_use_the_named_cipher(algorithm: str, filter_version: int) -> None:
    with pikepdf.open(io.BytesIO(pdfgen.encrypted_form(algorithm))) as pdf:
        assert pdf.is_encrypted
        assert int(pdf.trailer.Encrypt.V) == filter_version


def test_printed_form_has_text_but_no_fields() -> None:
    reader = PdfReader(io.BytesIO(pdfgen.printed_form()))
    assert reader.get_fields() is None
    assert "Name der Kommune: Stadt Lüdenscheid" in reader.pages[0].extract_text()


def test_office_form_printed_to_pdf_has_labels_values_and_no_tick_characters() -> None:
    reader = PdfReader(io.BytesIO(pdfgen.printed_office_form()))
    assert reader.get_fields() is None
    first = reader.pages[0].extract_text()
    assert "Name der Kommune:" in first and "Stadt Lüdenscheid" in first
    second = reader.pages[1].extract_text()
    consent = [line for line in second.splitlines() if "Einwilligung Datenschutz" in line]
    assert [line.strip() for line in consent] == ["Einwilligung Datenschutz"]


def test_scans_have_only_images_and_no_text() -> None:
    for data in (pdfgen.scanned_form(), pdfgen.blank_scan()):
        reader = PdfReader(io.BytesIO(data))
        assert reader.get_fields() is None
        assert reader.pages[0].extract_text().strip() == ""
        assert len(reader.pages[0].images) == 1


def test_xfa_form_has_xfa_packets_and_no_fields() -> None:
    with pikepdf.open(io.BytesIO(pdfgen.xfa_only_form())) as pdf:
        assert len(pdf.Root.AcroForm.Fields) == 0
        assert "/XFA" in pdf.Root.AcroForm


def test_truncated_and_empty_files_are_what_they_say() -> None:
    full = pdfgen.filled_form()
    assert pdfgen.truncated_form() == full[: len(full) // 2]
    assert b"%%EOF" not in pdfgen.truncated_form()


def test_not_a_pdf_files_are_a_word_document_and_a_png() -> None:
    with zipfile.ZipFile(io.BytesIO(pdfgen.docx_bytes())) as archive:
        assert "word/document.xml" in archive.namelist()
    assert pdfgen.png_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_long_form_has_three_thousand_pages_and_the_fields_on_page_one() -> None:
    with pikepdf.open(io.BytesIO(pdfgen.long_form(3000))) as pdf:
        assert len(pdf.pages) == 3000
        assert len(pdf.Root.AcroForm.Fields) == 27


@pytest.mark.slow
def test_deflate_bomb_inflates_to_512_mib() -> None:
    compressed = pdfgen.deflated_zeros()
    assert len(compressed) < 1024 * 1024
    inflater, total, rest = zlib.decompressobj(), 0, compressed
    while rest:
        total += len(inflater.decompress(rest, 64 * 1024 * 1024))
        rest = inflater.unconsumed_tail
    assert total == pdfgen.BOMB_SIZE


@pytest.mark.slow
def test_bombs_sit_where_they_are_said_to_sit() -> None:
    with pikepdf.open(io.BytesIO(pdfgen.content_bomb_form(with_fields=False))) as pdf:
        contents = pdf.pages[0].obj.Contents
        assert contents.Filter == pikepdf.Name.FlateDecode
        assert len(contents.read_raw_bytes()) == len(pdfgen.deflated_zeros())
    with pikepdf.open(io.BytesIO(pdfgen.value_bomb_form())) as pdf:
        [motivation] = [f for f in pdf.Root.AcroForm.Fields if str(f.T) == "motivation"]
        assert isinstance(motivation.V, pikepdf.Stream)
    with pikepdf.open(io.BytesIO(pdfgen.value_bomb_form(in_appearance=True))) as pdf:
        [consent] = [f for f in pdf.Root.AcroForm.Fields if str(f.T) == "datenschutz"]
        assert isinstance(consent.AP.N.Yes, pikepdf.Stream)
