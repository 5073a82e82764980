"""The register as an Excel workbook staff can filter and sort (I/O: database read, one file).

Two sheets, „Bewerbungen“ (one row per application, every form field a column) and
„Eingangsjournal“ (one row per input file); with the round's decisions, first a third one,
„Entscheidungen“, where staff decide (layout and reader: ``ews.selection.decision_sheet``). Excel
knows
no time zones: times are written as naive local time in Berlin (MEZ/MESZ), which the column
headers say.

Every text is written as a text cell, never as a formula, whatever it starts with: form
values come from outside (Excel/CSV injection).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ews.core.deadlines import BERLIN
from ews.core.models import OUTCOME_LABELS, ApplicationStatus, Outcome
from ews.letters.blank_form import LABELS
from ews.register.database import session_factory
from ews.register.reports import application_records, journal_records
from ews.runtime.folders import write_atomic
from ews.runtime.settings import Settings
from ews.selection import decision_sheet as ds
from ews.selection import decisions as selection

APPLICATIONS_SHEET = "Bewerbungen"
JOURNAL_SHEET = "Eingangsjournal"
RECEIVED_HEADER = "Eingang (MEZ/MESZ)"
DATETIME_FORMAT = "DD.MM.YYYY HH:MM"
DATE_FORMAT = "DD.MM.YYYY"

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

_RECEIVED_NOTE = ("Ortszeit Berlin (MEZ im Winter, MESZ im Sommer). Excel kennt keine "
                  "Zeitzonen; die Zeit ist ohne Zeitzone gespeichert.")
_MIN_WIDTH = 8
_MAX_WIDTH = 60
_MAX_CELL_CHARS = 32_767  # Excel's limit for one cell
#: characters XML 1.0 (and so the file format) cannot hold; tab, LF and CR are allowed
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: a text starting like this would be a formula if typed into a cell
_FORMULA_START = ("=", "+", "-", "@")

Cell = str | int | datetime | date | None


def export_register(settings: Settings, target: Path, *, overwrite: bool = False) -> Path:
    """Write the whole register (decisions of the round, applications and input journal) to
    ``target`` (.xlsx), atomically. Returns ``target``. An existing file (perhaps a sheet
    with decisions not yet imported) is replaced only with ``overwrite``, else
    ``FileExistsError``."""
    with session_factory(settings.db_url).begin() as session:
        decisions = selection.round_overview(session, settings.round.name)
    return write_register(target, application_records(settings), journal_records(settings),
                          round_name=settings.round.name, decisions=decisions,
                          overwrite=overwrite)


def write_register(target: Path, applications: Sequence[dict[str, Any]],
                   journal: Sequence[dict[str, Any]], *, round_name: str,
                   decisions: Sequence[dict[str, Any]] | None = None,
                   overwrite: bool = False) -> Path:
    """Write records as returned by ``ews.register.reports`` to ``target`` (.xlsx), atomically: to a
    temporary file beside it, then given its name. With ``decisions`` (the records of
    ``selection.round_overview``) the sheet „Entscheidungen“ comes first. Raises ``OSError``
    when it cannot, ``FileExistsError`` when ``target`` exists and ``overwrite`` is False."""
    workbook = register_workbook(applications, journal, round_name=round_name,
                                 decisions=decisions)
    return _save_atomic(workbook, target, overwrite=overwrite)


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
    from ews.network.declarations import EHRENAMTSKARTE

    workbook = Workbook()
    workbook.properties.title = "Kommunen-Netzwerk: engagiert in NRW"
    workbook.properties.creator = "EWS-Aktenführung"
    sheet = workbook.active
    sheet.title = ROSTER_SHEET
    _fill(sheet, ROSTER_HEADERS, [[
        m["ags"], m["kommune"], _day(m["beitritt"]), m["unterzeichnet_von"] or None,
        m["funktion"] or None, _day(m["unterzeichnet_am"]), m["ansprechperson"] or None,
        m["email"] or None, EHRENAMTSKARTE.get(m["ehrenamtskarte"], m["ehrenamtskarte"]),
        _unknown_or_yes_no(m["querschnittsaufgabe"]),
        _unknown_or_yes_no(m["kontinuierliche_mitarbeit"]),
        _unknown_or_yes_no(m["erklaerung_unterzeichnet"]), m["quelle"] or None,
        m["notiz"] or None] for m in members])
    return _save_atomic(workbook, target, overwrite=overwrite)


def _unknown_or_yes_no(value: bool | None) -> str:
    return "unbekannt" if value is None else ("ja" if value else "nein")


def _save_atomic(workbook: Any, target: Path, *, overwrite: bool) -> Path:
    """Save through the one atomic write: replace ``target`` (with ``overwrite``) or give it
    the name only while no file has it."""
    content = io.BytesIO()
    workbook.save(content)
    return write_atomic(target, content.getvalue(), overwrite=overwrite, create_folder=False)


def register_workbook(applications: Sequence[dict[str, Any]],
                      journal: Sequence[dict[str, Any]], *, round_name: str,
                      decisions: Sequence[dict[str, Any]] | None = None) -> Any:
    """The workbook (openpyxl ``Workbook``) for the records, in memory."""
    workbook = Workbook()
    workbook.properties.title = f"EWS-Register {round_name}"
    workbook.properties.creator = "EWS-Aktenführung"
    sheet = workbook.active
    sheet.title = APPLICATIONS_SHEET
    _fill(sheet, APPLICATION_HEADERS, [_application_row(r) for r in applications])
    _fill(workbook.create_sheet(JOURNAL_SHEET), JOURNAL_HEADERS,
          [_journal_row(r) for r in journal])
    if decisions is not None:
        sheet.sheet_view.tabSelected = False  # else Excel opens with two sheets grouped
        _decision_sheet(workbook.create_sheet(ds.SHEET, 0), decisions, round_name)
        workbook.active = 0
    return workbook


def _decision_sheet(sheet: Any, records: Sequence[dict[str, Any]], round_name: str) -> None:
    """The sheet staff decide in: round and instruction above the table, dropdowns, the
    editable columns yellow, the information columns grey, the export state hidden."""
    _fill(sheet, ds.HEADERS, [_decision_row(r) for r in records], header_row=ds.HEADER_ROW)
    sheet["A1"] = ds.ROUND_LABEL
    _put_text(sheet["B1"], round_name)
    sheet["A1"].font = sheet["B1"].font = Font(bold=True, size=12)
    _put_text(sheet["A2"], ds.INSTRUCTION)
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
        "ja" if record["nachgerueckt"] else None, record["von"], _local(record["am"]),
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
        _local(record["received_at"]), _day(record.get("deadline_last_day")),
        *(_field(fields.get(name)) for name in LABELS),
        "\n".join(Path(p).name for p in record.get("letters") or []),
    ]


def _journal_row(record: dict[str, Any]) -> list[Cell]:
    return [
        record["eingangsnummer"], record["source"], _local(record["received_at"]),
        OUTCOME_LABELS.get(record["outcome"], str(record["outcome"])), record["az"],
        record["kommune_name"], "\n".join(record["reasons"]),
    ]


def _local(iso: str | None) -> datetime | None:
    """Naive Berlin local time (to the second) of an ISO time with offset."""
    if not iso:
        return None
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(BERLIN).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def _day(iso: str | None) -> date | None:
    return date.fromisoformat(iso) if iso else None


def _field(value: Any) -> str | None:
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if value is None or value == "":
        return None
    return str(value)


def _fill(sheet: Any, headers: Sequence[str], rows: list[list[Cell]], *,
          header_row: int = 1) -> None:
    for column, header in enumerate(headers, start=1):
        sheet.cell(row=header_row, column=column, value=header)
    bold = Font(bold=True)
    for cell in sheet[header_row]:
        cell.font = bold
        cell.alignment = Alignment(vertical="top", wrap_text=True)
        if cell.value == RECEIVED_HEADER:
            cell.comment = Comment(_RECEIVED_NOTE, "EWS-Aktenführung")
    widths = [len(header) + 2 for header in headers]  # room for the filter button
    top = Alignment(vertical="top")
    wrapped = Alignment(vertical="top", wrap_text=True)
    for row_number, values in enumerate(rows, start=header_row + 1):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row_number, column=column)
            if isinstance(value, str):
                text = _put_text(cell, value)
                cell.alignment = wrapped if "\n" in text or len(text) > _MAX_WIDTH else top
                width = max((len(line) for line in text.splitlines()), default=0)
            elif isinstance(value, datetime):
                cell.value = value
                cell.number_format = DATETIME_FORMAT
                cell.alignment = top
                width = len("31.12.2027 23:59") + 1
            elif isinstance(value, date):
                cell.value = value
                cell.number_format = DATE_FORMAT
                cell.alignment = top
                width = len("31.12.2027") + 1
            else:
                cell.value = value
                cell.alignment = top
                width = len(str(value)) if value is not None else 0
            widths[column - 1] = max(widths[column - 1], width)
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = min(
            max(width + 2, _MIN_WIDTH), _MAX_WIDTH)
    sheet.freeze_panes = f"A{header_row + 1}"
    sheet.auto_filter.ref = (f"A{header_row}:{get_column_letter(len(headers))}"
                             f"{header_row + len(rows)}")


def _put_text(cell: Any, value: str) -> str:
    """Write ``value`` as a text cell, never a formula; returns the text written."""
    text = _clean(value)
    cell.value = text
    cell.data_type = "s"  # openpyxl would take "=…" for a formula
    if text.startswith(_FORMULA_START):
        cell.quotePrefix = True  # stays text even when edited in Excel
    return text


def _clean(text: str) -> str:
    """A text a cell can hold: no control characters, no lone surrogates, Excel's length."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = _ILLEGAL_XML.sub("", text.replace("\r\n", "\n"))
    if len(text) > _MAX_CELL_CHARS:
        text = text[: _MAX_CELL_CHARS - 1] + "…"
    return text
