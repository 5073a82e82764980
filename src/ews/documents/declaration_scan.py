"""Recognise a returned, signed „Gemeinsame Erklärung“ (adapter: pypdf, pdftoppm, tesseract, zxing).

The sign-up document carries a QR code ``EWS-GE|<Az>|<AGS>|<checksum>`` (the checksum: the
first 16 bytes of HMAC-SHA256 over ``EWS-GE|<Az>|<AGS>`` under the office's key, base32; codes
printed before it have none) and printed lines with labels
(``Aktenzeichen:``, ``Name:``, ``Funktion:``, ``Ort, Datum:`` …). ``detect_declaration`` tries
the cheap evidence first: the text layer, then the QR code on the first pages rasterised at
300 dpi, then OCR of those same page images. The intake's reader (``ews.documents.pdf``) calls
the parts: ``confirmed_by_qr`` for a text layer, ``read_scan`` for a scan, whose recognised text it
also reads an application from, so a scan is rasterised once. The text rules are pure
(``mark_in_text``): they demand a heading line of the document *and* an ``Aktenzeichen:``
line, and refuse text that carries the application form's labels, so an application never
passes for a declaration. Reading does not judge the checksum: the mark carries it, and the
register checks it against the key (``ews.network.declarations``).

Errors are those of ``ews.documents.pdf`` and ``ews.documents.ocr``: ``NotAPdf`` and
``UnreadablePdf`` for damaged
input, ``ConfigurationError`` for a missing pdftoppm or tesseract.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import math
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal, NamedTuple, cast

import segno
import zxingcpp
from PIL import Image, ImageChops, ImageFilter, ImageOps
from pypdf import apply_configuration

from ews.core.errors import NotAPdf, UnreadablePdf
from ews.core.models import DeclarationMark
from ews.core.sniff import is_pdf, not_a_pdf_reason

# ews.documents.pdf as a module: its helpers are looked up at call time, so that
# ews.documents.pdf may in turn import this module without a circular-import failure
from ews.documents import pdf as pdf_reading
from ews.documents.ocr import page_text, rasterised_pages
from ews.documents.text_layer import fields_from_text, normalised_text
from ews.letters.blank_form import TEXT_FIELDS

__all__ = [
    "PAYLOAD_PREFIX", "DeclarationMark", "QrPayload", "checksum_matches", "confirmed_by_qr",
    "detect_declaration", "mark_in_text", "parse_payload", "payload_checksum", "qr_marks",
    "qr_payload", "qr_png", "read_scan",
]  # fmt: skip

PAYLOAD_PREFIX = "EWS-GE"

#: the Aktenzeichen: file-plan key of dotted digits, dash, zero-padded serial, slash, year
_AZ = r"\d{1,4}(?:\.\d{1,4})*-\d{1,6}/\d{4}"
_AGS = r"\d{8}|\d{5}"
#: a checksum as we write it, or anything in its place a forger may have put there
_CHECKSUM = r"[A-Za-z0-9+/=_-]{0,64}"
_PAYLOAD = re.compile(
    rf"{re.escape(PAYLOAD_PREFIX)}\|(?P<az>{_AZ})\|(?P<ags>{_AGS})(?:\|(?P<checksum>{_CHECKSUM}))?"
)
#: bytes of the HMAC kept: 128 bits, 26 base32 characters, so the code stays small
_CHECKSUM_BYTES = 16

#: printed size of the QR code (with its quiet zone) and the print resolution it is scaled for
_QR_MM = 30.0
_PRINT_DPI = 300


class QrPayload(NamedTuple):
    az: str
    ags: str
    #: "" for a code printed before there were checksums
    checksum: str


def qr_payload(az: str, ags: str, key: bytes) -> str:
    """The QR code's text for one declaration, with its checksum under ``key``; raises
    ValueError for a malformed Az. or AGS."""
    payload = f"{PAYLOAD_PREFIX}|{az}|{ags}|{payload_checksum(az, ags, key)}"
    if parse_payload(payload) is None:
        raise ValueError(f"Kein gültiges Aktenzeichen/AGS-Paar: {az!r}, {ags!r}")
    return payload


def payload_checksum(az: str, ags: str, key: bytes) -> str:
    """The checksum of a declaration's Az. and AGS under ``key`` (base32, no padding)."""
    if not key:
        raise ValueError("Ohne Schlüssel gibt es keine Prüfsumme.")
    message = f"{PAYLOAD_PREFIX}|{az}|{ags}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:_CHECKSUM_BYTES]
    return base64.b32encode(digest).decode("ascii").rstrip("=")


