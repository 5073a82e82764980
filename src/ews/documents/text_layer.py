"""Form values from plain text by the printed labels (``Label: value``); pure, no I/O.

Used for forms without fields: "printed to PDF" text layers and OCR output. Labels are matched
at the start of a line, longest first, tolerant of case, spacing, dash variants and typical OCR
confusions (``|`` or ``1`` for ``l``, ``ss`` for ``ß``). Multi-line fields run until the next
label; checkboxes are read from a mark before or after the label, or from ``ja``/``nein``.
Blank lines are layout, except a line holding only ``PARAGRAPH_BREAK`` (an empty line of a
multi-line value, as the positioned text layer found it).
"""

from __future__ import annotations

import itertools
import re
import unicodedata

from ews.core.form_contract import CHECKBOX_FIELDS, HEADINGS, LABELS, MULTILINE_FIELDS
from ews.core.models import RawFields

# Characters OCR and PDF producers swap for one another, by lower-case label character.
_CONFUSABLE: dict[str, str] = {
    "l": "[l1i|!]",
    "i": "[il1|!í]",
    "1": "[1li|!]",
    "o": "[o0]",
    "ß": "(?:ß|ss|b|8)",
    "ä": "(?:ä|a|ae)",
    "ö": "(?:ö|o|oe)",
    "ü": "(?:ü|u|ue|ii)",
}
#: a line of its own in the text: the value has an empty line here (a paragraph's end)
PARAGRAPH_BREAK = "\u2029"
_DASHES = "-‐‑‒–—―−~"
_CHECK_SYMBOLS = "xX×✗✘✓✔☒☑⊠"
_YES = {"ja", "yes", "x", "angekreuzt", "bestätigt", "zugestimmt"}
_NO = {"nein", "no"}
#: an empty box as printed or as OCR reads it: "[ ]", "[]", "☐", "|_]", "LJ"
_EMPTY_BOX = r"\[\s*\]|[☐□]|\|_\]|LJ|\[_\]"
#: page footers: "Seite 1 von 2" (also after a form title) and "- 2 -"
_SKIPPED_LINE = re.compile(
    r"^(.{0,60}\bseite\s*\d+\s*(von|/)\s*\d+|\s*-\s*\d+\s*-)\s*$", re.IGNORECASE
)
# fill-in lines, and the box edges OCR reads as characters
_FILLER = " \t_…|[]{}\\"


def _label_pattern(label: str) -> str:
    # A run of spaces and dashes in the label becomes one gap: any whitespace, at most one
    # dash. Possessive, so that a long run of whitespace in the text is read once, not tried
    # in every split between adjacent quantifiers (quadratic and worse).
    parts: list[str] = []
    for gap, chars in itertools.groupby(label.lower(), key=lambda c: c.isspace() or c in _DASHES):
        if gap:
            dashed = any(char in _DASHES for char in chars)
            parts.append(rf"\s*+(?:[{re.escape(_DASHES)}]\s*+)?" if dashed else r"\s*+")
            continue
        for char in chars:
            if char in ",.":
                parts.append(f"[{re.escape(char)}]?")
            else:
                parts.append(_CONFUSABLE.get(char, re.escape(char)))
    return "".join(parts)


def _label_regex() -> re.Pattern[str]:
    # Longest label first, so that "Ort, Datum" wins over "Ort".
    names = sorted(LABELS, key=lambda name: len(LABELS[name]), reverse=True)
    alternatives = "|".join(f"(?P<{name}>{_label_pattern(LABELS[name])})" for name in names)
    return re.compile(
        rf"^\s*+(?P<prefix>.{{0,12}}?)\s*+(?:{alternatives})"
        # atomic: on a line, rest always matches the first separator found; on text with a
        # line break, trying every shorter separator before it would be quadratic
        rf"(?P<sep>(?>\s*[:;]|\s{{2,}}|\s*$|(?=\s*[\[{re.escape(_CHECK_SYMBOLS)}☐□])))"
        rf"(?P<rest>.*)$",
        re.IGNORECASE,
    )


def _inline_label_regex() -> re.Pattern[str]:
    names = sorted(
        (name for name in LABELS if name not in MULTILINE_FIELDS + CHECKBOX_FIELDS),
        key=lambda name: len(LABELS[name]),
        reverse=True,
    )
    alternatives = "|".join(f"(?P<{name}>{_label_pattern(LABELS[name])})" for name in names)
    return re.compile(rf"\s(?:{alternatives})\s*:", re.IGNORECASE)


_LABEL_LINE = _label_regex()
#: before a text label only box edges; before a checkbox label also a mark or OCR debris
_TEXT_PREFIX = re.compile(r"^[^\w]*$")
_CHECKBOX_PREFIX = re.compile(r"^(?!.*[^\W\d_]{4}).*$")
_INLINE_LABEL = _inline_label_regex()
_HEADING_KEYS = frozenset(re.sub(r"\s+", " ", heading).lower() for heading in HEADINGS)


def normalised_text(text: str) -> str:
    """Text with composed umlauts, plain spaces, Unix line ends and no ligatures."""
    text = unicodedata.normalize("NFC", text)
    for old, new in (("\r\n", "\n"), ("\r", "\n"), ("\f", "\n"), ("\u00a0", " "), ("\u00ad", "")):
        text = text.replace(old, new)
    return text.replace("\ufb01", "fi").replace("\ufb02", "fl").replace("\t", "    ")


