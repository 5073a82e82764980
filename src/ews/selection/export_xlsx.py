"""The register as an Excel workbook staff can filter and sort (I/O: database read, one file).

Three sheets, „Bewerbungen“ (one row per application, every form field a column),
„Eingangsjournal“ (one row per input file) and „Schriftverkehr“ (one row per mail in or out
of a case, the subject of an outgoing mail read from its stored file); with the round's
decisions, first a fourth one,
„Entscheidungen“, where staff decide (layout and reader: ``ews.selection.decision_sheet``).
Excel knows no time zones: times are written as naive local time in Berlin (MEZ/MESZ), which
the column headers say.

Every text is written as a text cell, never as a formula, whatever it starts with: form
values come from outside (Excel/CSV injection; ``ews.selection.workbook``).
"""

from __future__ import annotations

from collections.abc import Sequence
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ews.core.form_contract import LABELS
from ews.core.models import OUTBOX_STATE_LABELS, OUTCOME_LABELS, ApplicationStatus, Outcome
from ews.network.rules import EHRENAMTSKARTE
from ews.register.case_keys import MailLine, mail_lines
from ews.register.case_titles import MATCH_TITLES, PURPOSE_TITLES
from ews.register.database import transaction
from ews.register.reports import application_records, journal_records
from ews.runtime import storage
from ews.runtime.settings import Settings
from ews.selection import decision_sheet as ds
from ews.selection import decisions as selection
from ews.selection.workbook import (
    RECEIVED_HEADER,
    Cell,
    day,
    fill,
    local_time,
    put_text,
    save_atomic,
)

APPLICATIONS_SHEET = "Bewerbungen"
JOURNAL_SHEET = "Eingangsjournal"
MAIL_SHEET = "Schriftverkehr"

#: German status words of the register (the words of ``ews applications``)
STATUS_LABELS: dict[str, str] = {
    ApplicationStatus.REGISTERED.value: OUTCOME_LABELS[Outcome.REGISTERED.value],
    ApplicationStatus.LATE.value: OUTCOME_LABELS[Outcome.LATE.value],
    ApplicationStatus.REPLACED.value: "ersetzt",
}

APPLICATION_HEADERS: tuple[str, ...] = (
    "Aktenzeichen", "Kommune", "Gemeindeschlüssel", "Status", "Ersetzt durch",
    RECEIVED_HEADER, "Frist", *LABELS.values(), "Briefe",
)
JOURNAL_HEADERS: tuple[str, ...] = (
    "Nr.", "Datei/Quelle", RECEIVED_HEADER, "Ergebnis", "Aktenzeichen", "Kommune", "Gründe",
)
MAIL_HEADERS: tuple[str, ...] = (
    "Aktenzeichen", "Kommune", "Datum (MEZ/MESZ)", "Richtung", "Absender/Empfänger", "Betreff",
    "zugeordnet durch", "Status",
)
#: how much of a stored outgoing mail is read for its subject (our headers are far shorter)
HEADER_BYTES = 64 * 1024
MAIL_STATES = {"neu": "neu", "erledigt": "erledigt", **OUTBOX_STATE_LABELS}


def export_register(settings: Settings, target: Path, *, overwrite: bool = False) -> Path:
    """Write the whole register (decisions of the round, applications and input journal) to
    ``target`` (.xlsx), atomically. Returns ``target``. An existing file (perhaps a sheet
    with decisions not yet imported) is replaced only with ``overwrite``, else
    ``FileExistsError``."""
    with transaction(settings.db_url) as session:
        decisions = selection.round_overview(session, settings.round.name)
        lines = mail_lines(session)
    return write_register(target, application_records(settings), journal_records(settings),
                          round_name=settings.round.name, decisions=decisions,
                          mails=[_mail_record(settings, line) for line in lines],
                          overwrite=overwrite)


def _mail_record(settings: Settings, line: MailLine) -> dict[str, Any]:
    """A line of „Schriftverkehr“ as a record; an outgoing mail's subject from its file."""
    subject = line.subject
    if line.direction == "Ausgang":
        subject = _stored_subject(settings, line.eml_path) or PURPOSE_TITLES.get(
            line.purpose or "", line.purpose or "")
    return {"az": line.az, "kommune": line.kommune, "zeit": line.at.isoformat(),
            "richtung": line.direction, "partner": line.party, "betreff": subject,
            "zuordnung": MATCH_TITLES.get(line.matched_by, line.matched_by),
            "status": MAIL_STATES.get(line.state, line.state)}


def _stored_subject(settings: Settings, location: str | None) -> str:
    if not location:
        return ""
    try:
        raw = storage.read_head(location, HEADER_BYTES, settings.storage.options)
    except FileNotFoundError:
        return ""
    return str(BytesHeaderParser(policy=default_policy).parsebytes(raw)["subject"] or "")


