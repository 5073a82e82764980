"""Recognising a PDF by its first bytes, and naming what a non-PDF seems to be."""

from __future__ import annotations

import io
import zipfile

import pytest

from ews.core.sniff import is_pdf, not_a_pdf_reason


def _zip_with(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, "x")
    return buffer.getvalue()


def test_pdf_header_at_the_start_or_after_junk_within_1024_bytes() -> None:
    assert is_pdf(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    assert is_pdf(b"\x00" * 1000 + b"%PDF-1.4")
    assert is_pdf(b"\xef\xbb\xbf%PDF-1.6")


def test_pdf_header_too_late_or_missing_is_not_a_pdf() -> None:
    assert not is_pdf(b"\x00" * 1020 + b"%PDF-1.4")
    assert not is_pdf(b"")
    assert not is_pdf(b"%PDF")
    assert not is_pdf(b"%pdf-1.4")


def test_empty_file_reason_says_zero_bytes() -> None:
    assert not_a_pdf_reason(b"") == (
        "Die Datei ist leer (0 Bytes) und enthält keinen Bewerbungsbogen."
    )


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "ein Bild (PNG)"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "ein Bild (JPEG)"),
        (b"GIF89a\x01\x00", "ein Bild (GIF)"),
        (b"II*\x00\x08\x00", "ein Bild (TIFF)"),
        (b"MM\x00*\x00\x08", "ein Bild (TIFF)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", "ein älteres Office-Dokument (.doc oder .xls)"),
        (b"{\\rtf1\\ansi", "ein RTF-Textdokument"),
        (b"Rar!\x1a\x07\x00", "ein RAR-Archiv"),
        (b"7z\xbc\xaf\x27\x1c\x00", "ein 7-Zip-Archiv"),
        (b"\x1f\x8b\x08\x00", "ein komprimiertes Archiv (gzip)"),
        (b"\xef\xbb\xbf  <!DOCTYPE html><html>", "eine Webseite (HTML)"),
        (b"<HTML><body>", "eine Webseite (HTML)"),
        (b'<?xml version="1.0"?>', "ein XML-Dokument"),
        (b"Received: from mx.example.org\r\n", "eine E-Mail-Nachricht"),
        (b"From: a@example.org\r\n", "eine E-Mail-Nachricht"),
        (b"%!PS-Adobe-3.0\n", "eine PostScript-Datei"),
        (b"Sehr geehrte Damen und Herren,\nanbei die Bewerbung.", "eine reine Textdatei"),
    ],
)
def test_reason_names_the_recognised_kind(data: bytes, kind: str) -> None:
    assert not is_pdf(data)
    assert not_a_pdf_reason(data) == (
        f"Die Datei ist kein PDF-Dokument, sondern offenbar {kind}. "
        "Bitte senden Sie den ausgefüllten Bewerbungsbogen als PDF-Datei."
    )


@pytest.mark.parametrize(
    ("part", "kind"),
    [
        ("word/document.xml", "ein Word-Dokument (.docx)"),
        ("xl/workbook.xml", "eine Excel-Tabelle (.xlsx)"),
        ("ppt/presentation.xml", "eine PowerPoint-Präsentation (.pptx)"),
        ("mimetype", "ein ZIP-Archiv"),
    ],
)
def test_zip_packages_are_named_by_their_parts(part: str, kind: str) -> None:
    assert f"offenbar {kind}." in not_a_pdf_reason(_zip_with(part))


def test_opendocument_is_named_by_its_mimetype() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
    assert "offenbar ein OpenDocument-Dokument (LibreOffice)." in not_a_pdf_reason(
        buffer.getvalue()
    )


def test_unrecognisable_binary_gets_the_generic_reason() -> None:
    assert not_a_pdf_reason(b"\x00\x01\x02\x03garbage") == (
        "Die Datei ist kein PDF-Dokument und ihr Format ist nicht erkennbar. "
        "Bitte senden Sie den ausgefüllten Bewerbungsbogen als PDF-Datei."
    )
