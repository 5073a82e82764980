"""Sheets staff can filter and sort: every text a text cell, never a formula (Excel/CSV
injection), times as naive Berlin local time, bold frozen headers with filters, and an atomic
save that never replaces a file unless told to (I/O: one file).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from ews.core.deadlines import BERLIN
from ews.runtime.folders import write_atomic

RECEIVED_HEADER = "Eingang (MEZ/MESZ)"
DATETIME_FORMAT = "DD.MM.YYYY HH:MM"
DATE_FORMAT = "DD.MM.YYYY"

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


def save_atomic(workbook: Any, target: Path, *, overwrite: bool) -> Path:
    """Save through the one atomic write: replace ``target`` (with ``overwrite``) or give it
    the name only while no file has it (else ``FileExistsError``)."""
    content = io.BytesIO()
    workbook.save(content)
    return write_atomic(target, content.getvalue(), overwrite=overwrite, create_folder=False)


def local_time(iso: str | None) -> datetime | None:
    """Naive Berlin local time (to the second) of an ISO time with offset."""
    if not iso:
        return None
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(BERLIN).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def day(iso: str | None) -> date | None:
    return date.fromisoformat(iso) if iso else None


def fill(sheet: Any, headers: Sequence[str], rows: list[list[Cell]], *,
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
                text = put_text(cell, value)
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


def put_text(cell: Any, value: str) -> str:
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
