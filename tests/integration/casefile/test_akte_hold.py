"""``ews akte AZ --sperre`` / ``--sperre-aufheben``: the legal hold set from the case file, with
the case's Az. however it was typed, logged, and refused twice or without a reason."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ews.intake import passes as intake
from ews.register.database import transaction
from ews.register.retention import held_azs
from ews.register.schema import EventRow
from flows.cli import app
from tests.conftest import cli_env, make_settings
from tests.support import pdfgen


def test_a_case_is_held_and_released_from_its_akte(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "ablage", letters={"pdf": False})
    (settings.inbox_dir / "bewerbung.pdf").write_bytes(pdfgen.filled_form())
    [result] = intake.run_pass(settings)
    assert result.az
    typed = result.az.replace("-", " – ")  # as staff type it: spaces and an en dash

    def akte(*args: str) -> tuple[int, str]:
        outcome = CliRunner().invoke(app, ["akte", typed, *args],
                                     env={**cli_env(settings), "COLUMNS": "250"})
        return outcome.exit_code, outcome.output

    code, output = akte("--sperre", "Klage anhängig")
    assert code == 0 and "ist gesperrt" in output
    with transaction(settings.db_url) as session:
        assert held_azs(session) == {result.az}
    code, output = akte("--sperre", "noch einmal")
    assert code == 1 and "schon seit" in output
    code, output = akte("--sperre-aufheben", " ")
    assert code == 1 and "Grund" in output
    code, output = akte("--sperre-aufheben", "Verfahren beendet")
    assert code == 0 and "aufgehoben" in output
    with transaction(settings.db_url) as session:
        assert held_azs(session) == set()
        actions = [event.action for event in session.query(EventRow).filter_by(
            subject=result.az).order_by(EventRow.id)]
    assert actions[-2:] == ["sperre", "sperre-aufgehoben"]
