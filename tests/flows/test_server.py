"""``flows.server`` without a Prefect server: the API's address and exposure, the server's
environment, the pass runner's backoff, the inbox watcher's asks, the Versandplan."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pydantic import SecretStr
from rich.console import Console

from ews.runtime.settings import CircularSettings, IntakeSettings, PrefectSettings, Settings
from flows.pass_runner import MAX_PASS_BACKOFF, PASS_BACKOFF, pass_backoff
from flows.server import (
    InboxWatcher,
    api_url,
    check_exposure,
    read_plan_or_report,
    server_environment,
    use_running_server,
)
from tests.conftest import make_settings


def with_prefect(settings: Settings, **values: object) -> Settings:
    return settings.model_copy(update={"prefect": PrefectSettings(**values)})  # type: ignore[arg-type]


def test_the_api_is_on_the_configured_host_and_port(settings: Settings) -> None:
    assert api_url(with_prefect(settings, host="10.0.0.5", port=4300)) == \
        "http://10.0.0.5:4300/api"


def test_the_api_opens_beyond_loopback_only_with_a_login(settings: Settings) -> None:
    check_exposure(with_prefect(settings, host="127.0.0.1"))
    check_exposure(with_prefect(settings, host="0.0.0.0", auth_string=SecretStr("a:b")))
    with pytest.raises(RuntimeError, match="keine Anmeldung eingerichtet"):
        check_exposure(with_prefect(settings, host="0.0.0.0"))
    with pytest.raises(RuntimeError):
        check_exposure(with_prefect(settings, host="0.0.0.0", auth_string=SecretStr("  ")))


def test_the_server_gets_the_login_of_the_settings(settings: Settings,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_SERVER_API_AUTH_STRING", raising=False)
    env = server_environment(with_prefect(settings, auth_string=SecretStr("admin:geheim")))
    assert env["PREFECT_SERVER_API_AUTH_STRING"] == "admin:geheim"
    assert "PREFECT_SERVER_API_AUTH_STRING" not in server_environment(settings)


def test_a_server_started_by_the_service_writes_its_task_runs_in_batches(
        tmp_path: Path) -> None:
    """The names in PREFECT_SERVER_ENVIRONMENT are Prefect's own: a process prepared by
    ``prepare_prefect_environment`` (and so the server it starts) reads them as the task
    run recorder's settings, not Prefect's defaults (one event a transaction, every 5 s)."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("PREFECT_SERVER_SERVICES_")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    code = ("from ews.runtime.settings import Settings\n"
            "from flows import prepare_prefect_environment\n"
            "from flows.server import server_environment\n"
            "prepare_prefect_environment(Settings())\n"
            "from prefect.settings import get_current_settings\n"
            "recorder = get_current_settings().server.services.task_run_recorder\n"
            "env = server_environment(Settings())\n"
            "print(recorder.batch_size, recorder.flush_interval,\n"
            "      env['PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE'])\n")
    ended = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, timeout=120, cwd=tmp_path)
    assert ended.returncode == 0, ended.stderr
    assert ended.stdout.split() == ["100", "1.0", "100"]


def test_without_a_server_answering_no_api_url_is_set(settings: Settings,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    use_running_server(with_prefect(settings, port=9))  # the discard port: nobody answers
    assert "PREFECT_API_URL" not in os.environ


def test_failed_passes_wait_longer_each_time_up_to_five_minutes() -> None:
    waits, backoff = [], 0.0
    for _ in range(8):
        backoff = pass_backoff(backoff)
        waits.append(backoff)
    assert waits == [PASS_BACKOFF, 10, 20, 40, 80, 160, MAX_PASS_BACKOFF, MAX_PASS_BACKOFF]


class CountingRunner:
    def __init__(self) -> None:
        self.requests = 0
        self.asked = threading.Event()

    def request(self) -> None:
        self.requests += 1
        if self.requests >= 2:
            self.asked.set()


def test_the_inbox_watcher_asks_once_at_start_and_again_for_a_file_that_stopped_changing(
        tmp_path: Path) -> None:
    settings = make_settings(tmp_path, intake=IntakeSettings(poll_seconds=0.05))
    runner = CountingRunner()
    watcher = InboxWatcher(settings, runner)  # type: ignore[arg-type]
    watcher.start()
    try:
        time.sleep(0.2)
        assert runner.requests == 1  # whatever waited while the service was down
        (settings.inbox_dir / "bewerbung.pdf").write_bytes(b"%PDF-1.7")
        assert runner.asked.wait(5)
    finally:
        watcher.stop()
        watcher.join(timeout=5)
    assert not watcher.is_alive()


def test_the_inbox_watcher_asks_for_a_dropped_file_at_once_not_after_the_poll(
        tmp_path: Path) -> None:
    settings = make_settings(tmp_path, intake=IntakeSettings(poll_seconds=60))
    runner = CountingRunner()
    watcher = InboxWatcher(settings, runner)  # type: ignore[arg-type]
    watcher.start()
    try:
        time.sleep(0.3)  # the inotify watch is set up
        (settings.inbox_dir / "bewerbung.pdf").write_bytes(b"%PDF-1.7")
        assert runner.asked.wait(5)
    finally:
        watcher.stop()
        watcher.join(timeout=5)
    assert not watcher.is_alive()


def test_a_broken_versandplan_is_reported_and_nothing_is_planned(tmp_path: Path) -> None:
    plan = tmp_path / "versandplan.toml"
    plan.write_text("[[versand]]\nname = 'Kein gültiger Name'\n", encoding="utf-8")
    settings = make_settings(tmp_path, rundschreiben=CircularSettings(plan_file=plan))
    console = Console(record=True, width=200)

    assert read_plan_or_report(settings, console) == []
    assert "Versandplan nicht geladen" in console.export_text()