def write_register(target: Path, applications: Sequence[dict[str, Any]],
                   journal: Sequence[dict[str, Any]], *, round_name: str,
                   decisions: Sequence[dict[str, Any]] | None = None,
                   mails: Sequence[dict[str, Any]] = (), overwrite: bool = False) -> Path:
    """Write records as returned by ``ews.register.reports`` to ``target`` (.xlsx), atomically: to a
    temporary file beside it, then given its name. With ``decisions`` (the records of
    ``selection.round_overview``) the sheet „Entscheidungen“ comes first. Raises ``OSError``
    when it cannot, ``FileExistsError`` when ``target`` exists and ``overwrite`` is False."""
    workbook = register_workbook(applications, journal, round_name=round_name,
                                 decisions=decisions, mails=mails)
    return save_atomic(workbook, target, overwrite=overwrite)


ROSTER_SHEET = "Netzwerk"
ROSTER_HEADERS: tuple[str, ...] = (
    "Gemeindeschlüssel", "Kommune", "Beitritt", "Unterzeichnet von", "Funktion",
    "Unterzeichnet am", "Ansprechperson für Engagement", "E-Mail", "Ehrenamtskarte NRW",
    "Querschnittsaufgabe", "Kontinuierliche Mitarbeit", "Gemeinsame Erklärung unterzeichnet",
    "Quelle", "Notiz",
)


def write_roster(target: Path, members: Sequence[dict[str, Any]], *,
                 overwrite: bool = False) -> Path:
    """The network roster (records of ``ews.network.declarations.roster``) as one sheet,
    atomically; an existing file only with ``overwrite`` (else ``FileExistsError``)."""
    workbook = Workbook()
    workbook.properties.title = "Kommunen-Netzwerk: engagiert in NRW"
    workbook.properties.creator = "EWS-Aktenführung"
    sheet = workbook.active
    sheet.title = ROSTER_SHEET
    fill(sheet, ROSTER_HEADERS, [[
        m["ags"], m["kommune"], day(m["beitritt"]), m["unterzeichnet_von"] or None,
        m["funktion"] or None, day(m["unterzeichnet_am"]), m["ansprechperson"] or None,
        m["email"] or None, EHRENAMTSKARTE.get(m["ehrenamtskarte"], m["ehrenamtskarte"]),
        _unknown_or_yes_no(m["querschnittsaufgabe"]),
        _unknown_or_yes_no(m["kontinuierliche_mitarbeit"]),
        _unknown_or_yes_no(m["erklaerung_unterzeichnet"]), m["quelle"] or None,
        m["notiz"] or None] for m in members])
    return save_atomic(workbook, target, overwrite=overwrite)


def _unknown_or_yes_no(value: bool | None) -> str:
    return "unbekannt" if value is None else ("ja" if value else "nein")


def register_workbook(applications: Sequence[dict[str, Any]],
                      journal: Sequence[dict[str, Any]], *, round_name: str,
                      decisions: Sequence[dict[str, Any]] | None = None,
                      mails: Sequence[dict[str, Any]] = ()) -> Any:
    """The workbook (openpyxl ``Workbook``) for the records, in memory."""
    workbook = Workbook()
    workbook.properties.title = f"EWS-Register {round_name}"
    workbook.properties.creator = "EWS-Aktenführung"
    sheet = workbook.active
    sheet.title = APPLICATIONS_SHEET
    fill(sheet, APPLICATION_HEADERS, [_application_row(r) for r in applications])
    fill(workbook.create_sheet(JOURNAL_SHEET), JOURNAL_HEADERS,
          [_journal_row(r) for r in journal])
    fill(workbook.create_sheet(MAIL_SHEET), MAIL_HEADERS, [_mail_row(r) for r in mails])
    if decisions is not None:
        sheet.sheet_view.tabSelected = False  # else Excel opens with two sheets grouped
        _decision_sheet(workbook.create_sheet(ds.SHEET, 0), decisions, round_name)
        workbook.active = 0
    return workbook


