"""The case file (Akte) as staff read it: one case found by its Az. however it is spelled, its
entries as German lines and as JSON (I/O: database read).

An Az. is looked up as given first, then as ``ews.core.references`` reads it (any dash, any
spaces, a leading "Az." or "Aktenzeichen:", the serial without its zeros); so
"13.0.70 – 4/2026" finds "13.0.70-004/2026".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ews.core.deadlines import BERLIN
from ews.core.references import the_reference
from ews.register.case_entries import CaseDocument, CaseEntry
from ews.register.case_file import CaseFile, case_file
from ews.register.correspondence import az_exists
from ews.register.database import Session, transaction
from ews.runtime import storage
from ews.runtime.settings import Settings

#: German words for the kinds of entries (``CaseEntry.kind``)
KIND_LABELS = {"eingang": "Eingang", "stempel": "Eingangsstempel", "brief": "Brief",
               "post_ein": "Post ein", "post_aus": "Post aus", "entscheidung": "Entscheidung",
               "erklaerung": "Gemeinsame Erklärung", "wiedervorlage": "Wiedervorlage",
               "ereignis": "Ereignis"}
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}$")


def az_candidates(settings: Settings, typed: str) -> list[str]:
    """The Az. to look up for what staff typed: as given, then in the register's spelling."""
    read = the_reference(typed, settings.az.file_plan_key, settings.az.serial_digits)
    return list(dict.fromkeys(az for az in (typed.strip(), read) if az))


def known_az(session: Session, settings: Settings, typed: str) -> str | None:
    """The application's or declaration's Az. staff typed (``az_candidates``), or None."""
    return next((az for az in az_candidates(settings, typed) if az_exists(session, az)), None)


def document_suffix(document: CaseDocument) -> str:
    """The file suffix of a stored document, lower case (``.pdf``, ``.eml``), or ""."""
    found = _SUFFIX.search(storage.location_name(document.location))
    return found.group(0).lower() if found else ""


def load_case(settings: Settings, az: str) -> CaseFile | None:
    """The case of this Az. (as given, else in the register's spelling), or None."""
    with transaction(settings.db_url) as session:
        for candidate in az_candidates(settings, az):
            found = case_file(session, candidate)
            if found is not None:
                return found
        return None


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
