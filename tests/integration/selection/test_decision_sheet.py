"""The decision sheet over the real register: ``export_register`` writes it, staff edit it
(openpyxl, as Excel would save it, and once through LibreOffice Calc), ``read_decision_sheet``
and ``import_decisions`` take it back, all or nothing."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.styles import PatternFill
from sqlalchemy import func, select

from ews.core.errors import DecisionSheetError
from ews.register import cases as register
from ews.register.database import migrate, session_factory
from ews.register.schema import ApplicationRow, EventRow
from ews.runtime.settings import AzSettings, Settings
from ews.selection import decisions as selection
from ews.selection.decision_sheet import (
    AZ,
    DECISION,
    HEADER_ROW,
    HEADERS,
    KOMMUNE,
    OVERRIDE,
    RANK,
    REASON,
    SHEET,
    STATE,
    read_decision_sheet,
)
from ews.selection.export_xlsx import export_register, write_register
from ews.selection.sheet_import import ImportReport, import_decisions
from tests.conftest import make_settings

NOW = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def office(tmp_path: Path) -> tuple[Settings, list[str]]:
    """Seven current applications (azs[1] … azs[7], azs[6] late; azs[0] was replaced by
    azs[7]), built as in test_selection (without importing the CLI it imports)."""
    settings = make_settings(tmp_path)
    migrate(settings.db_url)
    azs = []
    with session_factory(settings.db_url).begin() as session:
        for n in range(8):
            item = register.open_input(session, claim_path=f"/c/{n}", source_name=f"{n}.pdf",
                                       sha256=f"{n:064d}", size=1,
                                       received_at=NOW - timedelta(days=20))
            session.flush()
            az, serial = register.issue_az(session, 2027, AzSettings())
            application, _ = register.add_application(session, ApplicationRow(
                az=az, az_year=2027, az_serial=serial, round_name="EWS 6",
                ags=f"0597{n % 7:04d}", kommune_name=f"Gemeinde {n}",
                status="late" if n == 6 else "registered",
                received_at=NOW - timedelta(days=20, minutes=-n),
                deadline_last_day="2027-03-01", fields={}, input_id=item.id))
            azs.append(application.az)
    return settings, azs


def decide(settings: Settings, az: str, decision: str, **options: Any) -> None:
    with session_factory(settings.db_url).begin() as session:
        selection.decide(session, az, decision, seats=17, actor="frau.meier", now=NOW,
                         **options)


def overview(settings: Settings) -> dict[str, dict[str, object]]:
    with session_factory(settings.db_url).begin() as session:
        return {str(r["az"]): r for r in selection.round_overview(session, "EWS 6")}


def export(settings: Settings, folder: Path) -> Path:
    return export_register(settings, folder / "register.xlsx")


def edit(path: Path, changes: dict[str, dict[str, Any]]) -> None:
    """Change cells by Az. and header, as staff would in Excel."""
    book = load_workbook(path)
    sheet = book[SHEET]
    column = {cell.value: cell.column for cell in sheet[HEADER_ROW]}
    for row in range(HEADER_ROW + 1, sheet.max_row + 1):
        for header, value in changes.get(sheet.cell(row, column[AZ]).value, {}).items():
            sheet.cell(row, column[header]).value = value
    book.save(path)


def row_of(path: Path, az: str) -> int:
    sheet = load_workbook(path)[SHEET]
    return next(row for row in range(1, sheet.max_row + 1) if sheet.cell(row, 1).value == az)


def take_over(settings: Settings, path: Path, *, seats: int = 17) -> ImportReport:
    with session_factory(settings.db_url).begin() as session:
        return import_decisions(session, read_decision_sheet(path, round_name="EWS 6"),
                                round_name="EWS 6", seats=seats, actor="frau.meier", now=NOW)


def decision_events(settings: Settings) -> int:
    with session_factory(settings.db_url).begin() as session:
        return session.scalar(select(func.count()).select_from(EventRow)
                              .where(EventRow.action == "entscheidung")) or 0


def refused(settings: Settings, path: Path, *, seats: int = 17) -> list[str]:
    """The problems of a refused sheet, after checking that nothing changed."""
    before, events = overview(settings), decision_events(settings)
    with pytest.raises(DecisionSheetError) as caught:
        take_over(settings, path, seats=seats)
    assert overview(settings) == before and decision_events(settings) == events
    assert "im Register ist nichts geändert" in str(caught.value)
    return caught.value.problems


def test_the_sheet_comes_first_with_dropdowns_and_the_round(
        office: tuple[Settings, list[str]], tmp_path: Path) -> None:
    settings, azs = office
    decide(settings, azs[6], "angenommen", override="=1+1 Poststreik")
    book = load_workbook(export(settings, tmp_path))
    assert book.sheetnames == [SHEET, "Bewerbungen", "Eingangsjournal", "Schriftverkehr"]
    assert book.active.title == SHEET
    sheet = book[SHEET]
    assert (sheet["A1"].value, sheet["B1"].value) == ("Runde", "EWS 6")
    assert "ews auswahl import" in sheet["A2"].value and "A2:J2" in sheet.merged_cells
    assert [cell.value for cell in sheet[HEADER_ROW]] == list(HEADERS)
    assert sheet.freeze_panes == "A4" and sheet.auto_filter.ref == "A3:K10"
    assert sheet.column_dimensions["K"].hidden
    lines = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=4)]
    assert [line[0] for line in lines] == azs[1:]
    late = lines[5]
    assert late[1:7] == ["Gemeinde 6", "verspätet", "angenommen", None, None, "=1+1 Poststreik"]
    assert sheet["G9"].data_type == "s" and sheet["G9"].quotePrefix
    assert late[8] == "frau.meier" and late[10] == overview(settings)[azs[6]]["am"]
    assert lines[0][2:4] == ["fristgerecht", None]
    validations = {str(v.sqref): v for v in sheet.data_validations.dataValidation}
    assert validations["D4:D10"].formula1 == '"angenommen,warteliste,abgelehnt,zurueckgezogen"'
    assert validations["F4:F10"].formula1 == ('"plaetze,kriterien,verspaetet,unvollstaendig,'
                                              'sonstiges"')
    assert validations["E4:E10"].type == "whole" and validations["E4:E10"].formula1 == "1"
    assert "Warteliste" in sheet["E3"].comment.text
    assert "kriterien: Die Teilnahmevoraussetzungen" in sheet["F3"].comment.text


def test_staff_decisions_are_taken_over_and_logged(office: tuple[Settings, list[str]],
                                                   tmp_path: Path) -> None:
    settings, azs = office
    decide(settings, azs[1], "angenommen")
    decide(settings, azs[2], "warteliste", rank=1)
    path = export(settings, tmp_path)
    edit(path, {
        azs[3]: {DECISION: " Angenommen "},
        azs[4]: {DECISION: "WARTELISTE", RANK: 2.0},
        azs[5]: {DECISION: "Abgelehnt",
                 REASON: "Die Teilnahmevoraussetzungen sind nicht erfüllt."},
        azs[6]: {DECISION: "angenommen", OVERRIDE: "Poststreik, Nachweis liegt vor"},
        azs[7]: {DECISION: "abgelehnt", REASON: " Plätze", RANK: 4},
    })
    # staff sort the rows, add a column of notes, leave formatted empty rows below
    book = load_workbook(path)
    sheet = book[SHEET]
    lines = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=4)]
    for row, line in enumerate(reversed(lines), start=4):
        for column, value in enumerate(line, start=1):
            sheet.cell(row, column).value = value
    sheet.cell(3, 12).value = "Notiz"
    sheet.cell(5, 12).value = "Rückruf Montag"
    sheet.cell(20, 4).fill = PatternFill("solid", fgColor="FFFF0000")
    book.save(path)
    events = decision_events(settings)

    report = take_over(settings, path)

    assert (report.applied, report.unchanged) == (5, 2)
    assert {change.az: change.after for change in report.changes} == {
        azs[3]: "angenommen", azs[4]: "warteliste (Rang 2)", azs[5]: "abgelehnt (kriterien)",
        azs[6]: "angenommen", azs[7]: "abgelehnt (plaetze)"}
    state = overview(settings)
    assert state[azs[6]]["ausnahme"] == "Poststreik, Nachweis liegt vor"
    assert state[azs[7]]["rang"] is None and state[azs[2]]["rang"] == 1
    assert state[azs[5]]["von"] == "frau.meier"
    assert decision_events(settings) == events + 5
    # the same sheet again changes nothing, the newer decisions are no conflict
    again = take_over(settings, path)
    assert (again.applied, again.unchanged, again.changes) == (0, 7, [])


def test_three_staff_mistakes_in_one_sheet_change_nothing(
        office: tuple[Settings, list[str]], tmp_path: Path) -> None:
    settings, azs = office
    path = export(settings, tmp_path)
    mistyped = azs[3].replace("/2027", "/2072")
    edit(path, {azs[2]: {DECISION: "abgelehnt", REASON: "plaetze"},
                azs[3]: {AZ: mistyped, DECISION: "angenommen"},
                azs[4]: {DECISION: "vielleicht"}})
    book = load_workbook(path)
    book[SHEET].delete_rows(row_of(path, azs[5]))
    book.save(path)

    problems = refused(settings, path)

    assert problems == [
        f"Zeile 6 ({mistyped}): Das Aktenzeichen gibt es unter den Bewerbungen der Runde "
        f"EWS 6 nicht. Wurde es verändert? Gemeint ist wohl {azs[3]} (Gemeinde 3), das in "
        "der Tabelle fehlt; bitte das Aktenzeichen wiederherstellen.",
        f"Zeile 7 ({azs[4]}): Unbekannte Entscheidung „vielleicht“; erlaubt sind angenommen, "
        "warteliste, abgelehnt, zurueckgezogen oder leer (offen).",
        f"{azs[5]} (Gemeinde 5) fehlt in der Tabelle; bitte keine Zeilen löschen (ist die "
        "Bewerbung erst nach dem Export eingegangen, bitte neu exportieren).",
    ]


def test_every_problem_names_its_row(office: tuple[Settings, list[str]],
                                     tmp_path: Path) -> None:
    settings, azs = office
    decide(settings, azs[1], "angenommen")
    path = export(settings, tmp_path)
    decide(settings, azs[2], "warteliste", rank=1)  # after the export, e.g. with ews decide
    edit(path, {azs[1]: {DECISION: None},
                azs[2]: {DECISION: "abgelehnt", REASON: "plaetze"},
                azs[3]: {DECISION: "warteliste"},
                azs[4]: {DECISION: "warteliste", RANK: "zwei"},
                azs[5]: {DECISION: "abgelehnt"},
                azs[6]: {DECISION: "abgelehnt", REASON: "zu spät"},
                azs[7]: {KOMMUNE: "Gemeinde 1", DECISION: "angenommen"}})
    book = load_workbook(path)
    book[SHEET].append([azs[1], "Gemeinde 1", None, "angenommen"])
    book[SHEET].append([None, "gemeinde  7", None, "abgelehnt", None, "sonstiges"])
    book.save(path)

    problems = refused(settings, path)

    expected = [
        f"Zeile 4 ({azs[1]}): Die Entscheidung wurde geleert, im Register steht „angenommen“",
        f"Zeile 5 ({azs[2]}): Im Register wurde nach dem Export anders entschieden (jetzt: "
        "warteliste (Rang 1), von frau.meier)",
        f"Zeile 6 ({azs[3]}): Für die Warteliste fehlt der Rang",
        f"Zeile 7 ({azs[4]}): Der Rang „zwei“ ist keine ganze Zahl ab 1",
        f"Zeile 8 ({azs[5]}): Für die Absage fehlt der Grund (Spalte „Grund der Absage“): "
        "plaetze, kriterien, verspaetet, unvollstaendig, sonstiges.",
        f"Zeile 9 ({azs[6]}): Unbekannter Grund der Absage „zu spät“",
        f"Zeile 10 ({azs[7]}): Zu diesem Aktenzeichen gehört „Gemeinde 7“, in der Zeile steht "
        "„Gemeinde 1“.",
        f"Zeile 11 ({azs[1]}): Das Aktenzeichen steht schon in Zeile 4",
        "Zeile 12: Das Aktenzeichen fehlt; bitte Aktenzeichen nicht löschen.",
    ]
    assert len(problems) == len(expected)
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start), problem


def test_more_acceptances_than_seats_roll_back_the_whole_sheet(
        office: tuple[Settings, list[str]], tmp_path: Path) -> None:
    settings, azs = office
    decide(settings, azs[1], "angenommen")
    decide(settings, azs[2], "angenommen")
    path = export(settings, tmp_path)
    edit(path, {azs[3]: {DECISION: "angenommen"}, azs[4]: {DECISION: "angenommen"},
                azs[5]: {DECISION: "abgelehnt", REASON: "kriterien"},
                azs[6]: {DECISION: "warteliste", RANK: 1}})

    problems = refused(settings, path, seats=3)

    assert problems == [
        f"Zeile 7 ({azs[4]}): Alle 3 Plätze der Runde EWS 6 sind vergeben; {azs[4]} "
        "(Gemeinde 4) kann nur auf die Warteliste.",
        f"Zeile 9 ({azs[6]}): {azs[6]} (Gemeinde 6) ist verspätet eingegangen; annehmen oder "
        "auf die Warteliste setzen nur mit einer Ausnahme und deren Begründung (Spalte "
        "„Begründung Ausnahme“)."]


def test_a_withdrawal_moves_up_the_waiting_list(office: tuple[Settings, list[str]],
                                                tmp_path: Path) -> None:
    settings, azs = office
    decide(settings, azs[1], "angenommen")
    decide(settings, azs[2], "angenommen")
    decide(settings, azs[3], "warteliste", rank=1)
    decide(settings, azs[4], "warteliste", rank=2)
    path = export(settings, tmp_path)
    # the withdrawal, and the one moving up also set by hand: no error, applied after
    edit(path, {azs[1]: {DECISION: "Zurückgezogen"}, azs[3]: {DECISION: "angenommen"}})

    report = take_over(settings, path, seats=2)

    assert [(c.az, c.after, c.moved_up) for c in report.changes] == [
        (azs[1], "zurueckgezogen", False), (azs[3], "angenommen (nachgerückt)", True)]
    assert (report.applied, report.unchanged) == (1, 6)
    state = overview(settings)
    assert state[azs[3]]["entscheidung"] == "angenommen" and state[azs[3]]["nachgerueckt"]
    assert (state[azs[4]]["entscheidung"], state[azs[4]]["rang"]) == ("warteliste", 2)


@pytest.mark.libreoffice
def test_a_sheet_saved_by_libreoffice_calc_is_taken_over(
        office: tuple[Settings, list[str]], tmp_path: Path) -> None:
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not on PATH; the Calc round trip needs it")
    settings, azs = office
    decide(settings, azs[1], "angenommen")
    path = export(settings, tmp_path)
    edit(path, {azs[3]: {DECISION: "Warteliste", RANK: 1},
                azs[4]: {DECISION: "abgelehnt", REASON: "Unvollständig"},
                azs[6]: {DECISION: "warteliste", RANK: "2", OVERRIDE: "Poststreik"}})
    calc = tmp_path / "calc"
    done = subprocess.run([soffice, f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
                           "--headless", "--norestore", "--convert-to",
                           "xlsx:Calc MS Excel 2007 XML", "--outdir", str(calc), str(path)],
                          capture_output=True, text=True, timeout=180)
    saved = calc / "register.xlsx"
    if not saved.is_file():
        pytest.fail("LibreOffice did not convert the workbook; is Calc installed (Debian "
                    f"package libreoffice-calc-nogui)? {done.stderr.strip()}", pytrace=False)
    with zipfile.ZipFile(saved) as archive:
        assert b"LibreOffice" in archive.read("docProps/app.xml")
    sheet = load_workbook(saved)[SHEET]
    assert sheet["B1"].value == "EWS 6" and sheet.column_dimensions["K"].hidden
    assert len(sheet.data_validations.dataValidation) == 3

    report = take_over(settings, saved)

    assert (report.applied, report.unchanged) == (3, 4)
    state = overview(settings)
    assert (state[azs[3]]["entscheidung"], state[azs[3]]["rang"]) == ("warteliste", 1)
    assert state[azs[4]]["grund"] == "unvollstaendig"
    assert (state[azs[6]]["rang"], state[azs[6]]["ausnahme"]) == (2, "Poststreik")


def test_files_that_are_no_decision_sheet_of_the_round_are_refused(
        office: tuple[Settings, list[str]], tmp_path: Path) -> None:
    settings, _ = office
    with session_factory(settings.db_url).begin() as session:
        records = selection.round_overview(session, "EWS 6")
    other_round = write_register(tmp_path / "alt.xlsx", [], [], round_name="EWS 5",
                                 decisions=records)
    without_sheet = write_register(tmp_path / "ohne.xlsx", [], [], round_name="EWS 6")
    not_xlsx = tmp_path / "register.xlsx"
    not_xlsx.write_text("Aktenzeichen;Entscheidung\n", encoding="utf-8")
    for path, problem in (
            (not_xlsx, "Die Datei register.xlsx ist keine Excel-Arbeitsmappe (.xlsx)."),
            (other_round, "Die Tabelle gehört zur Runde „EWS 5“, eingelesen wird aber in die "
                          "Runde „EWS 6“."),
            (without_sheet, "Die Datei enthält kein Tabellenblatt „Entscheidungen“ (nur: "
                            "Bewerbungen, Eingangsjournal, Schriftverkehr)."),
            (tmp_path / "fehlt.xlsx", f"Die Datei {tmp_path / 'fehlt.xlsx'} gibt es nicht.")):
        with pytest.raises(DecisionSheetError) as caught:
            read_decision_sheet(path, round_name="EWS 6")
        assert caught.value.problems[0].startswith(problem), caught.value.problems


def test_the_reader_finds_the_table_below_inserted_rows_without_the_state_column(
        office: tuple[Settings, list[str]], tmp_path: Path) -> None:
    settings, azs = office
    path = export(settings, tmp_path)
    book = load_workbook(path)
    sheet = book[SHEET]
    sheet.delete_cols(HEADERS.index(STATE) + 1)
    sheet.insert_rows(1, 2)
    sheet["A1"] = "Sitzung am Montag"
    book.save(path)

    rows = read_decision_sheet(path, round_name="EWS 6")

    assert [(row.row, row.az, row.state) for row in rows][:2] == [(6, azs[1], None),
                                                                   (7, azs[2], None)]
    assert len(rows) == 7
