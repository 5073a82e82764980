"""Recognise a returned, signed „Gemeinsame Erklärung“ in a PDF (adapter: pypdf, pdftoppm,
tesseract, zxing; temporary files for the page images).

``detect_declaration`` tries the cheap evidence first: the text layer (rules in
``ews.documents.declaration_text``), then the QR code (payload in
``ews.documents.declaration_code``) on the first pages rasterised at 300 dpi, then OCR of those
same page images. The intake's reader (``ews.documents.pdf``) calls the parts:
``confirmed_by_qr`` for a text layer, ``read_scan`` for a scan, whose recognised text it also
reads an application from, so a scan is rasterised once. Reading does not judge the checksum:
the mark carries it, and the register checks it against the key (``ews.network.declarations``).

Errors are those of ``ews.documents.pdf_access`` and ``ews.documents.ocr``: ``NotAPdf`` and
``UnreadablePdf`` for damaged input, ``ConfigurationError`` for a missing pdftoppm or tesseract.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import zxingcpp
from PIL import Image, ImageChops, ImageFilter, ImageOps

from ews.core.models import DeclarationMark
from ews.documents.declaration_code import QrPayload, parse_payload
from ews.documents.declaration_text import declaration_details, mark_in_text
from ews.documents.ocr import page_text, rasterised_pages
from ews.documents.pdf_access import text_layer

__all__ = ["confirmed_by_qr", "detect_declaration", "qr_codes", "qr_marks", "read_scan"]


#: a page whose text layer has fewer characters is a scan: only the page image can tell
_SCAN_TEXT_CHARS = 20
#: brightness differences of the paper (0–255) above which a page counts as unevenly lit
_UNEVEN_LIGHT = 40
_QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


@dataclass(frozen=True)
class _QrHit:
    page: int
    code: QrPayload
    #: the code's rotation on the page in degrees, as zxing reports it
    orientation: int


def qr_marks(data: bytes, *, max_pages: int = 2, timeout: float = 60.0) -> list[tuple[str, str]]:
    """(Az., AGS) of every declaration QR code on the first pages; other codes are ignored."""
    return list(dict.fromkeys((code.az, code.ags) for code in qr_codes(
        data, max_pages=max_pages, timeout=timeout)))


def qr_codes(data: bytes, *, max_pages: int = 2, timeout: float = 60.0) -> list[QrPayload]:
    """Every declaration QR code on the first pages with its checksum, those with one
    first."""
    with tempfile.TemporaryDirectory(prefix="ews-erklaerung-") as folder:
        images = _page_images(data, Path(folder), max_pages=max_pages, timeout=timeout)
        hits = [hit for image in range(len(images)) for hit in _qr_hits(images, image)]
    return list(dict.fromkeys(hit.code for hit in sorted(hits, key=_unsigned_last)))


def detect_declaration(
    data: bytes,
    *,
    page_texts: list[str] | None = None,
    ocr: bool = True,
    max_pages: int = 2,
    timeout: float = 60.0,
) -> DeclarationMark | None:
    """The returned declaration this PDF is, or None: by text layer, QR code, then OCR.

    ``page_texts`` is the text layer of the first pages if the caller has read it already
    (an empty list: a document without pages). A declaration found in the text layer is
    checked against its QR code (``confirmed_by_qr``); any other document is looked at as
    a scan (``read_scan``)."""
    texts = text_layer(data, max_pages) if page_texts is None else page_texts[:max_pages]
    if not texts:
        return None
    text_mark = mark_in_text("\f".join(texts))
    if text_mark is not None:
        return confirmed_by_qr(text_mark, data, max_pages=max_pages, timeout=timeout)
    return read_scan(data, texts=texts, ocr=ocr, max_pages=max_pages, timeout=timeout)[0]


def confirmed_by_qr(mark: DeclarationMark, data: bytes, *, max_pages: int = 2,
                    timeout: float = 60.0) -> DeclarationMark:
    """A declaration read from the text layer, with Az. and AGS from its QR code where the
    text says otherwise: a scanner's own OCR may misread a digit, the code has a checksum."""
    codes = qr_codes(data, max_pages=max_pages, timeout=timeout)
    if not codes:
        return mark
    az, ags, checksum = codes[0]
    if (mark.az, mark.ags) == (az, ags):
        return mark.model_copy(update={"checksum": checksum})
    return mark.model_copy(update={"az": az, "ags": ags, "method": "qr", "checksum": checksum})


