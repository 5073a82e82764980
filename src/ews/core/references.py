"""Our Aktenzeichen found in what people write: a subject, the first lines of a mail, a folder
name (pure, no I/O).

People write the Az. ``13.0.70-004/2026`` in many ways: „Az. 13.0.70-004/2026“, „Aktenzeichen:
13.0.70 – 004/2026“, „13.0.70-4/2026“, with an en or em dash, with non-breaking or extra
spaces, behind „AW:“, „WG:“, „RE:“, „Fwd:“ or „Antw:“. A folder name cannot hold „/“, so
„13.0.70-004-2026“ and „13.0.70-004_2026“ count there, too. Every spelling is normalised to the
register's form (``file_plan_key``, the serial with ``serial_digits`` digits, the year).

Quoted text is taken out before the first lines are read: „> …“ lines, and everything from
„-----Ursprüngliche Nachricht-----“, „-----Original Message-----“ or „Am … schrieb …:“ /
„On … wrote:“ on, so an Az. quoted from an older mail of another case does not count.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

#: how many lines of a mail's own text (quotes taken out) are searched for an Az.
FIRST_LINES = 15
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_SPACES = re.compile(r"[\s\u00a0\u202f\u2007\u2009\u200a\u200b]+")
_QUOTE_START = re.compile(
    r"^\s*(-{2,}\s*(ursprüngliche nachricht|original message|weitergeleitete nachricht|"
    r"forwarded message)\s*-{2,}|(am|on)\s.{3,200}\s(schrieb|wrote)\s?.{0,120}:\s*$|"
    r"(von|from)\s*:\s.+@)", re.IGNORECASE)


def _pattern(file_plan_key: str, *, folder: bool) -> re.Pattern[str]:
    """The Az. with any dash and spaces around it; in a folder name also „-“ or „_“ before
    the year."""
    key = r"\s*\.\s*".join(re.escape(part) for part in file_plan_key.split("."))
    dash = f"[{_DASHES}]"
    year_sep = rf"(?:/|{dash}|_)" if folder else "/"
    return re.compile(rf"(?<!\d)(?<!\d\.){key}\s*{dash}\s*(\d{{1,6}})\s*{year_sep}\s*"
                      rf"(\d{{4}})(?!\d)")


def normalised_az(serial: int, year: int, file_plan_key: str, serial_digits: int) -> str:
    """The register's spelling of an Az. (pure)."""
    return f"{file_plan_key}-{serial:0{serial_digits}d}/{year}"


def _clean(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text.replace("\u00ad", "")))


def references_in(text: str, file_plan_key: str, serial_digits: int, *,
                  folder: bool = False) -> list[str]:
    """Every Az. of ours in ``text``, normalised, in order, without repeats."""
    found: list[str] = []
    for match in _pattern(file_plan_key, folder=folder).finditer(_clean(text)):
        serial, year = int(match.group(1)), int(match.group(2))
        if serial == 0:
            continue
        az = normalised_az(serial, year, file_plan_key, serial_digits)
        if az not in found:
            found.append(az)
    return found


def own_text(body: str) -> str:
    """The mail's own text: quoted lines („> …“) and everything from the quoted original on
    (Outlook's „-----Ursprüngliche Nachricht-----“, „Am … schrieb …:“) taken out."""
    kept: list[str] = []
    for line in body.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if _QUOTE_START.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept)


def first_lines(body: str, count: int = FIRST_LINES) -> str:
    """The first ``count`` non-empty lines of the mail's own text."""
    lines = [line.strip() for line in own_text(body).split("\n") if line.strip()]
    return "\n".join(lines[:count])


def az_of_mail(subject: str, body: str, file_plan_key: str, serial_digits: int) -> list[str]:
    """The Az. of ours a mail names: those in its subject first, then those in the first
    lines of its own text."""
    found = references_in(subject, file_plan_key, serial_digits)
    for az in references_in(first_lines(body), file_plan_key, serial_digits):
        if az not in found:
            found.append(az)
    return found


def the_reference(text: str, file_plan_key: str, serial_digits: int, *,
                  folder: bool = False) -> str | None:
    """The one Az. of ours ``text`` names, normalised (as staff type it: „Az. 13.0.70 –
    4/2026“), or None when it names none or several."""
    found = references_in(text, file_plan_key, serial_digits, folder=folder)
    return found[0] if len(found) == 1 else None


def az_of_folder(name: str, file_plan_key: str, serial_digits: int) -> str | None:
    """The Az. a folder is named after („13.0.70-004-2026“, „13.0.70-004_2026“, „Az 13.0.70
    – 4/2026“ …), or None when the name is not one Az."""
    return the_reference(name, file_plan_key, serial_digits, folder=True)


def looks_like_az_folder(name: str, file_plan_key: str) -> bool:
    """Whether a folder name starts like an Az. of ours (its file plan key), even one that
    cannot be read: such a folder is for a case, never an ordinary inbox subfolder."""
    key = r"\s*\.\s*".join(re.escape(part) for part in file_plan_key.split("."))
    return re.match(rf"^\s*(az\.?\s*)?{key}(?!\d)", _clean(name), re.IGNORECASE) is not None


def case_folder_of(path: Path, inbox: Path, file_plan_key: str) -> str | None:
    """The first-level subfolder of the inbox that ``path`` lies in, when it is named like an
    Az. of ours; else None (pure)."""
    try:
        parts = path.relative_to(inbox).parts
    except ValueError:
        return None
    if len(parts) < 2 or not looks_like_az_folder(parts[0], file_plan_key):
        return None
    return parts[0]