def checksum_matches(az: str, ags: str | None, checksum: str, key: bytes) -> bool:
    """Whether ``checksum`` is the one the office's ``key`` gives this Az. and AGS."""
    if not key or not ags or not checksum:
        return False
    return hmac.compare_digest(checksum, payload_checksum(az, ags, key))


def parse_payload(text: str) -> QrPayload | None:
    """Az., AGS and checksum of one of our QR payloads; None for any other code (URL, …)."""
    match = _PAYLOAD.fullmatch(text)
    return QrPayload(match["az"], match["ags"], match["checksum"] or "") if match else None


def qr_png(payload: str) -> bytes:
    """The QR code as PNG: error correction Q, 4-module quiet zone, 30 mm at its stored dpi.

    Each module is a whole number of pixels at 300 dpi, so a printer needs no resampling.
    """
    code = segno.make_qr(payload, error="q", boost_error=False)
    modules = code.symbol_size(scale=1, border=4)[0]
    scale = math.ceil(_QR_MM / 25.4 * _PRINT_DPI / modules)
    dpi = round(modules * scale / (_QR_MM / 25.4))
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=scale, border=4, dpi=dpi)
    return buffer.getvalue()


# --- the printed text (pure) ----------------------------------------------------------------

_TITLE = "Gemeinsame Erklärung zur Förderung des bürgerschaftlichen Engagements in NRW"
_SUBTITLE = "Beitritt zum Kommunen-Netzwerk: engagiert in NRW"
#: OCR errors (edits) tolerated per character of a heading line
_HEADING_ERRORS = 0.1
#: letters OCR confuses, made one in the heading check: i, 1 and l; 0 and o (and rn with m)
_KEY_CONFUSIONS = str.maketrans("i10", "llo")
#: in a value that is nothing but a number, every O is a 0 and every l or I a 1
_NUMBER_CONFUSIONS = str.maketrans("OoIl|", "00111")
#: application fields whose labels the declaration does not print; two with values mean a form
_APPLICATION_ONLY = tuple(name for name in TEXT_FIELDS if name not in ("ags", "ort", "ort_datum"))
#: how many lines above or below „Ort, Datum:“ a handwritten date may have landed in OCR
_DATE_REACH = 2
#: a line that starts with a label („Unterschrift:“), so it holds no handwritten date
_ANY_LABEL = re.compile(r"^\W{0,3}[^\W\d_][^:;]{0,40}[:;]")
_LONGEST_DATE_LINE = 60
_DASHES = "‐‑‒–—―−"
#: what surrounds a value without being part of it: spaces, dashes, quotes OCR adds
_FILLER = " -–—,;:\"'„“”‚‘’"
_LABELS: dict[str, str] = {
    "az": "Aktenzeichen",
    "ags": "Amtlicher Gemeindeschlüssel",
    "name": "Name",
    "function": "Funktion",
    "place_date": "Ort, Datum",
}
_MONTHS: dict[str, int] = {
    "jan": 1, "januar": 1, "jänner": 1, "feb": 2, "februar": 2, "mär": 3, "märz": 3, "mrz": 3,
    "maerz": 3, "marz": 3, "apr": 4, "april": 4, "mai": 5, "jun": 6, "juni": 6, "jul": 7,
    "juli": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9, "okt": 10,
    "oktober": 10, "nov": 11, "november": 11, "dez": 12, "dezember": 12,
}  # fmt: skip
_NUMERIC_DATE = re.compile(
    r"(?<!\d)(?P<d>\d{1,2})\s*\.\s*(?P<m>\d{1,2})\s*\.\s*(?P<y>\d{4}|\d{2})(?!\d)"
)
#: ``\s*(?:\.\s*)?`` rather than ``\s*\.?\s*``: two stars next to each other would try every
#: split of a long run of spaces (quadratic on a padded text layer line)
_NAMED_DATE = re.compile(
    r"(?<!\d)(?P<d>\d{1,2})\s*(?:\.\s*)?(?P<m>[^\W\d_]{3,9})\.?\s*(?P<y>\d{4}|\d{2})(?!\d)"
)
_ISO_DATE = re.compile(r"(?<!\d)(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?!\d)")


