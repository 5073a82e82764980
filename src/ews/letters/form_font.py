"""The font of the blank form's fields: Liberation Sans, embedded, with an encoding for names.

Programs that draw field values (pdftk, MuPDF, Poppler, Ghostscript, LibreOffice) draw them with
the font the form names in each field's ``/DA`` and its ``/AcroForm /DR``. Helvetica (WinAnsi)
drops Ş, ğ, İ, ř, ę, ā and every letter outside Western Europe. pdftk-java (an old iText) draws
only with simple fonts (one byte a letter, letters known by their Adobe glyph names; a Type0 font
comes out as zero bytes), so the field font is a simple TrueType font: WinAnsi, plus the letters
of Turkish, Polish, Czech, Romanian, Hungarian, Croatian and transliterated names in the codes
WinAnsi leaves empty and in those of symbols nobody types into this form (``FIELD_LETTERS``).
The font is embedded as a subset of just those letters (27 KB instead of 410 KB: forms travel
by mail, many at once). Reads the font file from Debian's fonts-liberation2 once; otherwise
no I/O.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NumberObject,
)
from reportlab.pdfbase.ttfonts import TTFontFile

#: Debian's fonts-liberation2 (scripts/setup.sh installs it)
FONT_FILE = Path("/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf")
#: the resource name fields use in ``/DA`` ("/LiSa 10 Tf 0 g")
RESOURCE = "LiSa"
_BASE_NAME = "LiberationSans"
_DA_FONT = re.compile(r"/[^\s/]+(\s+[\d.]+\s+Tf)")
#: letters beyond WinAnsi, by the Adobe glyph name pdftk-java knows them by (Ț, ḥ, ʿ and most
#: combining accents have none there, so no program that draws with pdftk can show them)
_EXTRA = (
    "Ğ Gbreve ğ gbreve İ Idotaccent ı dotlessi Ş Scedilla ş scedilla "
    "Ą Aogonek ą aogonek Ć Cacute ć cacute Ę Eogonek ę eogonek Ł Lslash ł lslash "
    "Ń Nacute ń nacute Ś Sacute ś sacute Ź Zacute ź zacute Ż Zdotaccent ż zdotaccent "
    "Č Ccaron č ccaron Ř Rcaron ř rcaron Ě Ecaron ě ecaron Ů Uring ů uring Ť Tcaron ť tcaron "
    "Ď Dcaron ď dcaron Ň Ncaron ň ncaron Ă Abreve ă abreve Ș Scommaaccent ș scommaaccent "
    "Ţ Tcommaaccent ţ tcommaaccent Ő Ohungarumlaut ő ohungarumlaut Ű Uhungarumlaut "
    "ű uhungarumlaut Đ Dcroat đ dcroat Ā Amacron ā amacron Ē Emacron ē emacron "
    "Ī Imacron ī imacron Ū Umacron ū umacron \u0301 acutecomb"
).split()
#: WinAnsi's empty codes (control characters: never typed), then rare symbols given up for names
_FREE_CODES = (*range(1, 32), 0x7F, 0x81, 0x8D, 0x8F, 0x90, 0x9D,  # empty in WinAnsi
               *b"\x83\x86\x87\x89\x8b\x9b",  # ƒ † ‡ ‰ ‹ ›
               *b"\xa1\xa4\xa6\xaa\xac\xaf\xb5\xb6",  # ¡ ¤ ¦ ª ¬ ¯ µ ¶
               *b"\xb8\xb9\xba\xbc\xbe\xbf")  # ¸ ¹ º ¼ ¾ ¿


def _encoding() -> dict[int, str]:
    """Code -> the character it draws: WinAnsi with the extra letters in the free codes."""
    table: dict[int, str] = {}
    for code in range(32, 256):
        try:
            table[code] = bytes([code]).decode("cp1252")
        except UnicodeDecodeError:
            continue
    for code, char in zip(_FREE_CODES, _EXTRA[0::2], strict=True):
        table[code] = char
    return table


ENCODING = _encoding()
#: every character the field font draws (what a program drawing a value with it can show)
FIELD_LETTERS = frozenset(ENCODING.values())


@dataclass(frozen=True)
class _Metrics:
    """What the PDF font dictionaries need from the TrueType file."""

    data: bytes
    widths: dict[int, float]  # code point -> advance in 1/1000 em
    bbox: tuple[int, ...]
    ascent: int
    descent: int
    cap_height: int
    stem_v: int


class FormFontMissing(Exception):
    """The form's field font is not installed (German reason)."""


