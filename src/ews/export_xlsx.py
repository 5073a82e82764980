"""The register as an Excel workbook staff can filter and sort (I/O: database read, one file).

Two sheets, „Bewerbungen“ (one row per application, every form field a column) and
„Eingangsjournal“ (one row per input file). Excel knows no time zones: times are written as
naive local time in Berlin (MEZ/MESZ), which the column headers say.

Every text is written as a text cell, never as a formula, whatever it starts with: form
values come from outside (Excel/CSV injection).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from ews.blank_form import LABELS
from ews.deadlines import BERLIN
from ews.models import OUTCOME_LABELS, ApplicationStatus, Outcome
from ews.reports import application_records, journal_records
from ews.settings import Settings

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


def export_register(settings: Settings, target: Path) -> Path:
    """Write the whole register (applications and input journal) to ``target`` (.xlsx),
    atomically. Returns ``target``."""
    return write_register(target, application_records(settings), journal_records(settings),
                          round_name=settings.round.name)


def write_register(target: Path, applications: Sequence[dict[str, Any]],
                   journal: Sequence[dict[str, Any]], *, round_name: str) -> Path:
    """Write records as returned by ``ews.reports`` to ``target`` (.xlsx), atomically: to a
    temporary file beside it, then renamed over it. Raises ``OSError`` when it cannot."""
    workbook = register_workbook(applications, journal, round_name=round_name)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with temporary.open("xb") as handle:
            workbook.save(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


def register_workbook(applications: Sequence[dict[str, Any]],
                      journal: Sequence[dict[str, Any]], *, round_name: str) -> Any:
    """The workbook (openpyxl ``Workbook``) for the records, in memory."""
    workbook = Workbook()
    workbook.properties.title = f"EWS-Register {round_name}"
    workbook.properties.creator = "EWS-Aktenführung"
    sheet = workbook.active
    sheet.title = APPLICATIONS_SHEET
    _fill(sheet, APPLICATION_HEADERS, [_application_row(r) for r in applications])
    _fill(workbook.create_sheet(JOURNAL_SHEET), JOURNAL_HEADERS,
          [_journal_row(r) for r in journal])
    return workbook


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


def _fill(sheet: Any, headers: Sequence[str], rows: list[list[Cell]]) -> None:
    sheet.append(list(headers))
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
        cell.alignment = Alignment(vertical="top", wrap_text=True)
        if cell.value == RECEIVED_HEADER:
            cell.comment = Comment(_RECEIVED_NOTE, "EWS-Aktenführung")
    widths = [len(header) + 2 for header in headers]  # room for the filter button
    top = Alignment(vertical="top")
    wrapped = Alignment(vertical="top", wrap_text=True)
    for row_number, values in enumerate(rows, start=2):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row_number, column=column)
            if isinstance(value, str):
                text = _clean(value)
                cell.value = text
                cell.data_type = "s"  # openpyxl would take "=…" for a formula
                if text.startswith(_FORMULA_START):
                    cell.quotePrefix = True  # stays text even when edited in Excel
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
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(rows) + 1}"


def _clean(text: str) -> str:
    """A text a cell can hold: no control characters, no lone surrogates, Excel's length."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = _ILLEGAL_XML.sub("", text.replace("\r\n", "\n"))
    if len(text) > _MAX_CELL_CHARS:
        text = text[: _MAX_CELL_CHARS - 1] + "…"
    return text
