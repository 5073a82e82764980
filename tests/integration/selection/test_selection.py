"""Selection rules over the real register: seats, waiting list, withdrawal and move-up,
overrides for late and replaced applications, the decision log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ews.core.errors import SelectionError
from ews.register import cases as register
from ews.register.database import migrate, session_factory
from ews.register.schema import ApplicationRow, EventRow
from ews.runtime.settings import AzSettings, Settings
from ews.selection import decisions as selection
from flows.cli import app
from tests.conftest import make_settings

NOW = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)


def fill_register(settings: Settings, count: int) -> list[str]:
    """``count`` on-time applications, one late and one replaced one; returns the on-time Azs."""
    migrate(settings.db_url)
    azs = []
    with session_factory(settings.db_url).begin() as session:
        for n in range(count + 2):
            item = register.open_input(session, claim_path=f"/c/{n}", source_name=f"{n}.pdf",
                                       sha256=f"{n:064d}", size=1,
                                       received_at=NOW - timedelta(days=20))
            session.flush()
            az, serial = register.issue_az(session, 2027, AzSettings())
            status = "late" if n == count else "registered"
            ags = f"0597{n:04d}" if n < count + 1 else "05970000"  # the last replaces the 1st
            application, _ = register.add_application(session, ApplicationRow(
                az=az, az_year=2027, az_serial=serial, round_name="EWS 6", ags=ags,
                kommune_name=f"Gemeinde {n}", status=status,
                received_at=NOW - timedelta(days=20, minutes=-n), deadline_last_day="2027-03-01",
                fields={}, input_id=item.id))
            azs.append(application.az)
    return azs


def decide(settings: Settings, az: str, decision: str, **options: object
           ) -> list[selection.Change]:
    with session_factory(settings.db_url).begin() as session:
        return selection.decide(session, az, decision, seats=17, actor="frau.meier", now=NOW,
                                **options)  # type: ignore[arg-type]


def overview(settings: Settings) -> dict[str, dict[str, object]]:
    with session_factory(settings.db_url).begin() as session:
        return {str(r["az"]): r for r in selection.round_overview(session, "EWS 6")}


def test_never_more_accepted_than_seats_and_the_waiting_list_moves_up(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    azs = fill_register(settings, 25)
    on_time = azs[1:25]  # azs[0] was replaced by the last one
    for az in on_time[:17]:
        decide(settings, az, "angenommen")
    with pytest.raises(SelectionError, match="Alle 17 Plätze"):
        decide(settings, on_time[17], "angenommen")
    decide(settings, on_time[18], "warteliste", rank=2)
    decide(settings, on_time[17], "warteliste", rank=1)
    decide(settings, on_time[19], "abgelehnt", reason="plaetze")

    changes = decide(settings, on_time[3], "zurueckgezogen")

    assert [(c.az, c.after, c.moved_up) for c in changes] == [
        (on_time[3], "zurueckgezogen", False), (on_time[17], "angenommen (nachgerückt)", True)]
    state = overview(settings)
    assert sum(1 for r in state.values() if r["entscheidung"] == "angenommen") == 17
    assert state[on_time[18]]["rang"] == 2 and state[on_time[19]]["grund"] == "plaetze"
    with session_factory(settings.db_url).begin() as session:
        log = list(session.scalars(select(EventRow).where(EventRow.action == "entscheidung")))
    assert len(log) == 17 + 3 + 2
    assert log[-1].actor == "frau.meier" and log[-1].detail["vorher"] == "warteliste (Rang 1)"


def test_late_and_replaced_applications_only_with_an_override_that_is_logged(
        tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    azs = fill_register(settings, 3)
    late, replaced = azs[3], azs[0]
    with pytest.raises(SelectionError, match="verspätet eingegangen"):
        decide(settings, late, "angenommen")
    with pytest.raises(SelectionError, match="ersetzt"):
        decide(settings, replaced, "warteliste", rank=1)
    decide(settings, late, "angenommen", override="Poststreik, Nachweis liegt vor")
    assert overview(settings)[late]["ausnahme"] == "Poststreik, Nachweis liegt vor"
    with pytest.raises(SelectionError, match="Begründungsart"):
        decide(settings, azs[1], "abgelehnt")
    with pytest.raises(SelectionError, match="Rang"):
        decide(settings, azs[1], "warteliste")
    with pytest.raises(SelectionError, match="Kein Antrag"):
        decide(settings, "13.0.70-999/2027", "angenommen")


def test_cli_decides_and_refuses_in_german(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    settings = make_settings(tmp_path)
    azs = fill_register(settings, 2)
    for key, value in {"EWS_INBOX_DIR": settings.inbox_dir, "EWS_OUTBOX_DIR":
                       settings.outbox_dir, "EWS_DATA_DIR": settings.data_dir}.items():
        monkeypatch.setenv(key, str(value))
    runner = CliRunner()

    ok = runner.invoke(app, ["decide", azs[1], "warteliste", "--rang", "1", "--von", "Meier"])
    refused = runner.invoke(app, ["decide", azs[2], "angenommen"])
    listing = runner.invoke(app, ["auswahl"])

    assert ok.exit_code == 0 and "offen → warteliste (Rang 1)" in ok.output
    assert refused.exit_code == 2 and "verspätet" in refused.output
    assert "(--ausnahme)" in " ".join(refused.output.split())  # where to fix it, CLI words
    assert "0 von 17 Plätzen" in listing.output