@cache
def _metrics() -> _Metrics:
    if not FONT_FILE.is_file():
        raise FormFontMissing(f"Schrift für die Formularfelder fehlt: {FONT_FILE} "
                              "(Debian-Paket fonts-liberation2)")
    font = TTFontFile(str(FONT_FILE))
    return _Metrics(
        data=_subset(),
        widths=dict(font.charWidths),
        bbox=tuple(round(value) for value in font.bbox),
        ascent=round(font.ascent),
        descent=round(font.descent),
        cap_height=round(font.capHeight),
        stem_v=int(font.stemV),
    )


def _subset() -> bytes:
    """The font with only the glyphs of ``FIELD_LETTERS`` (names and hinting kept; the same
    bytes every time)."""
    font = TTFont(str(FONT_FILE), recalcTimestamp=False)
    options = subset.Options()
    options.glyph_names = True
    options.notdef_outline = True
    options.hinting = True
    options.layout_features = []
    options.name_IDs = ["*"]
    options.recalc_timestamp = False
    options.drop_tables += ["FFTM"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(char) for char in FIELD_LETTERS])
    subsetter.subset(font)
    output = io.BytesIO()
    font.save(output)
    return output.getvalue()


def add_form_font(writer: PdfWriter) -> IndirectObject:
    """Adds the field font to ``writer``; returns its reference (for ``/DR /Font``)."""
    metrics = _metrics()
    font_file = DecodedStreamObject()
    font_file.set_data(metrics.data)
    font_file[NameObject("/Length1")] = NumberObject(len(metrics.data))
    descriptor = DictionaryObject({
        NameObject("/Type"): NameObject("/FontDescriptor"),
        NameObject("/FontName"): NameObject(f"/{_BASE_NAME}"),
        NameObject("/Flags"): NumberObject(32),  # nonsymbolic: codes -> glyph names -> cmap
        NameObject("/FontBBox"): ArrayObject(NumberObject(v) for v in metrics.bbox),
        NameObject("/ItalicAngle"): NumberObject(0),
        NameObject("/Ascent"): NumberObject(metrics.ascent),
        NameObject("/Descent"): NumberObject(metrics.descent),
        NameObject("/CapHeight"): NumberObject(metrics.cap_height),
        NameObject("/StemV"): NumberObject(metrics.stem_v),
        NameObject("/FontFile2"): writer._add_object(font_file.flate_encode(level=9)),
    })  # fmt: skip
    differences = ArrayObject()
    for code, name in zip(_FREE_CODES, _EXTRA[1::2], strict=True):
        differences += [NumberObject(code), NameObject(f"/{name}")]
    to_unicode = DecodedStreamObject()
    to_unicode.set_data(_to_unicode_cmap())
    font = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"),
        NameObject("/Subtype"): NameObject("/TrueType"),
        NameObject("/BaseFont"): NameObject(f"/{_BASE_NAME}"),
        NameObject("/FirstChar"): NumberObject(0),
        NameObject("/LastChar"): NumberObject(255),
        NameObject("/Widths"): ArrayObject(
            NumberObject(round(metrics.widths.get(ord(ENCODING[code]), 0)) if code in ENCODING
                         else 0) for code in range(256)),
        NameObject("/Encoding"): DictionaryObject({
            NameObject("/Type"): NameObject("/Encoding"),
            NameObject("/BaseEncoding"): NameObject("/WinAnsiEncoding"),
            NameObject("/Differences"): differences,
        }),
        NameObject("/FontDescriptor"): writer._add_object(descriptor),
        NameObject("/ToUnicode"): writer._add_object(to_unicode.flate_encode(level=9)),
    })  # fmt: skip
    return writer._add_object(font)


def use_form_font(default_appearance: str) -> str:
    """The field's ``/DA`` with its font replaced by the field font (size and colour kept)."""
    replaced, count = _DA_FONT.subn(rf"/{RESOURCE}\1", default_appearance, count=1)
    return replaced if count else f"/{RESOURCE} 10 Tf 0 g {default_appearance}".strip()


def _to_unicode_cmap() -> bytes:
    pairs = sorted(ENCODING.items())
    lines = [
        "/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def", "/CMapType 2 def",
        "1 begincodespacerange", "<00> <FF>", "endcodespacerange",
    ]  # fmt: skip
    for start in range(0, len(pairs), 100):
        chunk = pairs[start : start + 100]
        lines.append(f"{len(chunk)} beginbfchar")
        lines.extend(f"<{code:02X}> <{char.encode('utf-16-be').hex().upper()}>"
                     for code, char in chunk)  # fmt: skip
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines).encode("ascii")
