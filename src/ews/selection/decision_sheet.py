"""The decision sheet: its layout, shared with ``ews.selection.export_xlsx``, and its reader
(I/O: one workbook read). Taking it into the register is ``ews.selection.sheet_import``.

``ews auswahl export`` writes the sheet „Entscheidungen“ (``ews.selection.export_xlsx``); its
layout is defined here, beside the reader, so both sides agree::

    row 1   Runde | <round name>          the round the sheet belongs to
    row 2   a short German instruction
    row 3   Aktenzeichen, Kommune, Eingang, Entscheidung, Rang (Warteliste), Grund der Absage,
            Begründung Ausnahme, then for information only: nachgerückt, entschieden von,
            entschieden am, and the hidden „Stand“ (the decision time as exported)
    row 4…  one row per current application of the round

The reader finds the round and the header by their labels and the columns by their headers:
inserted note rows, sorted rows and columns appended by staff do no harm. Values are taken as
people type them: any case, extra spaces, „zurückgezogen“, ranks as 3.0 or "3", reason
categories by key (``plaetze``) or label („Plätze“, the Absage sentence).

``import_decisions`` (``ews.selection.sheet_import``) is all or nothing. It first collects
every problem of the sheet (each a German sentence naming the row as Excel numbers it and the
Aktenzeichen) and refuses the sheet with one ``DecisionSheetError`` if there is any. Only then
it applies the rows that differ from the register, through ``selection.decide``, in a safe
order: rejections, withdrawals (freeing seats; a withdrawal moves up the first of the waiting
list), waiting list, acceptances. A row is compared with the register again right before it is
applied, so a row that a move-up already settled is no error. Any rule error
(``SelectionError``) is collected with its row and raised as ``DecisionSheetError`` too; the
caller's transaction must then roll back (a ``with factory.begin()`` block does), so nothing is
half-applied.

Decided on purpose:

- An emptied decision cell where the register has a decision is a problem, not "unchanged":
  the selection has no undo, and silently ignoring it would hide a mistake.
- A row whose decision changed in the register after the export (its hidden „Stand“ differs)
  and that now differs from the register is a conflict: taking it over would overwrite the
  newer decision (for instance demote an application that moved up meanwhile).
- Rank and reason are read only where they matter (waiting list, rejection) and ignored
  otherwise, so staff need not clear them when they change a decision.
- A Kommune cell left empty is not checked; a different Kommune is (a row edited into another).
"""

from __future__ import annotations

import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from ews.core.errors import DecisionSheetError
from ews.selection.decisions import (
    ACCEPTED,
    DECISIONS,
    REJECTED,
    REJECTION_REASONS,
    WAITING,
)

SHEET = DecisionSheetError.SHEET
ROUND_LABEL = "Runde"
HEADER_ROW = 3
AZ, KOMMUNE, RECEIPT, DECISION, RANK, REASON, OVERRIDE = (
    "Aktenzeichen", "Kommune", "Eingang", "Entscheidung", "Rang (Warteliste)",
    "Grund der Absage", "Begründung Ausnahme")
MOVED_UP, DECIDED_BY, DECIDED_AT, STATE = (
    "nachgerückt", "entschieden von", "entschieden am (MEZ/MESZ)", "Stand (nicht ändern)")
HEADERS = (AZ, KOMMUNE, RECEIPT, DECISION, RANK, REASON, OVERRIDE, MOVED_UP, DECIDED_BY,
           DECIDED_AT, STATE)
EDITABLE = (DECISION, RANK, REASON, OVERRIDE)
INFORMATION = (MOVED_UP, DECIDED_BY, DECIDED_AT)
RECEIPT_LABELS = {"registered": "fristgerecht", "late": "verspätet"}
INSTRUCTION = (
    "Bitte nur die gelben Spalten ausfüllen (Hinweise an den Spaltenköpfen) und die Datei mit "
    "„ews auswahl import <Datei>“ einlesen. Übernommen werden die geänderten Zeilen, und nur, "
    "wenn die "
    "ganze Tabelle stimmt. Keine Zeilen löschen, Aktenzeichen und Kommune nicht ändern; eine "
    "Entscheidung lässt sich ändern, aber nicht leeren. Wer nach einem Rückzug nachrücken "
    "soll, direkt auf „angenommen“ setzen (sonst rückt Rang 1 der Warteliste nach).")

