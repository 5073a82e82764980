"""``ews serve``: a local Prefect server on SQLite, the intake deployment, and the inbox
watcher that starts an intake run as soon as a dropped file has stopped changing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from rich.console import Console

from ews.folders import observe_inbox
from ews.pipeline import InputResult
from ews.settings import Settings


def api_url(settings: Settings) -> str:
    return f"http://{settings.prefect.host}:{settings.prefect.port}/api"


def server_answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def use_running_server(settings: Settings) -> None:
    """Report to the office's running Prefect server when there is one (else Prefect runs a
    temporary one for this process)."""
    if "PREFECT_API_URL" not in os.environ and server_answers(api_url(settings)):
        os.environ["PREFECT_API_URL"] = api_url(settings)


def start_server(settings: Settings, *, timeout: float = 180.0) -> subprocess.Popen[bytes]:
    """Start ``prefect server start`` on loopback and wait until it answers."""
    prefect = shutil.which("prefect", path=str(Path(sys.executable).parent)) or "prefect"
    log = (settings.data_dir / "prefect-server.log").open("ab")
    process = subprocess.Popen(
        [prefect, "server", "start", "--host", settings.prefect.host,
         "--port", str(settings.prefect.port)],
        stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy(), start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Prefect-Server beendet (Code {process.returncode}); "
                               f"siehe {log.name}")
        if server_answers(api_url(settings)):
            return process
        time.sleep(0.5)
    process.terminate()
    raise RuntimeError(f"Prefect-Server antwortet nicht nach {timeout:.0f} s; siehe {log.name}")


class InboxWatcher(threading.Thread):
    """Polls the inbox; runs the intake flow when a file stayed unchanged for one poll."""

    def __init__(self, settings: Settings, console: Console) -> None:
        super().__init__(name="posteingang-watcher", daemon=True)
        self.settings, self.console = settings, console
        self.stopping = threading.Event()

    def run(self) -> None:
        from flows.intake import run_posteingang

        previous = observe_inbox(self.settings.inbox_dir)
        self._run_once(run_posteingang)  # whatever waited while the service was down
        while not self.stopping.wait(self.settings.intake.poll_seconds):
            current = observe_inbox(self.settings.inbox_dir)
            if any(previous.get(path) == obs for path, obs in current.items()):
                self._run_once(run_posteingang)
                current = observe_inbox(self.settings.inbox_dir)
            previous = current

    def _run_once(self, intake_pass: Callable[[Settings], list[InputResult]]) -> None:
        try:
            results = intake_pass(self.settings)
        except Exception as exc:  # noqa: BLE001 - the run is marked failed in Prefect; keep watching
            self.console.print(f"[red]Posteingangslauf fehlgeschlagen:[/] {exc}")
            return
        for result in results:
            self.console.print(f"{result.source_name}: {result.outcome.value} {result.az or ''}")


def serve_office(settings: Settings, console: Console) -> None:
    """Run everything one office needs until interrupted (Ctrl+C or SIGTERM)."""
    from ews.intake import prepare

    prepare(settings)
    server = None
    if not server_answers(api_url(settings)):
        with console.status("Starte Prefect-Server …"):
            server = start_server(settings)
    os.environ["PREFECT_API_URL"] = api_url(settings)
    ui = api_url(settings).removesuffix("/api")
    console.print(f"Prefect-Oberfläche: [bold]{ui}[/] – Posteingang: {settings.inbox_dir}")
    watcher = InboxWatcher(settings, console)
    watcher.start()
    try:
        from prefect import serve
        from prefect.deployments.runner import RunnerDeployment

        from flows.intake import posteingang
        deployment = posteingang.to_deployment(
            name="posteingang", description="Posteingang verarbeiten (auch manuell startbar)")
        assert isinstance(deployment, RunnerDeployment)  # called outside an event loop
        serve(deployment)
    finally:
        watcher.stopping.set()
        watcher.join(timeout=300)  # let a pass in progress commit before the process ends
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