def read_scan(data: bytes, *, texts: list[str], ocr: bool, max_pages: int,
              timeout: float = 60.0) -> tuple[DeclarationMark | None, str]:
    """A scanned document, rasterised once: our QR code (its page then read upright for who
    signed, unless the text layer tells), else with ``ocr`` the recognised text of the pages
    without a text layer, in which a declaration is known by its printed Aktenzeichen.

    Returns the declaration (or None) and the recognised text, from which the caller reads an
    application when it is none."""
    with tempfile.TemporaryDirectory(prefix="ews-scan-") as folder:
        images = _page_images(data, Path(folder), max_pages=max_pages, timeout=timeout)
        hits = [hit for page in range(len(images)) for hit in _qr_hits(images, page)]
        hit = min(hits, key=_unsigned_last, default=None)
        if hit is not None:
            return _qr_mark(hit, texts, images, ocr=ocr, timeout=timeout), ""
        if not ocr:
            return None, ""
        text = "\f".join(page_text(image, timeout=timeout) for page, image in enumerate(images)
                         if page >= len(texts) or len(texts[page].strip()) < _SCAN_TEXT_CHARS)
    return mark_in_text(text, method="ocr"), text


def _page_images(data: bytes, workdir: Path, *, max_pages: int, timeout: float) -> list[Path]:
    source = workdir / "eingang.pdf"
    source.write_bytes(data)
    return rasterised_pages(source, workdir, max_pages=max_pages, timeout=timeout)


def _qr_hits(images: list[Path], page: int) -> list[_QrHit]:
    """Our codes on one page image (300 dpi: zxing needs ~0.03 s for an A4 page)."""
    with Image.open(images[page]) as picture:
        codes = zxingcpp.read_barcodes(picture, formats=_QR_ONLY)
    return [
        _QrHit(page, payload, orientation=code.orientation)
        for code in codes
        if (payload := parse_payload(code.text)) is not None
    ]


def _unsigned_last(hit: _QrHit) -> bool:
    """A code with a checksum speaks for the document before one printed without."""
    return not hit.code.checksum


def _qr_mark(
    hit: _QrHit, texts: list[str], images: list[Path], *, ocr: bool, timeout: float
) -> DeclarationMark:
    text = texts[hit.page] if hit.page < len(texts) else ""
    if len(text.strip()) < _SCAN_TEXT_CHARS and ocr:
        text = page_text(_ocr_ready(images[hit.page], hit.orientation), timeout=timeout)
    details = declaration_details(text)
    return DeclarationMark(
        az=hit.code.az, ags=hit.code.ags, method="qr", checksum=hit.code.checksum,
        signatory=details.signatory,
        function=details.function, signed_on=details.signed_on, place=details.place,
    )  # fmt: skip


def _ocr_ready(image: Path, orientation: int = 0) -> Path:
    """The page image upright (by the QR code's quarter turns) and evenly lit for tesseract.

    tesseract binarises with one global threshold, so on a phone photo with a shadow it
    loses whole lines; subtracting the paper's brightness around each point evens that out.
    """
    with Image.open(image) as picture:
        page = picture.convert("L")
    quarter_turns = round(orientation / 90) % 4
    if quarter_turns:
        page = page.rotate(90 * quarter_turns, expand=True)
    # the paper: the brightest point near each point, on a page reduced to 1/8
    paper = page.reduce(8).filter(ImageFilter.MaxFilter(5)).filter(ImageFilter.GaussianBlur(3))
    darkest, brightest = cast(tuple[int, int], paper.getextrema())
    if brightest - darkest > _UNEVEN_LIGHT:
        ink = ImageChops.subtract(paper.resize(page.size, Image.Resampling.BILINEAR), page)
        page = ImageOps.autocontrast(ImageChops.invert(ink), cutoff=(1, 0))
    elif not quarter_turns:
        return image
    target = image.with_name(f"ocr-{image.stem}.pgm")
    page.save(target)
    return target