_REQUIRED = (AZ, KOMMUNE, DECISION, RANK, REASON, OVERRIDE)
_HEADER_SEARCH = 30  # rows to look for the header in
_ALLOWED = "angenommen, warteliste, abgelehnt, zurueckgezogen oder leer (offen)"


@dataclass(frozen=True)
class SheetRow:
    """One row of the sheet as staff left it, in the register's words."""

    row: int  # the row number Excel and Calc show
    az: str
    kommune: str
    decision: str | None  # None: left open (or not understood, see problems)
    rank: int | None = None  # only for the waiting list
    reason: str | None = None  # a key of REJECTION_REASONS, only for a rejection
    override: str | None = None
    state: str | None = None  # the hidden „Stand“ as exported ("" when open), None without it
    problems: tuple[str, ...] = ()  # what cannot be understood, as German sentences


# -- reading ---------------------------------------------------------------------------------

def read_decision_sheet(path: Path, *, round_name: str) -> list[SheetRow]:
    """The rows of the sheet „Entscheidungen“ in ``path``; raises ``DecisionSheetError`` for a
    file that is no workbook, without the sheet, its header or columns, or of another round.
    Problems of single rows are kept in ``SheetRow.problems`` for ``import_decisions``."""
    lines = _sheet_lines(path)
    header = _header_index(lines)
    _check_round(lines[:header], round_name)
    columns = _columns(lines[header])
    rows = (_sheet_row(number, line, columns)
            for number, line in enumerate(lines[header + 1:], start=header + 2))
    return [row for row in rows if row is not None]


def _sheet_lines(path: Path) -> list[tuple[Any, ...]]:
    if not path.is_file():
        raise DecisionSheetError([f"Die Datei {path} gibt es nicht."])
    with path.open("rb") as handle:
        workbook = _workbook(handle, path)
        try:
            sheet = workbook[_sheet_name(workbook.sheetnames)]
            sheet.reset_dimensions()  # files from other programs may declare too small a range
            return [tuple(line) for line in sheet.iter_rows(values_only=True)]
        finally:
            workbook.close()


