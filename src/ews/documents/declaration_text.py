"""Recognise a returned, signed „Gemeinsame Erklärung“ in text: layer or OCR output (pure, no I/O).

The document prints labelled lines (``Aktenzeichen:``, ``Name:``, ``Funktion:``,
``Ort, Datum:`` …). ``mark_in_text`` demands a heading line of the document *and* an
``Aktenzeichen:`` line, and refuses text that carries the application form's labels, so an
application never passes for a declaration. ``declaration_details`` reads the labelled lines
alone (for a page whose QR code already told what document it is). Tolerant of OCR errors.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Literal

from ews.core.form_contract import TEXT_FIELDS
from ews.core.models import DeclarationMark
from ews.documents.declaration_code import AGS_PATTERN, AZ_PATTERN
from ews.documents.text_layer import fields_from_text, normalised_text

__all__ = ["DeclarationDetails", "declaration_details", "mark_in_text"]

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
class DeclarationDetails:
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
    details = declaration_details(text)
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


def declaration_details(text: str) -> DeclarationDetails:
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
    return DeclarationDetails(
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
    match = re.search(rf"(?<![\d.]){AZ_PATTERN}(?!\d)", compact)
    return match[0] if match else None


def _ags_in(value: str) -> str | None:
    compact = re.sub(r"[\s_.]+", "", value.translate(_NUMBER_CONFUSIONS))
    match = re.match(rf"(?:{AGS_PATTERN})(?!\d)", compact)
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
