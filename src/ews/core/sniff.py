"""Recognise a PDF by its first bytes and name what other files seem to be (pure, no I/O)."""

from __future__ import annotations

_PDF_MAGIC = b"%PDF-"
_HEADER_WINDOW = 1024

# (leading bytes, what the file seems to be), checked in order
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "ein Bild (PNG)"),
    (b"\xff\xd8\xff", "ein Bild (JPEG)"),
    (b"GIF87a", "ein Bild (GIF)"),
    (b"GIF89a", "ein Bild (GIF)"),
    (b"II*\x00", "ein Bild (TIFF)"),
    (b"MM\x00*", "ein Bild (TIFF)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ein älteres Office-Dokument (.doc oder .xls)"),
    (b"{\\rtf", "ein RTF-Textdokument"),
    (b"Rar!", "ein RAR-Archiv"),
    (b"7z\xbc\xaf\x27\x1c", "ein 7-Zip-Archiv"),
    (b"\x1f\x8b", "ein komprimiertes Archiv (gzip)"),
)


def is_pdf(data: bytes) -> bool:
    """True when the PDF header appears within the first 1024 bytes."""
    return _PDF_MAGIC in data[:_HEADER_WINDOW]


def not_a_pdf_reason(data: bytes) -> str:
    """A German sentence saying that (and, if recognisable, what else) the file is."""
    if not data:
        return "Die Datei ist leer (0 Bytes) und enthält keinen Bewerbungsbogen."
    kind = _apparent_kind(data)
    if kind is None:
        return (
            "Die Datei ist kein PDF-Dokument und ihr Format ist nicht erkennbar. "
            "Bitte senden Sie den ausgefüllten Bewerbungsbogen als PDF-Datei."
        )
    return (
        f"Die Datei ist kein PDF-Dokument, sondern offenbar {kind}. "
        "Bitte senden Sie den ausgefüllten Bewerbungsbogen als PDF-Datei."
    )


def _apparent_kind(data: bytes) -> str | None:
    head = data[:_HEADER_WINDOW]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip_kind(data)
    for magic, kind in _SIGNATURES:
        if head.startswith(magic):
            return kind
    return _text_kind(head)


def _zip_kind(data: bytes) -> str:
    # Office Open XML packages name their parts in the local file headers near the start.
    window = data[:65536]
    if b"word/" in window:
        return "ein Word-Dokument (.docx)"
    if b"xl/" in window:
        return "eine Excel-Tabelle (.xlsx)"
    if b"ppt/" in window:
        return "eine PowerPoint-Präsentation (.pptx)"
    if b"application/vnd.oasis.opendocument" in window:
        return "ein OpenDocument-Dokument (LibreOffice)"
    return "ein ZIP-Archiv"


def _text_kind(head: bytes) -> str | None:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html")):
        return "eine Webseite (HTML)"
    if text.startswith(b"<?xml"):
        return "ein XML-Dokument"
    if text.startswith((b"received:", b"from:", b"mime-version:", b"return-path:")):
        return "eine E-Mail-Nachricht"
    if text.startswith(b"%!ps"):
        return "eine PostScript-Datei"
    if head and all(byte >= 9 for byte in head[:512]):
        return "eine reine Textdatei"
    return None