def _workbook(handle: BinaryIO, path: Path) -> Any:
    try:
        return load_workbook(handle, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise  # the disk, not the content (openpyxl's "no valid workbook part" has none)
        raise DecisionSheetError([
            f"Die Datei {path.name} ist keine Excel-Arbeitsmappe (.xlsx). Bitte in Excel oder "
            "LibreOffice als „Excel 2007-365 (.xlsx)“ ohne Kennwort speichern."]) from exc


def _sheet_name(names: list[str]) -> str:
    for name in names:
        if comparable(name) == comparable(SHEET):
            return name
    raise DecisionSheetError([
        f"Die Datei enthält kein Tabellenblatt „{SHEET}“ (nur: {', '.join(names)}). Bitte die "
        "Datei aus „ews auswahl export“ verwenden und das Blatt nicht umbenennen."])


def _header_index(lines: list[tuple[Any, ...]]) -> int:
    for index, line in enumerate(lines[:_HEADER_SEARCH]):
        keys = {comparable(value) for value in line}
        if comparable(AZ) in keys and comparable(DECISION) in keys:
            return index
    raise DecisionSheetError([f"Im Blatt „{SHEET}“ fehlt die Kopfzeile mit „{AZ}“ und "
                              f"„{DECISION}“; bitte die Datei neu mit „ews auswahl export“ "
                              f"erzeugen."])


def _check_round(lines: list[tuple[Any, ...]], round_name: str) -> None:
    for line in lines:
        filled = [value for value in line if _text(value)]
        for label, value in zip(filled, filled[1:], strict=False):
            if comparable(label).rstrip(":") != comparable(ROUND_LABEL):
                continue
            if comparable(value) == comparable(round_name):
                return
            raise DecisionSheetError([
                f"Die Tabelle gehört zur Runde „{_text(value)}“, eingelesen wird aber in die "
                f"Runde „{round_name}“. Bitte die Tabelle der laufenden Runde verwenden "
                "(„ews auswahl export“)."])
    raise DecisionSheetError([f"Über der Kopfzeile steht keine Runde („{ROUND_LABEL}“); bitte "
                              "die Tabelle neu mit „ews auswahl export“ erzeugen."])


_COLUMN_KEYS = {"az": AZ, "rang": RANK, "grund": REASON, "ausnahme": OVERRIDE, "stand": STATE}


def _columns(header: tuple[Any, ...]) -> dict[str, int]:
    known = {**{comparable(name): name for name in HEADERS}, **_COLUMN_KEYS}
    columns: dict[str, int] = {}
    for index, value in enumerate(header):
        name = known.get(comparable(value))
        if name is not None:
            columns.setdefault(name, index)
    missing = [name for name in _REQUIRED if name not in columns]
    if missing:
        raise DecisionSheetError([f"Im Blatt „{SHEET}“ fehlt die Spalte „{name}“; bitte "
                                  "Spalten nicht löschen oder umbenennen." for name in missing])
    return columns


def _sheet_row(number: int, line: tuple[Any, ...], columns: dict[str, int]) -> SheetRow | None:
    def cell(name: str) -> Any:
        index = columns.get(name)
        return line[index] if index is not None and index < len(line) else None

    if not any(_text(cell(name)) for name in _REQUIRED):
        return None  # an empty row (trailing, or left between rows)
    az = _text(cell(AZ))
    problems = [] if az else ["Das Aktenzeichen fehlt; bitte Aktenzeichen nicht löschen."]
    decision, problem = _decision(cell(DECISION))
    rank = reason = None
    if decision == WAITING:
        rank, problem = _rank(cell(RANK))
    elif decision == REJECTED:
        reason, problem = _reason(cell(REASON))
    problems += [problem] if problem else []
    where = f"Zeile {number} ({az})" if az else f"Zeile {number}"
    note = str(cell(OVERRIDE)).strip() if cell(OVERRIDE) is not None else ""
    return SheetRow(number, az, _text(cell(KOMMUNE)), decision, rank, reason, note or None,
                    _text(cell(STATE)) if STATE in columns else None,
                    tuple(f"{where}: {text}" for text in problems))


def _decision(value: Any) -> tuple[str | None, str | None]:
    key = comparable(value)
    if key in ("", "offen"):
        return None, None
    if key in DECISIONS:
        return key, None
    if key == "angenommen (nachgerueckt)":
        return ACCEPTED, None
    return None, f"Unbekannte Entscheidung „{_text(value)}“; erlaubt sind {_ALLOWED}."


def _rank(value: Any) -> tuple[int | None, str | None]:
    if not _text(value):
        return None, f"Für die Warteliste fehlt der Rang (Spalte „{RANK}“: 1, 2, …)."
    number = _whole_number(value)
    if number is None or number < 1:
        return None, f"Der Rang „{_text(value)}“ ist keine ganze Zahl ab 1; bitte 1, 2, … " \
                     "eintragen."
    return number, None


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, float):
        try:
            value = float(_text(value).replace(",", "."))  # "2", "2.0", "2,0"
        except ValueError:
            return None
    return int(value) if value.is_integer() else None


def _reason(value: Any) -> tuple[str | None, str | None]:
    key = comparable(value).rstrip(".")
    allowed = ", ".join(REJECTION_REASONS)
    if not key:
        return None, f"Für die Absage fehlt der Grund (Spalte „{REASON}“): {allowed}."
    for category, label in REJECTION_REASONS.items():
        if key in (category, comparable(label).rstrip(".")):
            return category, None
    return None, f"Unbekannter Grund der Absage „{_text(value)}“; erlaubt sind: {allowed}."


def _text(value: Any) -> str:
    """A cell as one line of text: None is empty, 3.0 is "3", spaces collapsed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.isoformat(sep=" ")
    return " ".join(unicodedata.normalize("NFC", str(value)).split())


def comparable(value: Any) -> str:
    """A text to compare: case, spaces and umlauts (ae, oe, ue, ss) do not matter."""
    text = _text(value).casefold()
    return text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
