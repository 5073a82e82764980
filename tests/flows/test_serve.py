"""``ews serve`` as the office runs it: a real Prefect server, the deployment, the watcher."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import pdfgen

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
#: what `ews serve` offers in the Prefect UI: intake, decisions, notices, circulars (no plan)
DEPLOYMENTS = ["auswahl", "bescheide", "loeschlauf", "posteingang", "rundschreiben",
               "sicherung", "wiedervorlagen"]
#: the basic authentication of the Prefect API, as scripts/setup.sh writes it to config/ews.env
AUTH = f"admin:{secrets.token_urlsafe(16)}"
#: what a deployment parameter may choose: how long, how many, which mailing, who
PARAMETERS = {"laufzeit", "wartezeit_minuten", "hoechstens", "abfrage_sekunden", "von", "name",
              "termin"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ews(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def _serve_env(tmp_path: Path, port: int, **settings: str) -> dict[str, str]:
    """The environment of an office's `ews serve`: its own folders, port and auth string."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "EWS_"))}
    env.update({"EWS_INBOX_DIR": str(tmp_path / "inbox"),
                "EWS_OUTBOX_DIR": str(tmp_path / "outbox"),
                "EWS_DATA_DIR": str(tmp_path / "data"), "EWS_PREFECT__PORT": str(port),
                "EWS_LETTERS__PDF": "false", "EWS_PREFECT__AUTH_STRING": AUTH,
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **settings})
    return env


def test_serve_registers_a_dropped_file_and_shows_the_deployment(tmp_path: Path) -> None:
    port = free_port()
    env = _serve_env(tmp_path, port, EWS_INTAKE__POLL_SECONDS="0.5",
                     EWS_INTAKE__STABLE_SECONDS="0.2")
    server = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        api = f"http://127.0.0.1:{port}/api"
        _wait_for(lambda: sorted(_deployments(api)) == DEPLOYMENTS, 180)
        (tmp_path / "inbox").mkdir(exist_ok=True)
        (tmp_path / "inbox" / "Bewerbung.pdf").write_bytes(pdfgen.filled_form())
        _wait_for(lambda: _outcomes(env) == ["registered"], 120)
        refused = httpx.post(f"{api}/flow_runs/filter", json={}, timeout=10)
        assert refused.status_code == 401  # without the auth string: nothing
        wrong = httpx.post(f"{api}/flow_runs/filter", json={}, timeout=10,
                           auth=("admin", "falsch"))
        assert wrong.status_code == 401
        # the journal line is written inside the run, the run completes after its letters
        _wait_for(lambda: "COMPLETED" in _run_states(api), 60)
        # task runs reach the server over the events websocket, which needs the auth too
        _wait_for(lambda: _task_runs(api) > 0, 60)
        _wait_for(lambda: "ordner" in _watchers(env), 60)  # heartbeats every 20 s
        status = _status(env)
        assert _watchers(env) == {"ordner": "laeuft"}
        posteingang = next(d for d in status["deployments"]
                           if d["name"] == "posteingang/posteingang")
        assert posteingang["last_run"]["state_type"] == "COMPLETED"
        assert status["problems"] == []
    finally:
        os.killpg(server.pid, signal.SIGINT)  # Ctrl+C in the office's terminal
        try:
            output = server.communicate(timeout=200)[0].decode()
        finally:
            os.killpg(server.pid, signal.SIGKILL) if server.poll() is None else None
    assert "Prefect-Oberfläche" in output
    assert "Starting temporary server" not in output  # every run reports to the office's server


def _auth() -> tuple[str, str]:
    user, _, password = AUTH.partition(":")
    return user, password


def _deployments(api: str) -> list[str]:
    try:
        found = httpx.post(f"{api}/deployments/filter", json={}, timeout=5, auth=_auth())
    except httpx.HTTPError:
        return []
    return [d["name"] for d in found.json()] if found.status_code == 200 else []


