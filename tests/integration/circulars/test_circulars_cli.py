"""``ews rundschreiben …`` as staff use it: a new draft, a check that names its mistakes,
the issue, the archive, the ledger, a withdrawal and the plan of scheduled mailings."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ews.intake import passes as intake
from ews.runtime.settings import Settings
from flows.cli import app
from tests.conftest import cli_env
from tests.integration.circulars.test_circulars import add_members

runner = CliRunner()
CONTACTS = ("Schlüssel;Kommune;Anrede;Name;Funktion;E-Mail\n"
            "5111000;Stadt Düsseldorf;Frau;Dr. Ute Beispiel;Oberbürgermeisterin;"
            "ob@duesseldorf.example\n")
PLAN = """
[[versand]]
name = "monatsinfo"
entwurf = "monatsinfo"
zeitplan = "0 9 1-7 * 2"
"""


def ews(settings: Settings, *args: str, code: int = 0) -> str:
    env = {**cli_env(settings),
           "EWS_RUNDSCHREIBEN__CONTACTS_FILE": str(settings.data_dir / "kontakte.csv"),
           "EWS_RUNDSCHREIBEN__PLAN_FILE": str(settings.data_dir / "versandplan.toml")}
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result.output


def flat(output: str) -> str:
    """The output as one line (the console wraps at its width)."""
    return " ".join(output.split())


@pytest.fixture
def office(settings: Settings) -> Settings:
    intake.prepare(settings)
    add_members(settings, 3, without=(0,))
    (settings.data_dir / "kontakte.csv").write_text(CONTACTS, encoding="cp1252")
    (settings.data_dir / "versandplan.toml").write_text(PLAN, encoding="utf-8")
    return settings


def test_staff_write_check_issue_list_show_and_withdraw(office: Settings) -> None:
    output = ews(office, "rundschreiben", "neu", "Einladung zum Netzwerktreffen")
    assert "einladung-zum-netzwerktreffen" in output
    draft = office.drafts_dir / "einladung-zum-netzwerktreffen" / "rundschreiben.md"
    text = draft.read_text(encoding="utf-8")
    draft.write_text(text.replace("Hier steht", "{{ kommun }} Hier steht"), encoding="utf-8")
    output = ews(office, "rundschreiben", "pruefen", "einladung-zum-netzwerktreffen", code=1)
    assert "unbekannter Platzhalter „{{ kommun }}“" in flat(output)

    draft.write_text(text, encoding="utf-8")
    output = ews(office, "rundschreiben", "pruefen", "einladung-zum-netzwerktreffen")
    assert "3 Empfänger, davon 0 ohne E-Mail-Adresse" in flat(output)  # contact file fills in
    assert "ob@duesseldorf.example" in output

    output = ews(office, "rundschreiben", "ausgeben", "einladung-zum-netzwerktreffen",
                 "--nicht-senden")
    assert "ausgegeben" in output
    [record] = [json.loads(line) for line in
                ews(office, "rundschreiben", "list", "--json").splitlines()]
    assert record["nummer"].startswith("1/") and record["versand"] == {"geplant": 3}
    assert record["verteiler_text"] == "Mitglieder des Kommunen-Netzwerks: engagiert in NRW"
    entries = [json.loads(line) for line in
               ews(office, "rundschreiben", "zeigen", record["nummer"], "--json").splitlines()]
    assert {e["quelle"] for e in entries} == {"Netzwerkliste", "Kontaktdatei"}

    output = ews(office, "rundschreiben", "aufheben", record["nummer"], "--grund", "Doppelt")
    assert "aufgehoben; 3 E-Mails" in flat(output)
    assert "Mitteilung" not in ews(office, "rundschreiben", "list")  # a table, no error
    [record] = [json.loads(line) for line in
                ews(office, "rundschreiben", "list", "--json").splitlines()]
    assert (record["status"], record["versand"]) == ("aufgehoben", {"entfallen": 3})
    assert "keine Nummer" in flat(ews(office, "rundschreiben", "zeigen", "zwölf", code=1))


def test_plan_shows_the_next_dates(office: Settings) -> None:
    output = ews(office, "rundschreiben", "zeitplan")
    assert "monatsinfo" in output and "09:00" in output
    (office.data_dir / "versandplan.toml").write_text("[[versand]]\nname = 1\n",
                                                      encoding="utf-8")
    assert "Eintrag 1" in flat(ews(office, "rundschreiben", "zeitplan", code=1))
