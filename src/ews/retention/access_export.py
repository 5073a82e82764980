"""The access export (Art. 15 DSGVO): a PDF/A summary of every finding, rendered like the
letters (docxtpl template ``auskunft.docx`` → LibreOffice PDF/A), with copies of the
documents beside it; the request is logged without its content (I/O: template, files,
LibreOffice, database)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ews.core.deadlines import BERLIN
from ews.core.names import safe_name
from ews.letters.context import office_context
from ews.letters.render import render_docx
from ews.outbox.conversion import convert_letters
from ews.register import cases as register
from ews.register import retention as queries
from ews.register.database import transaction
from ews.retention.access import Finding, find_person
from ews.retention.config import REQUEST, read_retention
from ews.retention.records import note_export
from ews.runtime.folders import write_atomic
from ews.runtime.settings import Settings
from ews.runtime.storage import location_name, read_location

TEMPLATE = "auskunft.docx"
SUMMARY = "Auskunft.docx"
PURPOSES = ("Auswahl der Kommunen für die Entwicklungswerkstatt, Durchführung des Programms, "
            "Kommunen-Netzwerk engagiert in NRW und Berichte an den Zuwendungsgeber.")


@dataclass
class AccessExport:
    folder: Path
    summary: Path  # the PDF/A
    findings: list[Finding]
    documents: list[Path]


def export_access(settings: Settings, query: str, target: Path, *, actor: str, now: datetime
                  ) -> AccessExport:
    """Find the person's records and write the export into ``target`` (created; must be
    empty); logs that it was done, never what was found."""
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"Der Ordner {target} ist nicht leer.")
    findings = find_person(settings, query)
    target.mkdir(parents=True, exist_ok=True)
    documents = _copies(settings, findings, target / "Dokumente")
    docx = write_atomic(target / SUMMARY, render_docx(
        settings.templates_dir / TEMPLATE, _context(settings, query, findings, documents, now),
        prepare=lambda _template, context: context))
    convert_letters([docx], settings)
    docx.unlink()
    summary = docx.with_suffix(".pdf")
    note_export(settings, "auskunft", target, actor=actor, now=now)
    _log(settings, findings, len(documents), actor=actor, now=now)
    return AccessExport(target, summary, findings, documents)


def _copies(settings: Settings, findings: list[Finding], folder: Path) -> list[Path]:
    """Each document of a finding once, under a neutral numbered name."""
    copies: list[Path] = []
    seen: set[str] = set()
    for finding in findings:
        for location in finding.documents:
            if location in seen:
                continue
            seen.add(location)
            try:
                data = read_location(location, settings.storage.options)
            except (OSError, ValueError):
                continue  # already deleted
            suffix = location_name(location).rpartition(".")[2] or "bin"
            label = f"{len(copies) + 1:02d} {finding.source} {finding.reference}"
            name = safe_name(f"{label.replace('/', '-')}.{suffix}")
            folder.mkdir(parents=True, exist_ok=True)
            copies.append(write_atomic(folder / name, data))
    return copies


def _context(settings: Settings, query: str, findings: list[Finding], documents: list[Path],
             now: datetime) -> dict[str, object]:
    retention = read_retention(settings.retention_file)
    return {
        **office_context(settings.office),
        "gesucht": query, "datum": now.astimezone(BERLIN).strftime("%d.%m.%Y"),
        "anzahl": str(len(findings)),
        "eintraege": [{"quelle": f.source, "bezug": f.reference, "angaben": f.details}
                      for f in findings] or [{"quelle": "Keine Fundstelle", "bezug": "–",
                                              "angaben": "–"}],
        "dokumente": [path.name for path in documents] or ["keine"],
        "zwecke": PURPOSES,
        "fristen": (f"Nicht ausgewählte Bewerbungen: {retention.nicht_ausgewaehlt.monate} "
                    f"Monate nach dem Bescheid, dann anonymisiert. Teilnehmende Kommunen: "
                    f"{retention.teilnahme.jahre} Jahre nach dem Verwendungsnachweis. "
                    "Schriftverkehr und Mails: mit ihrem Vorgang. Netzwerk: solange die Rolle "
                    "besteht."),
    }


def _log(settings: Settings, findings: list[Finding], documents: int, *, actor: str,
         now: datetime) -> None:
    counts = Counter(finding.table for finding in findings)
    ids: dict[str, list[int]] = {}
    for finding in findings:
        ids.setdefault(finding.table, []).append(finding.row_id)
    with transaction(settings.db_url) as session:
        register.log_event(session, actor=actor, action="auskunft", subject="datenschutz",
                           detail={"fundstellen": len(findings), "dokumente": documents})
        queries.add_log(session, at=now, actor=actor, rule=REQUEST, way="auskunft", az=None,
                        record_ids=ids, counts=dict(counts) | {"dokumente": documents})
