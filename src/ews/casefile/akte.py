"""The case file (Akte) as staff read it: one case found by its Az. however it is spelled, its
entries as German lines and as JSON (I/O: database read).

An Az. is looked up as given first, then in its plain form: spaces removed, every kind of
dash (en dash, em dash, minus, non-breaking hyphen) a hyphen, a leading "Az." dropped; so
"13.0.70 – 004/2026" finds "13.0.70-004/2026".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ews.core.deadlines import BERLIN
from ews.register.case_entries import CaseDocument, CaseEntry
from ews.register.case_file import CaseFile, case_file
from ews.register.database import transaction
from ews.runtime import storage
from ews.runtime.settings import Settings

#: German words for the kinds of entries (``CaseEntry.kind``)
KIND_LABELS = {"eingang": "Eingang", "stempel": "Eingangsstempel", "brief": "Brief",
               "post_ein": "Post ein", "post_aus": "Post aus", "entscheidung": "Entscheidung",
               "erklaerung": "Gemeinsame Erklärung", "wiedervorlage": "Wiedervorlage",
               "ereignis": "Ereignis"}
_DASHES = re.compile("[\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d]")
_PREFIX = re.compile(r"^\s*(?:az|aktenzeichen)\s*[.:]?\s*", re.IGNORECASE)
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}$")


def plain_az(text: str) -> str:
    """The plain form of an Az. as written by hand: no spaces, hyphens for dashes, no
    leading "Az."."""
    return re.sub(r"\s+", "", _DASHES.sub("-", _PREFIX.sub("", text)))


def document_suffix(document: CaseDocument) -> str:
    """The file suffix of a stored document, lower case (``.pdf``, ``.eml``), or ""."""
    found = _SUFFIX.search(storage.location_name(document.location))
    return found.group(0).lower() if found else ""


def load_case(settings: Settings, az: str) -> CaseFile | None:
    """The case of this Az. (as given, else in its plain form), or None."""
    with transaction(settings.db_url) as session:
        found = case_file(session, az)
        if found is None and plain_az(az) != az:
            found = case_file(session, plain_az(az))
        return found


@dataclass(frozen=True)
class EntryLine:
    """One entry as display strings: Berlin time, kind, title, detail, file names."""

    when: str
    kind: str
    title: str
    detail: str
    documents: str


def entry_lines(case: CaseFile) -> list[EntryLine]:
    return [EntryLine(_local(entry), KIND_LABELS.get(entry.kind, entry.kind), entry.title,
                      entry.detail, "\n".join(document.name + document_suffix(document)
                                               for document in entry.documents))
            for entry in case.entries]


def case_record(case: CaseFile) -> dict[str, Any]:
    """The case as JSON-ready data (``ews akte --json``)."""
    return {
        "aktenzeichen": case.az, "kommune": case.kommune, "ags": case.ags,
        "runde": case.round_name, "aktenzeichen_der_akte": list(case.azs),
        "eintraege": [{
            "zeit": entry.at.astimezone(BERLIN).isoformat(), "art": entry.kind,
            "titel": entry.title, "detail": entry.detail,
            "dokumente": [{"name": document.name, "ort": document.location}
                          for document in entry.documents],
        } for entry in case.entries],
    }


def _local(entry: CaseEntry) -> str:
    return entry.at.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M")
