"""The selection in the Prefect UI: decisions through the run input form of
``auswahl`` are stored in the register at once; a timeout loses none of them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.objects import FlowRun
from prefect.flow_runs import resume_flow_run
from prefect.testing.utilities import prefect_test_harness

from ews.register.database import session_factory
from ews.register.schema import EventRow
from ews.runtime.settings import Settings
from ews.selection import decisions as selection
from ews.selection.decisions import round_overview
from flows.selection import auswahl_entscheiden
from tests.conftest import make_settings
from tests.integration.selection.test_selection import fill_register

NOW_DECIDED = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module", autouse=True)
def prefect_harness() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


def _paused_run(started_after: float, timeout: float = 60.0) -> FlowRun:
    """The ``auswahl`` run once it waits for input (bounded wait)."""
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            for run in client.read_flow_runs(limit=20):
                if run.state and run.state.is_paused() and \
                        run.created and run.created.timestamp() >= started_after - 1:
                    return run
            time.sleep(0.3)
    raise AssertionError("Der Lauf wartet nicht auf eine Eingabe.")


def _answer(run_id: UUID, **values: Any) -> None:
    """Submit the form, then wait (bounded) until the run asks again or has ended."""
    with get_client(sync_client=True) as client:
        before = client.read_flow_run(run_id).state
        asked = before.state_details.pause_key if before else None
        resume_flow_run(run_id, run_input=values)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = client.read_flow_run(run_id).state
            if state and (state.is_final() or (
                    state.is_paused() and state.state_details.pause_key != asked)):
                return
            time.sleep(0.2)
    raise AssertionError("Der Lauf hat die Eingabe nicht übernommen.")


ServiceEnv = Callable[[Settings], Settings]


def test_decisions_from_the_form_are_stored_at_once_and_a_timeout_loses_none(
        tmp_path: Path, service_env: ServiceEnv) -> None:
    settings = service_env(make_settings(tmp_path))
    azs = fill_register(settings, 4)
    result: dict[str, object] = {}
    started = time.time()

    def run() -> None:
        result["stored"] = auswahl_entscheiden(wartezeit_minuten=0.1, abfrage_sekunden=1)

    flow_thread = threading.Thread(target=run, daemon=True)
    flow_thread.start()
    paused = _paused_run(started)
    assert paused.state is not None and paused.state.state_details.run_input_keyset

    _answer(paused.id, aktenzeichen=azs[1], entscheidung="angenommen",
            von="frau.meier", weitere=True)
    stored_now = {r["az"]: r["entscheidung"] for r in _overview(settings)}
    assert stored_now[azs[1]] == "angenommen"  # in the register while the run still waits

    # a decision the rules refuse is reported in German and asked again; then nobody answers
    _answer(paused.id, aktenzeichen=azs[2], entscheidung="warteliste",
            von="frau.meier", weitere=True)  # no rank: refused
    flow_thread.join(timeout=90)
    assert not flow_thread.is_alive()
    assert result["stored"] == 1
    overview = {r["az"]: r for r in _overview(settings)}
    assert overview[azs[1]]["entscheidung"] == "angenommen"
    assert overview[azs[2]]["entscheidung"] is None
    with session_factory(settings.db_url).begin() as session:
        [event] = session.query(EventRow).filter_by(action="entscheidung").all()
        assert event.actor == "frau.meier" and event.subject == azs[1]

    with get_client(sync_client=True) as client:
        run_state = client.read_flow_run(paused.id).state
        assert run_state is not None and run_state.is_completed()
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["auswahl-stand"])))
    assert any("1 von 17 Plätzen vergeben" in str(a.data) for a in artifacts)


def _overview(settings: Any) -> list[dict[str, object]]:
    with session_factory(settings.db_url).begin() as session:
        return round_overview(session, "EWS 6")


def test_notice_run_writes_each_outstanding_letter_once_and_shows_the_round(
        tmp_path: Path, service_env: ServiceEnv) -> None:
    from flows.selection import bescheide_versenden

    # letters as .docx only; no mail server configured
    settings = service_env(make_settings(tmp_path))
    azs = fill_register(settings, 3)
    with session_factory(settings.db_url).begin() as session:
        decide = dict(seats=17, actor="frau.meier", now=NOW_DECIDED)
        selection.decide(session, azs[1], "angenommen", **decide)  # type: ignore[arg-type]
        selection.decide(session, azs[2], "abgelehnt", reason="kriterien",
                         **decide)  # type: ignore[arg-type]

    assert bescheide_versenden(von="frau.meier") == 3  # Zusage, Erklärung, Absage
    assert bescheide_versenden(von="frau.meier") == 0
    written = sorted(p.name.split(" ", 1)[1] for p in settings.outbox_dir.rglob("*.docx"))
    assert written == ["Absage.docx", "Gemeinsame Erklärung.docx", "Zusage.docx"]
    with get_client(sync_client=True) as client:
        [summary] = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["bescheide-stand"])),
            limit=1, sort="CREATED_DESC")
    assert "0 neue Schreiben" in str(summary.data)


def test_a_refusal_names_the_form_field_to_fix(tmp_path: Path) -> None:
    from flows.selection import Entscheidung, record_decision

    settings = make_settings(tmp_path)
    azs = fill_register(settings, 2)
    answer = Entscheidung(aktenzeichen=azs[1], entscheidung="warteliste", von="frau.meier")
    lines, refusal = record_decision.fn(settings, answer)
    assert lines == [] and refusal is not None
    assert refusal.endswith("(Feld „Rang auf der Warteliste“).")
