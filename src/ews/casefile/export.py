"""The Aktenauszug: one case written to a folder as the hand-off to an e-Akte (I/O: reads the
stores, writes files, runs LibreOffice).

The folder holds a table of contents as PDF/A (``000_Inhaltsverzeichnis.pdf``: Az.,
municipality, date of export, every entry with date, kind, title and its files), every
document of the case copied byte for byte from its store (originals from the archive,
letters, mails as .eml, attachments of the correspondence), named in time order
(``001_2026-12-01_Eingangsbestaetigung.pdf``), and ``manifest-sha256.txt`` with the SHA-256
of every file in the format of ``sha256sum -c``. It is built in a hidden folder beside the
target and given the target's name in one step; a target that holds anything is refused.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ews.casefile.akte import KIND_LABELS, document_suffix
from ews.core.deadlines import BERLIN
from ews.core.errors import ConfigurationError, EwsError, TemplateError
from ews.letters.context import clean_text, office_context
from ews.letters.render import render_docx
from ews.outbox.conversion import convert_letters
from ews.register.case_entries import CaseDocument, CaseEntry
from ews.register.case_file import CaseFile
from ews.runtime import storage
from ews.runtime.folders import write_atomic
from ews.runtime.settings import Settings

TEMPLATE = "aktenauszug.docx"
TOC_NAME = "000_Inhaltsverzeichnis.pdf"
MANIFEST_NAME = "manifest-sha256.txt"
_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
                       "ß": "ss"})


class ExportRefused(EwsError):
    """The target folder cannot take the Aktenauszug (German reason)."""


@dataclass(frozen=True)
class PlannedFile:
    """A document of the case and its name in the export (``entry``: index in the case)."""

    entry: int
    name: str
    document: CaseDocument


@dataclass(frozen=True)
class ExportedFile:
    name: str
    source: str  # the location it was copied from; "" for the table of contents
    sha256: str
    size: int


@dataclass(frozen=True)
class ExportReport:
    folder: Path
    files: tuple[ExportedFile, ...]
    #: German: documents that could not be read, or whose bytes differ from the SHA-256 the
    #: register recorded when they came in (copied all the same, as they are)
    problems: tuple[str, ...]


#: how the table of contents marks a file with a problem
MISSING, ALTERED = "fehlt", "Prüfsumme abweichend"


def file_slug(text: str) -> str:
    """An ASCII part of a file name: umlauts spelled out, other characters dropped (pure)."""
    folded = unicodedata.normalize("NFC", text).translate(_FOLD)
    ascii_text = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9-]+", "_", ascii_text).strip("_")
    return slug[:60].rstrip("_") or "Dokument"


def planned_files(case: CaseFile) -> list[PlannedFile]:
    """Every document of the case with its numbered name, in time order (pure)."""
    planned: list[PlannedFile] = []
    for index, entry in enumerate(case.entries):
        for document in entry.documents:
            name = (f"{len(planned) + 1:03d}_{entry.at.astimezone(BERLIN):%Y-%m-%d}_"
                    f"{file_slug(document.name)}{document_suffix(document)}")
            planned.append(PlannedFile(index, name, document))
    return planned


def export_case(settings: Settings, case: CaseFile, target: Path, now: datetime
                ) -> ExportReport:
    """Write the Aktenauszug of ``case`` to the folder ``target`` (created; it must not exist
    or be empty, else ExportRefused). Documents that cannot be read are listed as missing in
    the table of contents and the report, as are documents whose bytes are not those the
    register recorded; infrastructure failures propagate."""
    refusal = target_refusal(target)
    if refusal:
        raise ExportRefused(refusal)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.tmp"
    work.mkdir()
    try:
        planned = planned_files(case)
        copied, problems = _copy_documents(settings, planned, work)
        toc = _write_toc(settings, case, planned, problems, now, work)
        files = (toc, *copied)
        write_atomic(work / MANIFEST_NAME, "".join(
            f"{item.sha256}  {item.name}\n" for item in files).encode())
        _give_name(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ExportReport(target, files, tuple(reason for _mark, reason in problems.values()))


def target_refusal(target: Path) -> str | None:
    """Why ``target`` cannot take an Aktenauszug (German), or None."""
    if target.exists() and not target.is_dir():
        return f"{target} ist eine Datei, kein Ordner."
    if target.is_dir() and any(target.iterdir()):
        return (f"Der Ordner {target} ist nicht leer. Ein Aktenauszug wird nur in einen neuen "
                "oder leeren Ordner geschrieben, damit nichts überschrieben oder vermischt "
                "wird.")
    return None


def _copy_documents(settings: Settings, planned: list[PlannedFile], work: Path
                    ) -> tuple[list[ExportedFile], dict[str, tuple[str, str]]]:
    """Copy every document; the files copied, and by name the problems (mark, reason)."""
    copied: list[ExportedFile] = []
    problems: dict[str, tuple[str, str]] = {}
    for item in planned:
        location = item.document.location
        try:
            data = storage.read_location(location, settings.storage.options)
        except (FileNotFoundError, IsADirectoryError) as exc:
            problems[item.name] = (MISSING, f"{item.name}: {location} fehlt ({exc})")
            continue
        write_atomic(work / item.name, data, overwrite=False)
        digest = hashlib.sha256(data).hexdigest()
        copied.append(ExportedFile(item.name, location, digest, len(data)))
        if item.document.sha256 and item.document.sha256 != digest:
            problems[item.name] = (ALTERED, f"{item.name}: {location} ist nicht mehr die "
                                            "Datei, die eingegangen ist (SHA-256 weicht ab)")
    return copied, problems


def check_toc_template(settings: Settings) -> list[str]:
    """Problems of the Aktenauszug's template (German), found by filling it with a sample
    case; ``[]`` when it is fine (``ews vorlagen pruefen``)."""
    sample = CaseFile(az="13.0.70-001/2026", kommune="Stadt Beispiel", ags="05999999",
                      round_name=settings.round.name, azs=("13.0.70-001/2026",), entries=(
        CaseEntry(datetime(2026, 1, 5, 9, 0, tzinfo=BERLIN), "eingang", "Eingang (registriert)",
                  "", (CaseDocument("Bewerbung", "bewerbung.pdf"),)),
        CaseEntry(datetime(2026, 1, 5, 9, 1, tzinfo=BERLIN), "entscheidung",
                  "Entscheidung: angenommen", "")))
    try:
        render_docx(settings.templates_dir / TEMPLATE, toc_context(
            settings, sample, planned_files(sample), {}, sample.entries[0].at),
            prepare=_unchanged)
    except (TemplateError, ConfigurationError) as exc:
        return [str(exc)]
    return []


def toc_context(settings: Settings, case: CaseFile, planned: list[PlannedFile],
                problems: dict[str, tuple[str, str]], now: datetime) -> dict[str, object]:
    """The placeholders of ``aktenauszug.docx`` (pure)."""
    names: dict[int, list[str]] = {}
    for item in planned:
        mark = problems.get(item.name, ("", ""))[0]
        names.setdefault(item.entry, []).append(f"{item.name} ({mark})" if mark else item.name)
    rows = [{"nr": str(index + 1),
             "datum": f"{entry.at.astimezone(BERLIN):%d.%m.%Y %H:%M}",
             "art": KIND_LABELS.get(entry.kind, entry.kind),
             "titel": clean_text(entry.title),
             "dateien": "\n".join(names.get(index, ["–"]))}
            for index, entry in enumerate(case.entries)]
    return {**office_context(settings.office), "unser_zeichen": clean_text(case.az),
            "kommune": clean_text(case.kommune), "runde": clean_text(case.round_name or "–"),
            "exportdatum": f"{now.astimezone(BERLIN):%d.%m.%Y %H:%M} Uhr",
            "manifest": MANIFEST_NAME, "eintraege": rows}


def _unchanged(_template: object, context: dict[str, object]) -> dict[str, object]:
    return context


def _write_toc(settings: Settings, case: CaseFile, planned: list[PlannedFile],
               problems: dict[str, tuple[str, str]], now: datetime, work: Path
               ) -> ExportedFile:
    context = toc_context(settings, case, planned, problems, now)
    scratch = work / ".inhalt"
    docx = write_atomic(scratch / "Inhaltsverzeichnis.docx", render_docx(
        settings.templates_dir / TEMPLATE, context, prepare=_unchanged))
    convert_letters([docx], settings)
    data = docx.with_suffix(".pdf").read_bytes()
    write_atomic(work / TOC_NAME, data, overwrite=False)
    shutil.rmtree(scratch)
    return ExportedFile(TOC_NAME, "", hashlib.sha256(data).hexdigest(), len(data))


def _give_name(work: Path, target: Path) -> None:
    """The built folder takes the target's name: an empty target folder is replaced."""
    if target.is_dir():
        target.rmdir()  # empty (checked); OSError if something arrived meanwhile
    os.rename(work, target)
