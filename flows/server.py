"""``ews betrieb starten``: a local Prefect server on SQLite, the intake deployment, and the
inbox watcher that starts an intake run as soon as a dropped file has stopped changing."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from ews.circulars.schedule import TIMEZONE, Mailing, read_plan
from ews.core.errors import PlanError
from ews.intake.inbox_changes import InboxChanges
from ews.intake.passes import prepare
from ews.intake.pipeline import InputResult, preload
from ews.operations.backup_plan import BackupPlan, read_backup_plan
from ews.register.heartbeats import Heartbeat, inbox_name, mailbox_name
from ews.runtime import workers
from ews.runtime.folders import observe_inbox, unchanged
from ews.runtime.redaction import redact_logging, secret_values
from ews.runtime.settings import Settings
from flows import auth_string
from flows.deployments import office_deployments as table
from flows.deployments import runner_deployments
from flows.mailbox_watch import MailboxWatcher
from flows.pass_runner import PassRunner
from flows.web_server import WebThread, announce

LOOPBACK = ("127.0.0.1", "::1", "localhost")


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


def server_environment(settings: Settings) -> dict[str, str]:
    """The environment of ``prefect server start``: this process's, with the API's basic
    authentication when an auth string is set (``EWS_PREFECT__AUTH_STRING``)."""
    env = os.environ.copy()
    auth = auth_string(settings)
    if auth:
        env.setdefault("PREFECT_SERVER_API_AUTH_STRING", auth)
    return env


def check_exposure(settings: Settings) -> None:
    """Refuse to open the API beyond this machine without authentication."""
    if settings.prefect.host not in LOOPBACK and not auth_string(settings):
        raise RuntimeError(
            f"Der Prefect-Server soll auf {settings.prefect.host} lauschen, aber es ist keine "
            "Anmeldung eingerichtet (EWS_PREFECT__AUTH_STRING in config/ews.env, "
            "scripts/setup.sh erzeugt sie). Ohne Anmeldung nur auf 127.0.0.1.")


def start_server(settings: Settings, *, timeout: float = 180.0) -> subprocess.Popen[bytes]:
    """Start ``prefect server start`` (on loopback unless configured otherwise) and wait
    until it answers."""
    check_exposure(settings)
    prefect = shutil.which("prefect", path=str(Path(sys.executable).parent)) or "prefect"
    log = (settings.data_dir / "prefect-server.log").open("ab")
    process = subprocess.Popen(
        [prefect, "server", "start", "--host", settings.prefect.host,
         "--port", str(settings.prefect.port)],
        stdout=log, stderr=subprocess.STDOUT, env=server_environment(settings),
        start_new_session=True)
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


def console_runner(settings: Settings, console: Console) -> PassRunner:
    """The pass runner of ``ews betrieb starten``: each result and each failure on the
    console."""

    def failed(reason: str, backoff: float) -> None:
        console.print(f"[red]Posteingangslauf fehlgeschlagen:[/] {reason} – "
                      f"nächster Versuch in {backoff:.0f} s")

    def finished(results: list[InputResult]) -> None:
        for result in results:
            console.print(f"{result.source_name}: {result.outcome.value} {result.az or ''}")

    return PassRunner(settings, failed, finished)


class InboxWatcher(threading.Thread):
    """Asks for a pass the moment a file in the inbox was closed by its writer or moved in
    (inotify: the pass's stability window, counted from the close, is the only wait) and,
    as the fallback, when a file stayed unchanged for one poll."""

    def __init__(self, settings: Settings, runner: PassRunner) -> None:
        super().__init__(name="posteingang-ordner", daemon=True)
        self.settings, self.runner = settings, runner
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        previous = observe_inbox(self.settings.inbox_dir)
        self.runner.request()  # whatever waited while the service was down
        changes = InboxChanges(self.settings.inbox_dir, self.stopping)
        while not self.stopping.is_set():
            if changes.wait(self.settings.intake.poll_seconds):
                self.runner.request()
                continue
            current = observe_inbox(self.settings.inbox_dir)
            if unchanged(previous, current):
                self.runner.request()
            previous = current


def serve_office(settings: Settings, console: Console) -> None:
    """Run everything one office needs until interrupted (Ctrl+C or SIGTERM)."""
    prepare(settings)
    server = None
    if not server_answers(api_url(settings)):
        with console.status("Starte Prefect-Server …"):
            server = start_server(settings)
    os.environ["PREFECT_API_URL"] = api_url(settings)
    import prefect.events  # noqa: F401 - once here: threads importing it at once deadlock

    redact_logging(secret_values(settings))  # Prefect has set up its log handlers by now

    ui = api_url(settings).removesuffix("/api")
    console.print(f"Prefect-Oberfläche: [bold]{ui}[/] – Posteingang: {settings.inbox_dir}")
    if not auth_string(settings):
        console.print("[yellow]Ohne Anmeldung:[/] jeder Benutzer dieses Rechners kann die "
                      "Oberfläche bedienen. EWS_PREFECT__AUTH_STRING in config/ews.env "
                      "setzen (scripts/setup.sh erzeugt sie).")
    with console.status("Starte Arbeitsprozesse …"):
        workers.warm_up(settings.worker_count, settings.intake.read_memory_mb, preload)
    runner = console_runner(settings, console)
    watchers: list[InboxWatcher | MailboxWatcher] = [InboxWatcher(settings, runner)]
    beats = {watchers[0]: Heartbeat(settings, inbox_name(settings), "ordner")}
    if settings.imap.host:
        mailbox = Heartbeat(settings, mailbox_name(settings), "postfach")
        watchers.append(MailboxWatcher(settings, runner, heartbeat=mailbox.report))
        beats[watchers[-1]] = mailbox
        console.print(f"Postfach: {settings.imap.account}, Ordner {settings.imap.folder} (IDLE)")
    web = WebThread(settings)
    for thread in (runner, *watchers, web):
        thread.start()
    announce(settings, console)
    stop = _stop_on_signals(console)
    serving = threading.Thread(target=_serve_deployment, args=(settings, console),
                               name="prefect-serve", daemon=True)
    serving.start()
    try:
        while not stop.wait(0.5):
            if not serving.is_alive():
                break
            for watcher, heartbeat in beats.items():
                heartbeat.beat(ended=not watcher.is_alive())
    finally:
        console.print("Beende: der laufende Durchgang wird noch abgeschlossen …")
        for watcher in watchers:
            watcher.stop()
        web.stop()
        runner.stopping.set()
        runner.join(timeout=300)  # let a pass in progress commit before the process ends
        for heartbeat in beats.values():
            heartbeat.beat(ended=True)
        if server is not None:
            # after Prefect has delivered its last logs and events at interpreter exit
            # (threading's exit hooks run before atexit's), never before
            atexit.register(_stop_server, server)
        console.print("Beendet.")


def _stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


def _serve_deployment(settings: Settings, console: Console) -> None:
    """Prefect's runner for the deployments (runs started from the UI, scheduled mailings);
    in its own thread so that the main thread alone handles Ctrl+C and SIGTERM."""
    from prefect import serve
    from prefect.deployments.runner import RunnerDeployment

    deployments = office_deployments(settings, console)
    served = [d for d in deployments if isinstance(d, RunnerDeployment)]
    assert len(served) == len(deployments)  # called outside an event loop
    serve(*served)


def office_deployments(settings: Settings, console: Console) -> list[Any]:
    """Every deployment ``ews betrieb starten`` offers, the scheduled mailings with their cron
    schedules in Europe/Berlin (a broken plan is reported; the rest is served)."""
    plan = read_plan_or_report(settings, console)
    for mailing in plan:
        console.print(f"Geplanter Versand: {mailing.name} ({mailing.cron}, {TIMEZONE})")
    return runner_deployments(table(plan, follow_up_cron=settings.follow_ups.cron,
                                    backup=read_backup_plan_or_report(console)))


def read_backup_plan_or_report(console: Console) -> BackupPlan:
    try:
        return read_backup_plan()
    except PlanError as exc:
        console.print(f"[red]Sicherungsplan nicht geladen (es gelten die Standardwerte):[/] {exc}")
        return BackupPlan()


def read_plan_or_report(settings: Settings, console: Console) -> list[Mailing]:
    try:
        return read_plan(settings.rundschreiben.plan_file)
    except PlanError as exc:
        console.print(f"[red]Versandplan nicht geladen:[/] {exc}")
        return []


def _stop_on_signals(console: Console) -> threading.Event:
    """First Ctrl+C or SIGTERM: stop after the pass in progress; a second one: stop now."""
    stop = threading.Event()

    def handle(signum: int, _frame: object) -> None:
        if stop.is_set():
            console.print("Sofortiger Abbruch.")
            os._exit(128 + signum)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handle)
    return stop
