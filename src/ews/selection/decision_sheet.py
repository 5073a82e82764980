"""The decision sheet: staff decide in Excel or LibreOffice Calc, the register takes it back
(I/O: one workbook read; the database only through ``ews.selection.decisions``).

``ews export`` writes the sheet „Entscheidungen“ (``ews.selection.export_xlsx``); its layout is
defined
here, beside the reader, so both sides agree::

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

``import_decisions`` is all or nothing. It first collects every problem of the sheet (each a
German sentence naming the row as Excel numbers it and the Aktenzeichen) and refuses the sheet
with one ``DecisionSheetError`` if there is any. Only then it applies the rows that differ from
the register, through ``selection.decide``, in a safe order: rejections, withdrawals (freeing
seats; a withdrawal moves up the first of the waiting list), waiting list, acceptances. A row
is compared with the register again right before it is applied, so a row that a move-up
already settled is no error. Any rule error (``SelectionError``) is collected with its row and
raised as ``DecisionSheetError`` too; the caller's transaction must then roll back (a
``with factory.begin()`` block does), so nothing is half-applied.

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

import difflib
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy.orm import Session

from ews.core.errors import DecisionSheetError, SelectionError
from ews.selection import decisions as selection
from ews.selection.decisions import (
    ACCEPTED,
    REJECTED,
    REJECTION_REASONS,
    WAITING,
    WITHDRAWN,
    Change,
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
    "„ews import <Datei>“ einlesen. Übernommen werden die geänderten Zeilen, und nur, wenn die "
    "ganze Tabelle stimmt. Keine Zeilen löschen, Aktenzeichen und Kommune nicht ändern; eine "
    "Entscheidung lässt sich ändern, aber nicht leeren. Wer nach einem Rückzug nachrücken "
    "soll, direkt auf „angenommen“ setzen (sonst rückt Rang 1 der Warteliste nach).")

_REQUIRED = (AZ, KOMMUNE, DECISION, RANK, REASON, OVERRIDE)
_HEADER_SEARCH = 30  # rows to look for the header in
_ALLOWED = "angenommen, warteliste, abgelehnt, zurueckgezogen oder leer (offen)"
_APPLY_ORDER: dict[str, int] = {REJECTED: 0, WITHDRAWN: 1, WAITING: 2, ACCEPTED: 3}
#: the CLI's words in selection's messages, said in the sheet's words
#: how the sheet names the inputs of a refused decision
_SHEET_FIELDS = {"ausnahme": f"Spalte „{OVERRIDE}“", "rang": f"Spalte „{RANK}“",
                 "grund": f"Spalte „{REASON}“"}


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


@dataclass(frozen=True)
class ImportReport:
    changes: list[Change]  # every change recorded, move-ups included
    applied: int  # rows whose decision was recorded
    unchanged: int  # rows equal to the register (also those a move-up had already settled)


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
        if _key(name) == _key(SHEET):
            return name
    raise DecisionSheetError([
        f"Die Datei enthält kein Tabellenblatt „{SHEET}“ (nur: {', '.join(names)}). Bitte die "
        "Datei aus „ews export“ verwenden und das Blatt nicht umbenennen."])


def _header_index(lines: list[tuple[Any, ...]]) -> int:
    for index, line in enumerate(lines[:_HEADER_SEARCH]):
        keys = {_key(value) for value in line}
        if _key(AZ) in keys and _key(DECISION) in keys:
            return index
    raise DecisionSheetError([f"Im Blatt „{SHEET}“ fehlt die Kopfzeile mit „{AZ}“ und "
                              f"„{DECISION}“; bitte die Datei neu mit „ews export“ erzeugen."])


def _check_round(lines: list[tuple[Any, ...]], round_name: str) -> None:
    for line in lines:
        filled = [value for value in line if _text(value)]
        for label, value in zip(filled, filled[1:], strict=False):
            if _key(label).rstrip(":") != _key(ROUND_LABEL):
                continue
            if _key(value) == _key(round_name):
                return
            raise DecisionSheetError([
                f"Die Tabelle gehört zur Runde „{_text(value)}“, eingelesen wird aber in die "
                f"Runde „{round_name}“. Bitte die Tabelle der laufenden Runde verwenden "
                "(„ews export“)."])
    raise DecisionSheetError([f"Über der Kopfzeile steht keine Runde („{ROUND_LABEL}“); bitte "
                              "die Tabelle neu mit „ews export“ erzeugen."])


_COLUMN_KEYS = {"az": AZ, "rang": RANK, "grund": REASON, "ausnahme": OVERRIDE, "stand": STATE}


def _columns(header: tuple[Any, ...]) -> dict[str, int]:
    known = {**{_key(name): name for name in HEADERS}, **_COLUMN_KEYS}
    columns: dict[str, int] = {}
    for index, value in enumerate(header):
        name = known.get(_key(value))
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
    key = _key(value)
    if key in ("", "offen"):
        return None, None
    if key in selection.DECISIONS:
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
    key = _key(value).rstrip(".")
    allowed = ", ".join(REJECTION_REASONS)
    if not key:
        return None, f"Für die Absage fehlt der Grund (Spalte „{REASON}“): {allowed}."
    for category, label in REJECTION_REASONS.items():
        if key in (category, _key(label).rstrip(".")):
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


def _key(value: Any) -> str:
    """A text to compare: case, spaces and umlauts (ae, oe, ue, ss) do not matter."""
    text = _text(value).casefold()
    return text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")


# -- importing -------------------------------------------------------------------------------

def import_decisions(session: Session, rows: Sequence[SheetRow], *, round_name: str, seats: int,
                     actor: str, now: datetime) -> ImportReport:
    """Apply the rows that differ from the register, in the caller's transaction. Raises
    ``DecisionSheetError`` with every problem (nothing applied) or with every rule error
    (the caller's transaction must roll back)."""
    register = {str(r["az"]): r for r in selection.round_overview(session, round_name)}
    problems = sheet_problems(rows, register, round_name=round_name)
    if problems:
        raise DecisionSheetError(problems)
    pending = sorted((row for row in rows if not _same(row, register[row.az])),
                     key=lambda row: (_APPLY_ORDER[row.decision or ACCEPTED], row.row))
    changes: list[Change] = []
    failures: list[tuple[int, str]] = []
    settled = 0
    for row in pending:
        assert row.decision is not None  # an emptied decision is a problem above
        if _same(row, register[row.az]):
            settled += 1  # a move-up did it already
            continue
        try:
            made = selection.decide(session, row.az, row.decision, seats=seats, actor=actor,
                                    now=now, rank=row.rank, reason=row.reason,
                                    override=row.override)
            changes += made
            if any(change.moved_up for change in made):  # another row changed too
                register = {str(r["az"]): r for r in selection.round_overview(session,
                                                                              round_name)}
        except SelectionError as exc:
            failures.append((row.row, f"Zeile {row.row} ({row.az}): "
                                      f"{exc.worded(_SHEET_FIELDS)}"))
    if failures:
        raise DecisionSheetError([text for _, text in sorted(failures)]
                                 + _move_up_notes(changes))
    return ImportReport(changes, applied=len(pending) - settled,
                        unchanged=len(rows) - len(pending) + settled)


def sheet_problems(rows: Sequence[SheetRow], register: dict[str, dict[str, Any]], *,
                   round_name: str) -> list[str]:
    """Every problem of the rows against the register's current applications of the round
    (``selection.round_overview`` by Az.), in row order, then the applications missing."""
    rows = sorted(rows, key=lambda row: row.row)
    first_row: dict[str, int] = {}
    for row in rows:
        if row.az:
            first_row.setdefault(row.az, row.row)
    missing = {az: record for az, record in register.items() if az not in first_row}
    problems: list[str] = []
    for row in rows:
        problems += row.problems
        problems += _row_problems(row, register, missing, first_row, round_name)
    return problems + [
        f"{az} ({record['kommune_name']}) fehlt in der Tabelle; bitte keine Zeilen löschen "
        "(ist die Bewerbung erst nach dem Export eingegangen, bitte neu exportieren)."
        for az, record in missing.items()]


def _row_problems(row: SheetRow, register: dict[str, dict[str, Any]],
                  missing: dict[str, dict[str, Any]], first_row: dict[str, int],
                  round_name: str) -> list[str]:
    """The problems of one row against the register; an unknown or empty Az. takes the missing
    application it most likely was out of ``missing``."""
    where = f"Zeile {row.row} ({row.az})"
    if row.az and first_row[row.az] != row.row:
        return [f"{where}: Das Aktenzeichen steht schon in Zeile {first_row[row.az]}; jede "
                "Bewerbung darf nur einmal vorkommen."]
    record = register.get(row.az)
    if record is None:
        return _unknown_az(row, register, missing, round_name)
    if row.kommune and _key(row.kommune) != _key(record["kommune_name"]):
        return [f"{where}: Zu diesem Aktenzeichen gehört „{record['kommune_name']}“, in der "
                f"Zeile steht „{row.kommune}“. Wurde die Zeile überschrieben? Bitte "
                "Aktenzeichen und Kommune nicht ändern."]
    if row.state is not None and row.state != (record["am"] or "") and not _same(row, record):
        return [f"{where}: Im Register wurde nach dem Export anders entschieden (jetzt: "
                f"{_describe(record)}, von {record['von']}); die Zeile ist veraltet. Bitte neu "
                "exportieren und die Entscheidung dort eintragen."]
    if row.decision is None and record["entscheidung"] and not row.problems:
        return [f"{where}: Die Entscheidung wurde geleert, im Register steht "
                f"„{_describe(record)}“. Eine Entscheidung lässt sich nicht zurücknehmen, nur "
                "ändern; bitte den Wert wieder eintragen oder eine andere Entscheidung wählen."]
    return []


def _unknown_az(row: SheetRow, register: dict[str, dict[str, Any]],
                missing: dict[str, dict[str, Any]], round_name: str) -> list[str]:
    """A row whose Az. is not in the register or empty (the reader said so already)."""
    meant = [az for az, record in missing.items()
             if row.kommune and _key(record["kommune_name"]) == _key(row.kommune)]
    if not meant and row.az:
        meant = difflib.get_close_matches(row.az, list(missing), n=1, cutoff=0.6)
    was = f"{meant[0]} ({missing.pop(meant[0])['kommune_name']})" if meant else ""
    if not row.az:
        return [f"Zeile {row.row}: Gemeint ist wohl {was}, das in der Tabelle fehlt; bitte das "
                "Aktenzeichen wieder eintragen."] if was else []
    unknown = (f"Zeile {row.row} ({row.az}): Das Aktenzeichen gibt es unter den Bewerbungen "
               f"der Runde {round_name} nicht.")
    if was:
        return [f"{unknown} Wurde es verändert? Gemeint ist wohl {was}, das in der Tabelle "
                "fehlt; bitte das Aktenzeichen wiederherstellen."]
    close = difflib.get_close_matches(row.az, list(register), n=1, cutoff=0.6)
    if close:
        return [f"{unknown} Ähnlich ist {close[0]} ({register[close[0]]['kommune_name']})."]
    return [unknown]


def _same(row: SheetRow, record: dict[str, Any]) -> bool:
    """Whether the row says what the register holds (rank and reason only where they count)."""
    if row.decision != record["entscheidung"]:
        return False
    if row.decision is None:
        return True
    if row.decision == WAITING and row.rank != record["rang"]:
        return False
    if row.decision == REJECTED and row.reason != record["grund"]:
        return False
    return (row.override or None) == (record["ausnahme"] or None)


def _describe(record: dict[str, Any]) -> str:
    return selection.describe(record["entscheidung"], rank=record["rang"],
                              reason=record["grund"], moved_up=bool(record["nachgerueckt"]))


def _move_up_notes(changes: list[Change]) -> list[str]:
    return [f"Hinweis: {change.az} ({change.kommune}) ist dabei nach einem Rückzug von der "
            "Warteliste nachgerückt und belegt einen Platz; wer nachrücken soll, bitte selbst "
            "auf „angenommen“ setzen." for change in changes if change.moved_up]
