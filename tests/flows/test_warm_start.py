"""The warm start of the cluster's runs (flows.warm_start): a real warm start process on a
Unix socket forks each run; the command the worker runs hands over environment, folder,
arguments and streams, passes signals on and exits with the run's code, and starts the run
cold when no warm start answers. ``tests.support.warm_probe`` stands in for ``prefect.engine``
(a real Prefect run through the warm start: tests/flows/test_cluster.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from flows.deployments import RUN_COMMAND
from flows.warm_start import code_state, enter_folder
from tests.support.pgserver import WarmStart, clean_environ, wait_for

REPO = Path(__file__).resolve().parents[2]
PROBE = "tests.support.warm_probe"


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WarmStart]:
    folder = tmp_path_factory.mktemp("vorstart")
    started = WarmStart(folder / "v.sock", {"EWS_DATA_DIR": str(folder / "data")}, REPO).start()
    yield started
    started.kill()


def _client(socket: Path, env: dict[str, str], *args: str,
            command: str = "ews.runtime.warm_runs") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", command, "--modul", PROBE, *args],
        env={**clean_environ(), "EWS_VORSTART_SOCKET": str(socket), **env}, cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_run_gets_the_callers_environment_folder_arguments_streams_and_exit_code(
        warm: WarmStart) -> None:
    client = _client(warm.socket_path, {"PROBE": "x", "PROBE_CODE": "3"}, "a b", "c")
    out, err = client.communicate(timeout=60)

    report = json.loads(out.splitlines()[0])
    assert client.returncode == 3
    assert report["argv"] == ["a b", "c"] and report["probe"] == "x"
    assert report["cwd"] == str(REPO)
    assert warm.proc is not None and report["ppid"] == warm.proc.pid  # forked by it
    assert f"Warmstart: Lauf in Prozess {report['pid']}" in err
    assert "auf stderr" in err  # the run writes into the caller's own streams


def test_the_command_of_deployments_made_before_still_runs_warm(warm: WarmStart) -> None:
    client = _client(warm.socket_path, {"PROBE_CODE": "5"}, "y", command="flows.warm_start")
    out, err = client.communicate(timeout=60)

    report = json.loads(out.splitlines()[0])
    assert client.returncode == 5 and report["argv"] == ["y"]
    assert warm.proc is not None and report["ppid"] == warm.proc.pid


def test_the_command_of_a_run_imports_only_the_standard_library() -> None:
    """The worker starts it for every run: the service's settings (pydantic) or Prefect
    would cost a third of a second of CPU before the request is sent."""
    probe = ("import sys, ews.runtime.warm_runs; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('pydantic', 'pydantic_settings', 'prefect', 'sqlalchemy', 'flows')))")
    done = subprocess.run([sys.executable, "-c", probe], env=clean_environ(), cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"


def test_the_runs_reading_processes_fork_from_the_warm_fork_server(warm: WarmStart) -> None:
    """Not started anew by the run (which would import their modules again): forked by the
    fork server the warm start process started with them imported."""
    client = _client(warm.socket_path, {"PROBE": "lesen"})
    out, err = client.communicate(timeout=120)
    assert client.returncode == 0, err
    run, worker = (json.loads(line) for line in out.splitlines()[:2])
    server = worker["worker_parent"]
    assert server != run["pid"]
    stat = Path(f"/proc/{server}/stat").read_text().rsplit(")", 1)[1].split()
    assert warm.proc is not None and int(stat[1]) == warm.proc.pid  # the warm start's child
    assert b"forkserver" in Path(f"/proc/{server}/cmdline").read_bytes()


def test_a_signal_to_the_caller_reaches_the_run(warm: WarmStart) -> None:
    client = _client(warm.socket_path, {"PROBE": "warten"})
    assert client.stdout is not None
    json.loads(client.stdout.readline())  # the run is under way
    client.send_signal(signal.SIGTERM)  # what the worker sends to cancel a run
    out, _err = client.communicate(timeout=60)
    assert "SIGTERM erhalten" in out and client.returncode == 7


def test_the_run_ends_when_its_caller_dies(warm: WarmStart, tmp_path: Path) -> None:
    marker = tmp_path / "beendet"
    client = _client(warm.socket_path, {"PROBE": "warten", "PROBE_MARKER": str(marker)})
    assert client.stdout is not None
    run = json.loads(client.stdout.readline())["pid"]
    client.kill()  # the worker's process for the run dies (SIGKILL)
    client.wait(timeout=30)
    wait_for(marker.exists, 30, "the run was told to end")
    wait_for(lambda: not Path(f"/proc/{run}").exists(), 30, "the run's process gone")


def test_a_silent_or_garbled_caller_holds_up_no_run(warm: WarmStart) -> None:
    import socket as sockets

    with sockets.socket(sockets.AF_UNIX, sockets.SOCK_SEQPACKET) as silent, \
            sockets.socket(sockets.AF_UNIX, sockets.SOCK_SEQPACKET) as garbled:
        silent.connect(str(warm.socket_path))  # connects and says nothing
        garbled.connect(str(warm.socket_path))
        sockets.send_fds(garbled, [b'{"env": "kein Objekt"}'], [0, 1, 2])
        client = _client(warm.socket_path, {"PROBE_CODE": "5"})
        out, err = client.communicate(timeout=60)
        assert client.returncode == 5
        assert json.loads(out.splitlines()[0])["ppid"] == (warm.proc.pid if warm.proc else 0)
        assert garbled.recv(100) == b""  # closed without a run
    assert "Anfrage unvollständig, verworfen" in warm.log_text()
    assert "Anfrage nicht lesbar" in warm.log_text()  # the silent one, after its time


def test_without_a_warm_start_the_run_starts_cold(tmp_path: Path) -> None:
    client = _client(tmp_path / "fehlt.sock", {"PROBE_CODE": "4"}, "x")
    out, err = client.communicate(timeout=120)

    report = json.loads(out.splitlines()[0])
    assert client.returncode == 4 and report["argv"] == ["x"]
    assert report["pid"] == client.pid  # the command became the run itself (exec)
    assert "Warmstart nicht möglich (kein Warmstart-Prozess an" in err
    assert "der Lauf startet ohne ihn (langsamer)" in err


def test_changed_code_sends_the_run_cold_and_ends_the_warm_start(tmp_path: Path) -> None:
    """After an update the warm start must not fork runs from its old code: the next run
    starts cold, the warm start ends (systemd starts it again)."""
    started = WarmStart(tmp_path / "v.sock", {"EWS_DATA_DIR": str(tmp_path / "data")},
                        REPO).start()
    changed = Path(__file__).resolve().parents[2] / "flows" / "warm_start.py"
    before = changed.stat()
    try:
        newest = code_state()[1]  # the update: one file newer than all others
        os.utime(changed, ns=(before.st_atime_ns, newest + 10**9))
        client = _client(started.socket_path, {"PROBE_CODE": "0"})
        out, err = client.communicate(timeout=120)
        assert client.returncode == 0
        assert json.loads(out.splitlines()[0])["pid"] == client.pid  # cold
        assert "der Programmcode wurde geändert" in err
        assert started.proc is not None and started.proc.wait(timeout=30) == 0
        assert "Programmcode geändert, Ende" in started.log_text()
        assert not started.socket_path.exists()
    finally:
        os.utime(changed, ns=(before.st_atime_ns, before.st_mtime_ns))
        started.kill()


def test_the_code_state_follows_the_files(tmp_path: Path) -> None:
    """What the check above compares: how many Python files, and their newest change."""
    package = tmp_path / "paket"
    (package / "unter").mkdir(parents=True)
    module = package / "unter" / "modul.py"
    module.write_text("x = 1\n", encoding="utf-8")
    (package / "notiz.txt").write_text("zählt nicht", encoding="utf-8")
    first = code_state((package,))
    assert first == (1, module.stat().st_mtime_ns)
    os.utime(module, ns=(first[1], first[1] + 10**9))
    touched = code_state((package,))
    assert touched == (1, first[1] + 10**9)
    (package / "neu.py").write_text("", encoding="utf-8")
    os.utime(package / "neu.py", ns=(0, 0))  # an old file that is new here still counts
    assert code_state((package,)) == (2, touched[1])
    assert code_state()[0] > 100  # the service's own: flows/ and src/ews/


def test_installing_a_library_changes_the_code_state(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """An update of the dependencies (``make setup``) adds and removes folders where the
    libraries are installed: the warm start must not go on with the old ones loaded."""
    import sysconfig

    libraries = tmp_path / "site-packages"
    libraries.mkdir()
    monkeypatch.setattr(sysconfig, "get_paths", lambda: {"purelib": str(libraries)})
    os.utime(libraries, ns=(0, 0))
    before = code_state()
    (libraries / "paket-2.0.dist-info").mkdir()  # what an installer does
    assert code_state()[1] > before[1]


def test_every_deployment_starts_its_runs_through_the_warm_start() -> None:
    """prefect.yaml gives the process worker this command for every run (the cluster test
    runs it on a real worker)."""
    document = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    commands = {d["name"]: d["work_pool"]["job_variables"]["command"]
                for d in document["deployments"]}
    assert len(commands) >= 9
    assert set(commands.values()) == {RUN_COMMAND}
    assert RUN_COMMAND.endswith("/.venv/bin/python -m ews.runtime.warm_runs")


def test_a_folder_the_warm_start_cannot_see_becomes_a_temporary_one(tmp_path: Path) -> None:
    """The worker's temporary folder may lie in a /tmp the warm start does not share."""
    before = os.getcwd()
    try:
        assert enter_folder(str(tmp_path)) is None and os.getcwd() == str(tmp_path)
        scratch = enter_folder(str(tmp_path / "gibt-es-nicht"))
        assert scratch is not None and os.getcwd() == scratch
        assert Path(scratch).name.startswith("ews-lauf-") and not any(Path(scratch).iterdir())
        Path(scratch).rmdir()
    finally:
        os.chdir(before)
