"""``ews betrieb loeschen`` and ``ews datenschutz …`` as the office types them: German
output, a Probelauf that changes nothing, holds, the log as JSON lines."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import cli_env
from tests.integration.retention.conftest import EMAIL, TwoRounds, person_elsewhere


def run(two: TwoRounds, *args: str) -> tuple[int, str]:
    env = cli_env(two.settings) | {"EWS_RETENTION_FILE": str(two.settings.retention_file)}
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_holds_the_run_and_the_log_from_the_command_line(two_rounds: TwoRounds) -> None:
    az = two_rounds.azs["absage5"]
    code, out = run(two_rounds, "datenschutz", "sperre", az, "--grund", "Anfrage LDI")
    assert code == 0 and "gesperrt" in out
    code, out = run(two_rounds, "datenschutz", "sperre", az, "--grund", "noch einmal")
    assert code == 1 and "schon seit" in out
    code, out = run(two_rounds, "betrieb", "loeschen", "--probelauf", "--ohne-prefect")
    assert code == 0 and f"bleibt: {az} – gesperrt: Anfrage LDI" in out
    assert "Probelauf, nichts geändert" in out
    code, out = run(two_rounds, "datenschutz", "sperre-aufheben", az, "--grund", "erledigt")
    assert code == 0 and "aufgehoben" in out

    code, out = run(two_rounds, "datenschutz", "protokoll", "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(line["art"], line["az"]) for line in lines] == [("sperre", az),
                                                              ("sperre-aufgehoben", az)]


def test_erasure_from_the_command_line_shows_what_stays(two_rounds: TwoRounds) -> None:
    person_elsewhere(two_rounds.settings, two_rounds.azs["absage5"], two_rounds.start)
    code, out = run(two_rounds, "datenschutz", "loeschen", EMAIL, "--grund", "Antrag",
                    "--probelauf")
    assert code == 0
    assert "würde gelöscht: E-Mail" in out and "bleibt: Bewerbung" in out
    assert "Monate nach dem Bescheid" in out
