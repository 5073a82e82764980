"""``ews status`` over a real SQLite register: what waits, what failed, the watchers'
heartbeats, the exit code for monitoring; the deployments from a real (temporary) Prefect
server."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prefect import flow
from prefect.testing.utilities import prefect_test_harness
from typer.testing import CliRunner

from ews.intake import passes as intake
from ews.operations.health import register_health
from ews.register.database import session_factory
from ews.register.schema import Input, LetterRow, MailRow, OutgoingMail, WatcherRow
from ews.runtime.settings import Settings
from flows.cli import app
from flows.status import deployment_problems, deployment_runs
from tests.conftest import cli_env
from tests.support.pgserver import WarmStart

REPO = Path(__file__).resolve().parents[3]

NOW = datetime(2026, 11, 21, 13, 3, tzinfo=UTC)
CLOSED_PORT = "http://127.0.0.1:9/api"


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def add(settings: Settings, *rows: Any) -> None:
    with session_factory(settings.db_url).begin() as session:
        session.add_all(rows)


def an_input(number: int, *, state: str = "done", outcome: str | None = "registered",
             created: datetime = NOW, finished: datetime | None = None,
             reasons: list[str] | None = None) -> Input:
    return Input(id=number, source_name=f"bewerbung-{number}.pdf", sha256=f"{number:064d}",
                 size=1000, received_at=created - timedelta(minutes=1),
                 claim_path=f"/in/.ews-in-arbeit/{number}.pdf", state=state, outcome=outcome,
                 reasons=reasons or [], created_at=created, finished_at=finished)


def a_letter(input_id: int, *, state: str, created: datetime) -> LetterRow:
    return LetterRow(input_id=input_id, kind="eingangsbestaetigung", reference=f"E-{input_id}",
                     docx_path=f"/out/{input_id}.docx", data={}, state=state, created_at=created)


def an_outgoing(number: int, state: str, *, attempts: int = 0,
                error: str | None = None, created: datetime = NOW) -> OutgoingMail:
    return OutgoingMail(purpose="antwort", subject_key=f"eingang:{number}",
                        message_id=f"<{number}@ews.test>", recipients=[f"k{number}@kommune.test"],
                        eml_path=f"/post/{number}.eml", state=state, attempts=attempts,
                        next_attempt_at=NOW, last_error=error, created_at=created)


def a_watcher(name: str, kind: str, *, beat: datetime, state: str = "laeuft",
              detail: str = "") -> WatcherRow:
    return WatcherRow(name=name, kind=kind, holder="buero-pc:4711", started_at=ago(hours=2),
                      beat_at=beat, state=state, detail=detail)


@pytest.fixture
def office(settings: Settings) -> Settings:
    intake.prepare(settings)
    return settings


def test_an_empty_office_is_all_well(office: Settings) -> None:
    health = register_health(office, NOW)

    assert health.problems == []
    assert health.waiting.inputs_open == 0 and health.watchers == []


def test_waiting_work_is_counted_and_only_old_work_hangs(office: Settings) -> None:
    add(office,
        an_input(1),  # done: not waiting
        an_input(2, state="claimed", outcome=None, created=ago(minutes=40)),  # hangs
        an_input(3, state="decided", created=ago(minutes=2)),  # in progress, fine
        MailRow(account="ews@imap.test", folder="INBOX", uidvalidity=1, uid=7, sha256="a" * 64,
                internaldate=ago(minutes=3), kind="application", raw_path="/m/7.eml",
                state="taken"),
        an_outgoing(1, "queued"), an_outgoing(2, "queued", attempts=2),
        an_outgoing(3, "sending", attempts=1), an_outgoing(4, "sent", attempts=1))
    add(office, a_letter(3, state="planned", created=ago(minutes=2)),
        a_letter(1, state="rendered", created=ago(minutes=50)))

    health = register_health(office, NOW)

    waiting = health.waiting
    assert (waiting.inputs_open, waiting.inputs_stuck) == (2, 1)
    assert waiting.inputs_oldest == ago(minutes=41)
    assert (waiting.letters_planned, waiting.letters_without_pdf) == (1, 0)  # no PDFs made
    assert waiting.mails_taken == 1
    assert (waiting.outgoing_queued, waiting.outgoing_retrying,
            waiting.outgoing_sending) == (2, 1, 1)
    assert health.problems == ["1 Eingang hängt seit über 15 Minuten"]


def test_failed_mails_quarantine_and_unwritten_letters_are_listed(office: Settings) -> None:
    add(office,
        an_input(1, outcome="invalid", finished=ago(days=2),
                 reasons=["Die Unterschrift fehlt.", "Die PLZ fehlt."]),
        an_input(2, outcome="invalid", finished=ago(days=9), reasons=["Alt."]),  # too old
        an_input(3, state="decided", created=ago(minutes=30)),
        an_outgoing(1, "failed", attempts=8,
                    error="Zustellung nach 8 Versuchen aufgegeben: 451 Try again later"),
        an_outgoing(2, "failed", attempts=1, error="Der Mailserver hat die Zustellung "
                                                    "endgültig abgelehnt: 550 no such user"),
        an_outgoing(4, "failed", error="Alt.", created=ago(days=9)))  # dealt with long ago
    add(office, a_letter(3, state="planned", created=ago(minutes=30)))

    health = register_health(office, NOW)

    failed = health.failed
    assert failed.mails == 2
    assert [(m.subject_key, m.recipients) for m in failed.last_mails] == [
        ("eingang:2", ["k2@kommune.test"]), ("eingang:1", ["k1@kommune.test"])]
    assert "550 no such user" in (failed.last_mails[0].last_error or "")
    assert failed.quarantined == 1
    assert [(q.source_name, q.reason) for q in failed.last_quarantined] == [
        ("bewerbung-1.pdf", "Die Unterschrift fehlt.")]
    assert failed.letters_not_rendered == 1
    assert health.problems == ["2 E-Mails in den letzten 7 Tagen endgültig nicht zugestellt",
                               "1 Eingang hängt seit über 15 Minuten",
                               "Für 1 Eingang konnten die Briefe nicht geschrieben werden"]


def test_a_stale_heartbeat_is_a_problem_and_a_fresh_one_is_not(office: Settings) -> None:
    add(office,
        a_watcher("ews@imap.test", "postfach", beat=ago(minutes=7)),
        a_watcher("/srv/ews/inbox", "ordner", beat=ago(seconds=12)),
        a_watcher("alt@imap.test", "postfach", beat=ago(days=3), state="beendet"))

    health = register_health(office, NOW)

    assert health.problems == ["Postfach-Beobachter ews@imap.test ohne Herzschlag seit "
                               "7 Minuten"]
    ages = {w.name: w.age_seconds for w in health.watchers}
    assert ages["/srv/ews/inbox"] == 12
    # the limit is a parameter: with ten minutes, seven minutes of silence are fine
    assert register_health(office, NOW, heartbeat_limit=timedelta(minutes=10)).problems == []


def test_a_disturbed_watcher_is_a_problem_with_its_reason(office: Settings) -> None:
    add(office, a_watcher("ews@imap.test", "postfach", beat=ago(seconds=5), state="gestoert",
                          detail="Anmeldung abgelehnt"))

    assert register_health(office, NOW).problems == [
        "Postfach-Beobachter ews@imap.test gestört: Anmeldung abgelehnt"]


def test_files_left_in_the_inbox_are_waiting_and_old_ones_a_problem(office: Settings) -> None:
    fresh, old = office.inbox_dir / "neu.pdf", office.inbox_dir / "vergessen.pdf"
    fresh.write_bytes(b"%PDF-1.7")
    old.write_bytes(b"%PDF-1.7")
    (office.inbox_dir / "~$entwurf.docx").write_bytes(b"")  # Word's lock file: ignored
    os.utime(fresh, (ago(minutes=1).timestamp(),) * 2)
    os.utime(old, (ago(hours=2).timestamp(),) * 2)

    health = register_health(office, NOW)

    assert (health.waiting.inbox_files, health.waiting.inbox_stale) == (2, 1)
    assert health.waiting.inbox_oldest == ago(hours=2)
    assert health.problems == ["1 Datei liegt seit über 15 Minuten unbearbeitet im Posteingang"]


# -- the command ---------------------------------------------------------------------------


def ews_status(settings: Settings, *args: str, env_extra: dict[str, str] | None = None
               ) -> tuple[int, str]:
    env = cli_env(settings) | {"PREFECT_API_URL": CLOSED_PORT, "COLUMNS": "200"} \
        | (env_extra or {})
    result = CliRunner().invoke(app, ["betrieb", "status", *args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_status_without_prefect_shows_the_register_and_exits_0_when_all_is_well(
        settings: Settings) -> None:
    # an empty data folder: the command prepares the register itself
    code, output = ews_status(settings)

    assert code == 0, output
    assert f"Prefect-Server nicht erreichbar: {CLOSED_PORT} antwortet nicht" in output
    assert "Wartend" in output and "Fehlgeschlagen" in output
    assert "Alles in Ordnung." in output


def test_status_json_lists_problems_and_exits_1(office: Settings) -> None:
    now = datetime.now(UTC)
    add(office, a_watcher("ews@imap.test", "postfach", beat=now - timedelta(minutes=7)),
        a_watcher("/srv/ews/inbox", "ordner", beat=now - timedelta(seconds=3)),
        # `ews status` reads the wall clock: the records are made relative to it
        an_outgoing(1, "failed", attempts=1, error="550 no such user", created=now))

    code, output = ews_status(office, "--json")

    assert code == 1
    document = json.loads(output)
    assert document["deployments"] == []
    assert document["prefect_note"] == f"{CLOSED_PORT} antwortet nicht"
    assert document["problems"] == [
        "Postfach-Beobachter ews@imap.test ohne Herzschlag seit 7 Minuten",
        "1 E-Mail in den letzten 7 Tagen endgültig nicht zugestellt"]
    assert [w["name"] for w in document["watchers"]] == ["/srv/ews/inbox", "ews@imap.test"]
    assert document["failed"]["last_mails"][0]["last_error"] == "550 no such user"
    assert document["waiting"]["outgoing_queued"] == 0


def test_status_table_shows_watchers_and_the_problems(office: Settings) -> None:
    now = datetime.now(UTC)
    add(office, a_watcher("ews@imap.test", "postfach", beat=now - timedelta(seconds=12)),
        an_outgoing(1, "failed", attempts=1, error="550 [no such user]", created=now))

    code, output = ews_status(office)

    assert code == 1
    assert "Beobachter" in output and "buero-pc:4711" in output
    assert re.search(r"vor 1[2-9] s", output), output  # a loaded machine may take seconds
    assert "eingang:1 an k1@kommune.test: 550 [no such user]" in output
    assert "1 E-Mail in den letzten 7 Tagen endgültig nicht zugestellt" in output
    assert "Alles in Ordnung." not in output


def test_status_shows_the_warm_start_of_this_worker_machine(settings: Settings,
                                                             tmp_path: Path) -> None:
    """On a worker machine: whether its warm start answers (flows.warm_start). When it does
    not, the runs start without it: a note, not a problem for the exit code."""
    socket = {"EWS_VORSTART_SOCKET": str(tmp_path / "v.sock")}
    warm = WarmStart(tmp_path / "v.sock", {"EWS_DATA_DIR": str(tmp_path / "vorstart")},
                     REPO).start()
    try:
        code, output = ews_status(settings, "--json", env_extra=socket)
        document = json.loads(output)
        assert code == 0, output
        assert warm.proc is not None
        assert document["warm_start"] == {
            "socket": str(tmp_path / "v.sock"), "ready": True, "pid": warm.proc.pid,
            "since": document["warm_start"]["since"], "runs": 0, "code_current": True}
        assert datetime.fromisoformat(document["warm_start"]["since"]).tzinfo is not None
        code, output = ews_status(settings, env_extra=socket)
        assert f"Warmstart dieses Rechners bereit: Prozess {warm.proc.pid}, seit " in output
        assert "0 Läufe gestartet." in output
    finally:
        warm.kill()

    code, output = ews_status(settings, env_extra=socket)
    assert code == 0, output
    assert "Warmstart dieses Rechners nicht erreichbar: kein Warmstart-Prozess an" in output
    assert "die Läufe starten ohne ihn, langsamer" in output
    code, output = ews_status(settings, "--json")  # no warm start here: not shown
    assert json.loads(output)["warm_start"] is None


# -- the deployments, from a temporary Prefect server ------------------------------------------


@flow(name="statusprobe")
def statusprobe() -> int:
    return 1


@pytest.mark.prefect_server
def test_deployment_runs_show_a_deployment_its_failed_and_its_waiting_runs() -> None:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL
    from prefect.states import Failed

    with prefect_test_harness(server_startup_timeout=120):
        statusprobe.to_deployment(name="probe").apply()
        waiting = run_deployment("statusprobe/probe", timeout=0)  # Scheduled: no one runs it
        failing = run_deployment("statusprobe/probe", timeout=0)
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(failing.id, Failed(message="kaputt"), force=True)
        runs = deployment_runs(PREFECT_API_URL.value())

    assert [run.name for run in runs] == ["statusprobe/probe"]
    probe = runs[0]
    assert waiting.state is not None and waiting.state.is_scheduled()
    assert (probe.waiting, probe.late, probe.paused, probe.work_pool) == (1, 0, False, None)
    assert probe.last_run is not None and probe.last_run.state == "Failed"
    assert probe.last_failure == probe.last_run
    assert deployment_problems(runs) == ["Letzter Lauf von statusprobe/probe ist gescheitert "
                                         "(Failed)"]


def test_deployment_runs_raise_a_german_note_when_no_server_answers() -> None:
    from flows.status import PrefectUnreachable

    with pytest.raises(PrefectUnreachable, match="antwortet nicht"):
        deployment_runs(CLOSED_PORT)


def test_late_runs_are_a_problem_because_no_process_takes_them() -> None:
    from flows.status import DeploymentRun

    late = DeploymentRun(name="posteingang/posteingang", work_pool=None, paused=False,
                         schedules_active=1, concurrency_limit=None, last_run=None,
                         last_failure=None, waiting=3, late=2)

    assert deployment_problems([late]) == [
        "2 Läufe sind für posteingang/posteingang verspätet – läuft „ews betrieb starten“?"]
