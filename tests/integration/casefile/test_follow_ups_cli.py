"""``ews wiedervorlagen``: the list (table and JSON), closing with the person, and the German
refusals (unknown number or Az., closed ones, dates in the past or not a date)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from typer.testing import CliRunner

from ews.runtime.settings import Settings
from flows.cli import app
from tests.conftest import cli_env
from tests.integration.casefile.conftest import TEAM, Case, add_case

runner = CliRunner()


def _ews(settings: Settings, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["wiedervorlagen", *args],
                           env={**cli_env(settings), "COLUMNS": "250"})
    return result.exit_code, result.output


def test_the_list_shows_the_open_follow_up(settings: Settings, case: Case) -> None:
    code, output = _ews(settings, "--json")
    assert code == 0, output
    [record] = [json.loads(line) for line in output.splitlines()]
    assert (record["id"], record["aktenzeichen"], record["art"], record["faellig_am"]) == (
        case.follow_up_id, case.az, "freistellung", "2027-04-15")
    code, output = _ews(settings)
    assert code == 0 and case.az in output and "15.04.2027" in output
    assert "Bestätigung der Freistellung" in output and "Stadt Lüdenscheid" in output


def test_closing_names_the_person_and_a_second_close_is_refused(settings: Settings,
                                                                case: Case) -> None:
    number = str(case.follow_up_id)
    code, output = _ews(settings, "erledigen", number, "--notiz",
                        "Freistellung bestätigt (E-Mail vom 20.04.2027)", "--von", "frau.meier")
    assert code == 0 and "erledigt" in output
    code, output = _ews(settings, "erledigen", number, "--notiz", "nochmal")
    assert code == 2 and "bereits erledigt" in output and "frau.meier" in output
    assert _ews(settings, "--json")[1] == ""
    [record] = [json.loads(line) for line in _ews(settings, "--alle", "--json")[1].splitlines()]
    assert (record["status"], record["erledigt_von"], record["erledigt_vermerk"]) == (
        "erledigt", "frau.meier", "Freistellung bestätigt (E-Mail vom 20.04.2027)")


@pytest.mark.parametrize(("args", "message"), [
    (("erledigen", "999", "--notiz", "x"), "Eine Wiedervorlage 999 gibt es nicht"),
    (("verlaengern", "{id}", "--bis", "01.01.2000"), "liegt in der Vergangenheit"),
    (("verlaengern", "{id}", "--bis", "31.02.2027"), "ist kein Datum im Format TT.MM.JJJJ"),
    (("neu", "13.0.70-999/2027", "--bis", "{later}", "--notiz", "x"), "ist nicht vergeben"),
    (("neu", "{az}", "--bis", "01.01.2000", "--notiz", "x"), "liegt in der Vergangenheit"),
])
def test_refusals(settings: Settings, case: Case, args: tuple[str, ...], message: str) -> None:
    later = f"{date.today() + timedelta(days=400):%d.%m.%Y}"
    filled = [arg.format(id=case.follow_up_id, az=case.az, later=later) for arg in args]
    code, output = _ews(settings, *filled)
    assert code == 2 and message in " ".join(output.split()), output


def test_extend_and_add_by_hand(settings: Settings, case: Case) -> None:
    later = date.today() + timedelta(days=30)
    code, output = _ews(settings, "verlaengern", str(case.follow_up_id), "--bis",
                        f"{later:%d.%m.%Y}", "--notiz", "Urlaub")
    assert code == 0 and f"{later:%d.%m.%Y}" in output, output
    code, output = _ews(settings, "neu", case.az, "--bis", f"{later:%d.%m.%Y}", "--notiz",
                        "Teilnehmerliste")
    assert code == 0 and "angelegt" in output, output
    records = [json.loads(line) for line in _ews(settings, "--json")[1].splitlines()]
    assert sorted(r["art"] for r in records) == ["freistellung", "manuell"]
    assert {r["faellig_am"] for r in records} == {later.isoformat()}


def test_erinnern_probelauf_shows_who_would_be_reminded(settings: Settings) -> None:
    case = add_case(settings, due_on=date.today() - timedelta(days=3))
    code, output = _ews(settings, "erinnern", "--probelauf")
    assert code == 0, output
    text = " ".join(output.split())
    assert case.az in text and "würde erinnert" in text and TEAM[0] in text
    assert "nichts wurde eingereiht" in text