def fields_from_text(text: str) -> RawFields:
    """All contract fields read from text by their labels (unchecked/None when absent)."""
    values, checks = _parsed(text)
    fields: RawFields = {}
    for name in LABELS:
        if name in CHECKBOX_FIELDS:
            fields[name] = checks.get(name) is True
        else:
            fields[name] = _joined(values.get(name, []), multiline=name in MULTILINE_FIELDS)
    return fields


def unmarked_checkboxes(text: str) -> set[str]:
    """Checkbox labels that stand without any mark, ticked or not.

    A form printed to PDF draws its ticks as vector paths, so the text layer shows the label
    alone; only the page image can tell.
    """
    _values, checks = _parsed(text)
    return {name for name, state in checks.items() if state is None}


def _parsed(text: str) -> tuple[dict[str, list[str]], dict[str, bool | None]]:
    """Value lines per text field and the mark state per checkbox label found."""
    values: dict[str, list[str]] = {}
    checks: dict[str, bool | None] = {}
    current: str | None = None
    for line in normalised_text(text).split("\n"):
        if _is_skipped(line):
            continue
        match = _label_match(line)
        if match is None or (current is not None and _matched_name(match) == current):
            if current is not None:
                values[current].append(line)
            continue
        current = _record_line(match, values, checks)
    return values, checks


def checkbox_label_start(line: str) -> int | None:
    """Where a checkbox label begins in a line that starts with one (for OCR tick detection)."""
    match = _label_match(normalised_text(line))
    if match is None:
        return None
    name = _matched_name(match)
    return match.start(name) if name in CHECKBOX_FIELDS else None


#: the fields whose values are people's names (read again with the script packs of names)
NAME_FIELDS = ("hvb_name", "team1_name", "team2_name", "unterzeichner")


def name_label_end(line: str) -> int | None:
    """Where the label and its separator end, in a line that starts with a name field's label."""
    match = _label_match(normalised_text(line))
    if match is None or _matched_name(match) not in NAME_FIELDS:
        return None
    return match.end("sep")


def _label_match(line: str) -> re.Match[str] | None:
    """The label a line starts with, after nothing but box edges or a checkbox mark."""
    match = _LABEL_LINE.match(line)
    if match is None:
        return None
    prefix_rule = _CHECKBOX_PREFIX if _matched_name(match) in CHECKBOX_FIELDS else _TEXT_PREFIX
    return match if prefix_rule.match(match.group("prefix")) else None


def _is_skipped(line: str) -> bool:
    key = re.sub(r"\s+", " ", line).strip().lower()
    return key in _HEADING_KEYS or _SKIPPED_LINE.match(line) is not None


def _record_line(
    match: re.Match[str], values: dict[str, list[str]], checks: dict[str, bool | None]
) -> str | None:
    """Store what one label line says; return the field that continues on the next lines."""
    name = _matched_name(match)
    rest = match.group("rest")
    if name in CHECKBOX_FIELDS:
        checks.setdefault(name, _checkbox_state(match.group("prefix"), rest))
        return None
    if name in MULTILINE_FIELDS:
        if name not in values:
            values[name] = [rest]
            return name
        return None
    for field, value in _split_inline(name, rest):
        if not _joined(values.get(field, []), multiline=False):
            values[field] = [value]
    return None


def _matched_name(match: re.Match[str]) -> str:
    found = match.groupdict()
    return next(name for name in LABELS if found.get(name) is not None)


def _split_inline(name: str, rest: str) -> list[tuple[str, str]]:
    """Split ``58095  Ort: Hagen`` when several labels share one line."""
    found = [(name, 0, 0)]
    for match in _INLINE_LABEL.finditer(rest):
        inline = next(key for key, value in match.groupdict().items() if value is not None)
        found.append((inline, match.start(), match.end()))
    pairs: list[tuple[str, str]] = []
    for index, (field, _start, end) in enumerate(found):
        stop = found[index + 1][1] if index + 1 < len(found) else len(rest)
        pairs.append((field, rest[end:stop]))
    return pairs


def _checkbox_state(prefix: str, rest: str) -> bool | None:
    """True for a tick or "ja", False for an empty box or "nein", None for no mark at all."""
    if any(symbol in prefix for symbol in _CHECK_SYMBOLS):
        return True
    answer = rest.strip().strip(":;").strip()
    if answer and (
        answer[0] in _CHECK_SYMBOLS[2:] or re.match(r"^[\[(|]\s*[xX×]\s*[\])|]", answer)
    ):
        return True
    words = re.split(r"[\s,.;]+", answer.lower())
    if words[0] in _YES:
        return True
    if words[0] in _NO or re.search(_EMPTY_BOX, prefix + answer):
        return False
    return None


def _joined(lines: list[str], *, multiline: bool) -> str | None:
    if not multiline:
        value = re.sub(r"\s+", " ", " ".join(lines)).strip(_FILLER)
    else:
        # blank lines are layout (OCR, line spacing), not content; an empty line of the value
        # itself is marked PARAGRAPH_BREAK by the reader that saw it on the page
        cleaned = (re.sub(r"\s{2,}", " ", line).strip(_FILLER) for line in lines)
        joined = "\n".join(line for line in cleaned if line).replace(PARAGRAPH_BREAK, "")
        value = re.sub(r"\n{3,}", "\n\n", joined).strip(_FILLER + "\n")
    # a printed fill-in line ("______", ".....") is no value
    return value if value.strip("._…- \n") else None