def _decision_sheet(sheet: Any, records: Sequence[dict[str, Any]], round_name: str) -> None:
    """The sheet staff decide in: round and instruction above the table, dropdowns, the
    editable columns yellow, the information columns grey, the export state hidden."""
    fill(sheet, ds.HEADERS, [_decision_row(r) for r in records], header_row=ds.HEADER_ROW)
    sheet["A1"] = ds.ROUND_LABEL
    put_text(sheet["B1"], round_name)
    sheet["A1"].font = sheet["B1"].font = Font(bold=True, size=12)
    put_text(sheet["A2"], ds.INSTRUCTION)
    sheet["A2"].alignment = Alignment(vertical="top", wrap_text=True)
    last = get_column_letter(len(ds.HEADERS) - 1)
    sheet.merge_cells(f"A2:{last}2")
    sheet.row_dimensions[2].height = 48
    first, end = ds.HEADER_ROW + 1, ds.HEADER_ROW + len(records)
    column = {name: get_column_letter(i) for i, name in enumerate(ds.HEADERS, start=1)}
    for name, note in _HEADER_NOTES.items():
        sheet[f"{column[name]}{ds.HEADER_ROW}"].comment = Comment(note, "EWS-Aktenführung")
    editable, grey = PatternFill("solid", fgColor="FFFFF2CC"), Font(color="FF666666")
    for row in range(first, end + 1):
        for name in ds.EDITABLE:
            sheet[f"{column[name]}{row}"].fill = editable
        for name in ds.INFORMATION:
            sheet[f"{column[name]}{row}"].font = grey
    sheet.column_dimensions[column[ds.STATE]].hidden = True
    if records:
        for validation, name in _decision_validations():
            sheet.add_data_validation(validation)
            validation.add(f"{column[name]}{first}:{column[name]}{end}")


def _decision_row(record: dict[str, Any]) -> list[Cell]:
    return [
        record["az"], record["kommune_name"],
        ds.RECEIPT_LABELS.get(record["status"], record["status"]), record["entscheidung"],
        record["rang"], record["grund"], record["ausnahme"],
        "ja" if record["nachgerueckt"] else None, record["von"], local_time(record["am"]),
        record["am"],  # the state the import compares with, as text
    ]


_HEADER_NOTES = {
    ds.DECISION: "angenommen, warteliste (mit Rang), abgelehnt (mit Grund) oder "
                 "zurueckgezogen (nur wer angenommen ist oder auf der Warteliste steht); leer: "
                 "noch offen. Eine Entscheidung lässt sich nicht leeren.",
    ds.RANK: "Nur für die Warteliste: 1, 2, … (Rang 1 rückt als erster nach).",
    ds.REASON: "Nur für eine Absage:\n" + "\n".join(
        f"{key}: {text}" for key, text in selection.REJECTION_REASONS.items()),
    ds.OVERRIDE: "Nur nötig, um eine verspätete Bewerbung dennoch anzunehmen oder auf die "
                 "Warteliste zu setzen: die Begründung der Ausnahme.",
    **{name: "Nur zur Information; Änderungen hier werden nicht übernommen."
       for name in ds.INFORMATION},
}


def _decision_validations() -> list[tuple[DataValidation, str]]:
    decisions = DataValidation(
        type="list", formula1=f'"{",".join(selection.DECISIONS)}"', allow_blank=True,
        showErrorMessage=True, errorTitle="Unbekannte Entscheidung",
        error="Bitte angenommen, warteliste, abgelehnt oder zurueckgezogen wählen "
              "(oder leer lassen).")
    reasons = DataValidation(
        type="list", formula1=f'"{",".join(selection.REJECTION_REASONS)}"', allow_blank=True,
        showErrorMessage=True, errorTitle="Unbekannter Grund",
        error="Bitte einen Grund aus der Liste wählen: "
              + ", ".join(selection.REJECTION_REASONS) + ".")
    ranks = DataValidation(
        type="whole", operator="greaterThanOrEqual", formula1="1", allow_blank=True,
        showErrorMessage=True, errorTitle="Rang", error="Der Rang ist eine ganze Zahl ab 1.")
    return [(decisions, ds.DECISION), (reasons, ds.REASON), (ranks, ds.RANK)]


def _application_row(record: dict[str, Any]) -> list[Cell]:
    fields: dict[str, Any] = record.get("fields") or {}
    return [
        record["az"], record["kommune_name"], record["ags"],
        STATUS_LABELS.get(record["status"], record["status"]), record.get("replaced_by"),
        local_time(record["received_at"]), day(record.get("deadline_last_day")),
        *(_field(fields.get(name)) for name in LABELS),
        "\n".join(Path(p).name for p in record.get("letters") or []),
    ]


def _journal_row(record: dict[str, Any]) -> list[Cell]:
    return [
        record["eingangsnummer"], record["source"], local_time(record["received_at"]),
        OUTCOME_LABELS.get(record["outcome"], str(record["outcome"])), record["az"],
        record["kommune_name"], "\n".join(record["reasons"]),
    ]


def _mail_row(record: dict[str, Any]) -> list[Cell]:
    return [record["az"], record["kommune"], local_time(record["zeit"]), record["richtung"],
            record["partner"], record["betreff"], record["zuordnung"] or None,
            record["status"]]


def _field(value: Any) -> str | None:
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if value is None or value == "":
        return None
    return str(value)


