"""Taking the decision sheet back into the register: every problem first, then the rows that
differ, in a safe order, all or nothing (I/O: the database through
``ews.selection.decisions``, in the caller's transaction). The sheet's layout, its reader and
the decisions made on purpose are described in ``ews.selection.decision_sheet``.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ews.core.errors import DecisionSheetError, SelectionError
from ews.register.database import Session
from ews.selection import decisions as selection
from ews.selection.decision_sheet import OVERRIDE, RANK, REASON, SheetRow, comparable
from ews.selection.decisions import ACCEPTED, REJECTED, WAITING, WITHDRAWN, Change

_APPLY_ORDER: dict[str, int] = {REJECTED: 0, WITHDRAWN: 1, WAITING: 2, ACCEPTED: 3}
#: how the sheet names the inputs of a refused decision
_SHEET_FIELDS = {"ausnahme": f"Spalte „{OVERRIDE}“", "rang": f"Spalte „{RANK}“",
                 "grund": f"Spalte „{REASON}“"}


@dataclass(frozen=True)
class ImportReport:
    changes: list[Change]  # every change recorded, move-ups included
    applied: int  # rows whose decision was recorded
    unchanged: int  # rows equal to the register (also those a move-up had already settled)


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
    if row.kommune and comparable(row.kommune) != comparable(record["kommune_name"]):
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
             if row.kommune and comparable(record["kommune_name"]) == comparable(row.kommune)]
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