def _run_states(api: str) -> list[str]:
    found = httpx.post(f"{api}/flow_runs/filter", json={}, timeout=5, auth=_auth())
    return [run["state_type"] for run in found.json()] if found.status_code == 200 else []


def _task_runs(api: str) -> int:
    found = httpx.post(f"{api}/task_runs/filter", json={}, timeout=5, auth=_auth())
    return len(found.json()) if found.status_code == 200 else 0


def _status(env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "flows.cli", "status", "--json"], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return dict(json.loads(done.stdout))


def _watchers(env: dict[str, str]) -> dict[str, str]:
    return {w["kind"]: w["state"] for w in _status(env)["watchers"]}


def _outcomes(env: dict[str, str]) -> list[str]:
    lines = ews("journal", "--json", env=env).stdout.splitlines()
    return [json.loads(line)["outcome"] for line in lines]


def _wait_for(condition: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise AssertionError(f"nicht erreicht binnen {seconds} s")


def test_sigterm_to_the_group_during_a_pass_stops_without_losing_a_file(tmp_path: Path) -> None:
    """As a service manager stops the service: SIGTERM to every process of the group."""
    from ews.letters.samples import sample_applications

    port = free_port()
    env = _serve_env(tmp_path, port, EWS_INTAKE__POLL_SECONDS="0.5",
                     EWS_INTAKE__STABLE_SECONDS="0.2")
    server = subprocess.Popen([sys.executable, "-m", "flows.cli", "serve"], env=env, cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    files = sample_applications(80, seed=11)
    try:
        api = f"http://127.0.0.1:{port}/api"
        _wait_for(lambda: sorted(_deployments(api)) == DEPLOYMENTS, 180)
        (tmp_path / "inbox").mkdir(exist_ok=True)
        for name, data in files:
            (tmp_path / "inbox" / name.replace("/", "_")).write_bytes(data)
        _wait_for(lambda: len(_outcomes(env)) > 0, 120)  # a pass is running
        os.killpg(server.pid, signal.SIGTERM)
        output = server.communicate(timeout=60)[0].decode()
    finally:
        os.killpg(server.pid, signal.SIGKILL) if server.poll() is None else None
    assert "Beendet." in output
    ews("process", env=env)  # whatever the stop left waiting is taken now
    lines = ews("journal", "--json", env=env).stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == len(files)
    assert not [r for r in records if any("unerwartet beendet" in x for x in r["reasons"])]


def test_a_scheduled_mailing_fires_every_minute_but_issues_once_per_slot(tmp_path: Path
                                                                         ) -> None:
    """Prefect's own scheduler (Europe/Berlin cron) starts the mailing each minute; every
    run of the day belongs to the same slot: one circular, each mail queued once."""
    port = free_port()
    data = tmp_path / "data"
    draft = data / "rundschreiben" / "minuetlich"
    draft.mkdir(parents=True)
    (draft / "rundschreiben.md").write_text(
        "---\ntitel: Minütlich\naktenzeichen: 13.0.70-001\nverteiler: alle\n---\n"
        "Text für {{ kommune }}.\n", encoding="utf-8")
    (tmp_path / "kontakte.csv").write_text(
        "Schlüssel;E-Mail\n05111000;a@duesseldorf.example\n05112000;b@duisburg.example\n",
        encoding="utf-8")
    (tmp_path / "versandplan.toml").write_text(
        '[[versand]]\nname = "minuetlich"\nentwurf = "minuetlich"\nzeitplan = "* * * * *"\n',
        encoding="utf-8")
    env = _serve_env(tmp_path, port,
                     EWS_RUNDSCHREIBEN__CONTACTS_FILE=str(tmp_path / "kontakte.csv"),
                     EWS_RUNDSCHREIBEN__PLAN_FILE=str(tmp_path / "versandplan.toml"))
    server = subprocess.Popen([sys.executable, "-m", "flows.cli", "serve"], env=env, cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        api = f"http://127.0.0.1:{port}/api"
        _wait_for(lambda: "versand-minuetlich" in _deployments(api), 180)
        _wait_for(lambda: _completed(api, "versand") >= 2, 240)
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.communicate(timeout=200)
        finally:
            os.killpg(server.pid, signal.SIGKILL) if server.poll() is None else None
    records = [json.loads(line) for line in
               ews("rundschreiben", "list", "--json", env=env).stdout.splitlines()]
    assert len(records) == 1
    assert records[0]["slot"].startswith("minuetlich@")
    # no mail server: queued, each once; the other 425 municipalities have no address
    assert records[0]["versand"] == {"wartet": 2, "ohne_adresse": 425}


def _completed(api: str, flow_name: str) -> int:
    try:
        runs = httpx.post(f"{api}/flow_runs/filter", timeout=5, auth=_auth(), json={
            "flows": {"name": {"any_": [flow_name]}},
            "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}})
    except httpx.HTTPError:
        return 0
    return len(runs.json()) if runs.status_code == 200 else 0


def test_prefect_yaml_holds_every_deployment_of_the_table_and_the_example_plan() -> None:
    """prefect.yaml is generated (`ews betrieb cluster prefect-yaml`); it must not fall behind the
    deployment table or the example Versandplan."""
    from flows.deployments import example_plan, office_deployments, prefect_yaml

    expected = prefect_yaml(office_deployments(example_plan(REPO)))
    assert (REPO / "prefect.yaml").read_text(encoding="utf-8") == expected
    served = {d.name for d in office_deployments([]) if d.served}
    assert sorted(served) == DEPLOYMENTS


def test_every_deployment_of_the_table_names_a_flow_that_exists() -> None:
    from flows.deployments import example_plan, office_deployments

    for deployment in office_deployments(example_plan(REPO)):
        assert deployment.flow().name  # imports the module of its entrypoint


def test_every_flow_is_named_like_its_deployment() -> None:
    """One name from the table to the Prefect UI; a scheduled mailing's deployment is its
    flow's name with the mailing's (``versand-monatsinfo``)."""
    from flows.deployments import example_plan, office_deployments

    plan = example_plan(REPO)
    assert plan
    for deployment in office_deployments(plan):
        name = deployment.flow().name
        assert deployment.name == name or deployment.name.startswith(f"{name}-"), name


def test_no_deployment_parameter_can_carry_settings_hosts_or_credentials() -> None:
    """A run started through the API chooses what to do, never where the worker's
    credentials go: no flow takes settings, a host, a URL or a path."""
    from flows.deployments import example_plan, office_deployments

    for deployment in office_deployments(example_plan(REPO)):
        schema = deployment.flow().parameters
        assert set(schema.properties) <= PARAMETERS, deployment.name
        text = json.dumps(schema.model_dump()).lower()
        for word in ("settings", "smtp", "imap", "password", "storage", "database", "host"):
            assert word not in text, (deployment.name, word)


def test_importing_the_flows_builds_no_settings_and_creates_no_folder(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "EWS_"))}
    env["EWS_DATA_DIR"] = str(tmp_path / "data")
    env["EWS_ROUND__SEATS"] = "keine Zahl"  # Settings() would fail on it
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")  # Prefect's own folder, not ours
    code = ("import flows, flows.intake, flows.circulars, flows.selection, flows.watchers, "
            "flows.cli, flows.server, flows.deployments, flows.status, flows.mailbox_watch")
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "data").exists()


def test_serve_refuses_to_open_the_api_beyond_loopback_without_auth(tmp_path: Path) -> None:
    env = _serve_env(tmp_path, free_port(), EWS_PREFECT__HOST="0.0.0.0",
                     EWS_PREFECT__AUTH_STRING="")
    done = subprocess.run([sys.executable, "-m", "flows.cli", "serve"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert "keine Anmeldung eingerichtet" in " ".join((done.stdout + done.stderr).split())