@dataclass(frozen=True)
class _Details:
    """What the labelled lines of the document say."""

    az: str | None = None
    ags: str | None = None
    signatory: str | None = None
    function: str | None = None
    signed_on: date | None = None
    place: str | None = None


def mark_in_text(text: str, *, method: Literal["text", "ocr"] = "text") -> DeclarationMark | None:
    """The declaration this text shows, or None for any other document; ``method`` says
    whether the text is a text layer or OCR output.

    It must show a heading line of the document and an ``Aktenzeichen:`` line with a valid Az.;
    text with the application form's labels and values is never a declaration.
    """
    details = _details(text)
    if details.az is None or not _has_heading(text) or _is_application(text):
        return None
    return DeclarationMark(
        az=details.az, ags=details.ags, method=method, signatory=details.signatory,
        function=details.function, signed_on=details.signed_on, place=details.place,
    )  # fmt: skip


def _has_heading(text: str) -> bool:
    """Whether the title or the subtitle of the document appears, allowing some OCR errors."""
    key = _key(text)
    for heading in (_TITLE, _SUBTITLE):
        wanted = _key(heading)
        if wanted in key or _edits_to_fit(wanted, key) <= len(wanted) * _HEADING_ERRORS:
            return True
    return False


def _key(text: str) -> str:
    """Letters and digits only, lower case, no accents or ligatures, ß as ss, and the letters
    OCR confuses made one: i, 1 and l; 0 and o; rn and m."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    key = "".join(char for char in folded if char.isascii() and char.isalnum())
    return key.translate(_KEY_CONFUSIONS).replace("rn", "m")


def _edits_to_fit(pattern: str, text: str) -> int:
    """The fewest edits that turn ``pattern`` into some part of ``text`` (Myers' bit-vector).

    Linear in ``len(text)``: each pattern position is one bit of a Python int.
    """
    size = len(pattern)
    mask, top = (1 << size) - 1, 1 << (size - 1)
    positions: dict[str, int] = {}
    for index, char in enumerate(pattern):
        positions[char] = positions.get(char, 0) | 1 << index
    plus, minus, score, best = mask, 0, size, size
    for char in text:
        equal = positions.get(char, 0)
        vertical = equal | minus
        horizontal = (((equal & plus) + plus) ^ plus) | equal
        up = minus | (~(horizontal | plus) & mask)
        down = plus & horizontal
        score += 1 if up & top else -1 if down & top else 0
        up, down = (up << 1) & mask, (down << 1) & mask
        plus, minus = down | (~(vertical | up) & mask), up & vertical
        best = min(best, score)
    return best


def _is_application(text: str) -> bool:
    fields = fields_from_text(text)
    return sum(1 for name in _APPLICATION_ONLY if fields.get(name)) >= 2


def _details(text: str) -> _Details:
    """The labelled lines' values; the first line of each label counts."""
    lines = normalised_text(unicodedata.normalize("NFKC", text)).split("\n")
    found: dict[str, tuple[int, str]] = {}
    for number, line in enumerate(lines):
        for name, pattern in _LABEL_LINES.items():
            match = pattern.match(line)
            if match and name not in found:
                found[name] = (number, match["value"])
                break
    value = {name: _cleaned(rest) for name, (_number, rest) in found.items()}
    place, signed_on = _place_and_date(lines, found.get("place_date"))
    return _Details(
        az=_az_in(found["az"][1]) if "az" in found else None,
        ags=_ags_in(found["ags"][1]) if "ags" in found else None,
        signatory=value.get("name"), function=value.get("function"),
        signed_on=signed_on, place=place,
    )  # fmt: skip


def _label_pattern(label: str) -> re.Pattern[str]:
    """A label at the start of a line, after at most some OCR debris, up to its colon."""
    parts = []
    for char in label.lower().replace(", ", ","):
        if char == " ":
            parts.append(r"\s*")
        elif char == ",":  # one star before and one after the mark: never two side by side
            parts.append(r"\s*(?:[,.]\s*)?")
        elif char == "ü":
            parts.append("(?:ü|u|ue)")
        else:
            parts.append(re.escape(char))
    return re.compile(rf"^\W{{0,3}}{''.join(parts)}\s*[:;](?P<value>.*)$", re.IGNORECASE)


_LABEL_LINES = {name: _label_pattern(label) for name, label in _LABELS.items()}


def _cleaned(value: str) -> str | None:
    """A value without fill-in lines, stray quotes and OCR's „©“ for a capital O (or None)."""
    value = re.sub(r"[_…|]+|\.{2,}", " ", value.replace("©", "O"))
    value = re.sub(r"\s+", " ", value).strip(_FILLER)
    return value or None


def _digits(value: str) -> str:
    """Digits beside digits as OCR reads them: O for 0, l or I for 1; dashes unified."""
    value = re.sub(r"(?<=\d)[Oo]|[Oo](?=\d)", "0", value)
    value = re.sub(r"(?<=\d)[lI|]|[lI|](?=\d)", "1", value)
    return re.sub(f"[{_DASHES}]", "-", value)


def _az_in(value: str) -> str | None:
    compact = re.sub(r"\s+", "", _digits(value.translate(_NUMBER_CONFUSIONS)))
    match = re.search(rf"(?<![\d.]){_AZ}(?!\d)", compact)
    return match[0] if match else None


def _ags_in(value: str) -> str | None:
    compact = re.sub(r"[\s_.]+", "", value.translate(_NUMBER_CONFUSIONS))
    match = re.match(rf"(?:{_AGS})(?!\d)", compact)
    return match[0] if match else None


def _place_and_date(
    lines: list[str], found: tuple[int, str] | None
) -> tuple[str | None, date | None]:
    """Place and date after „Ort, Datum:“, or on a line near it when written above the line."""
    if found is None:
        return None, None
    number, value = found
    parsed = _parsed_date(value)
    if parsed is None:
        for candidate in _neighbours(lines, number):
            if _is_date_line(candidate) and (parsed := _parsed_date(candidate)):
                value = candidate
                break
    if parsed is None:
        return _cleaned(value), None
    day, start = parsed
    return _cleaned(_place_before(value[:start])), day


def _place_before(text: str) -> str:
    """The place before a date, without a trailing „, den“ or „am“ and separators (no regex:
    ``[,\s]*$`` searched over a long run of spaces is quadratic)."""
    place = _without_separators(text)
    for word in ("den", "am"):
        head = place[: -len(word)]
        if place[-len(word):].casefold() == word and head != _without_separators(head):
            return _without_separators(head)
    return place


def _without_separators(text: str) -> str:
    end = len(text)
    while end and (text[end - 1] == "," or text[end - 1].isspace()):
        end -= 1
    return text[:end]


def _neighbours(lines: list[str], number: int) -> list[str]:
    """Lines around ``number``, nearest first: one above, one below, two above, …"""
    order = []
    for distance in range(1, _DATE_REACH + 1):
        order += [number - distance, number + distance]
    return [lines[index] for index in order if 0 <= index < len(lines)]


def _is_date_line(line: str) -> bool:
    """Short and without a label: a date written by hand, not prose or another field."""
    return len(line.strip()) <= _LONGEST_DATE_LINE and not _ANY_LABEL.match(line)


def _parsed_date(value: str) -> tuple[date, int] | None:
    """The first German date in ``value`` and where it starts."""
    text = _digits(value)
    for pattern in (_NUMERIC_DATE, _NAMED_DATE, _ISO_DATE):
        for match in pattern.finditer(text):
            day = _date_of(match)
            if day is not None:
                return day, match.start()
    return None


def _date_of(match: re.Match[str]) -> date | None:
    month_text = match["m"]
    month = int(month_text) if month_text.isdigit() else _MONTHS.get(month_text.lower())
    year = int(match["y"])
    if month is None:
        return None
    try:
        return date(year + 2000 if year < 100 else year, month, int(match["d"]))
    except ValueError:
        return None


# --- the PDF (I/O) --------------------------------------------------------------------------

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
    texts = _text_layer(data, max_pages) if page_texts is None else page_texts[:max_pages]
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


def _text_layer(data: bytes, max_pages: int) -> list[str]:
    """The first pages' text, read under ews.documents.pdf's limits and error translation."""
    if not is_pdf(data):
        raise NotAPdf(not_a_pdf_reason(data))
    if pdf_reading._is_truncated(data):
        raise UnreadablePdf(pdf_reading._TRUNCATED)
    with apply_configuration(pdf_reading._limits()):
        reader = pdf_reading._opened(data)
        count = pdf_reading._pdf_call(lambda: len(reader.pages))
        return pdf_reading._page_texts(reader, min(max_pages, count))


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
    details = _details(text)
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
