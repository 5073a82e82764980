"""The watchers of the distributed setup (prefect.yaml, ``prefect worker`` on any number of
machines): the inbox folder and the mailbox are each watched by one long-running flow run.
It works the first intake pass itself, in its own process with its reading processes
already started, and starts the further passes of a large batch as runs of the deployment
``posteingang`` on whichever worker is free: a run of the deployment waits about a second
and a half for a worker's poll and a process start before it reads anything.

One watcher per inbox and per mailbox: the watcher holds a lock in the register
(``ews.register.locks``); a second run finds it taken and ends at once. The database frees the lock
the moment a killed worker's connection ends, so the next scheduled run takes over — a
Prefect concurrency limit would keep the dead run's slot until its lease expires.
"""

from __future__ import annotations

import logging
import threading
import time
from logging import Logger, LoggerAdapter
from typing import Annotated

from prefect import flow, get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.deployments import run_deployment
from pydantic import Field

from ews.intake import passes as intake
from ews.intake import sharing
from ews.intake.inbox_changes import InboxChanges
from ews.intake.pipeline import preload
from ews.intake.watching import InboxWatch
from ews.register.heartbeats import Heartbeat, inbox_name, mailbox_name
from ews.register.locks import locks_for
from ews.runtime import workers
from ews.runtime.folders import observe_inbox
from ews.runtime.settings import Settings
from flows import redacted, service_settings
from flows.mailbox_watch import MailboxWatcher
from flows.pass_runner import PassRunner

log = logging.getLogger(__name__)

#: a watcher run ends after this long; the schedule starts the next (fresh logs, fresh code)
RUN_SECONDS = 3300.0
_WAITING = [StateType.SCHEDULED, StateType.PENDING]
#: a run started through the API may watch shorter, never longer (it holds the watcher lock)
Laufzeit = Annotated[float, Field(gt=0, le=RUN_SECONDS)]


class PassStarter:
    """Starts intake passes when asked: the first in this process (``local``, when the
    watcher works passes itself), the others as runs of the intake deployment on whichever
    worker is free, several at once for a large batch. No run while one is still waiting to
    start (it will take everything new when it starts)."""

    def __init__(self, deployment: str, passes: int, local: PassRunner | None = None,
                 logger: Logger | LoggerAdapter[Logger] = log) -> None:
        self.deployment, self.passes, self.local, self.logger = deployment, passes, local, logger
        self.wanted = threading.Event()
        self.items = 0
        self.started = 0

    def request(self, items: int = 1) -> None:
        self.items = max(self.items, items)
        self.wanted.set()

    def pump(self) -> int:
        """Start what was asked for; returns how many passes were started (the one of this
        process counted when it was idle: a pass it is asked for while busy comes after)."""
        if not self.wanted.is_set():
            return 0
        self.wanted.clear()
        items, self.items = self.items, 0
        count = min(self.passes, max(1, -(-items // sharing.CHUNK)))
        started = 0
        if self.local is not None:
            started = 1 if self.local.idle() else 0
            self.local.request()
            count -= started
        if count > 0:
            try:
                if self._waiting_runs() == 0:
                    for _ in range(count):
                        self._start_run()
                        started += 1
            except Exception as exc:
                if self.local is None:
                    raise  # the run fails; the schedule starts the next watcher
                # the pass of this process goes on: Prefect's API is only asked for help
                self.logger.warning("Weitere Posteingangsläufe nicht gestartet: %s", exc)
        self.started += started
        return started

    def _start_run(self) -> None:
        run_deployment(self.deployment, timeout=0, as_subflow=False)

    def _waiting_runs(self) -> int:
        with get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name(self.deployment)
            runs = client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
                flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
                    type=FlowRunFilterStateType(any_=_WAITING))), limit=1)
        return len(runs)


#: how long a watcher that has ended waits for its own pass in progress; after that the
#: process ends with it, and the next pass takes up what it left (as after a killed worker)
FINISH_SECONDS = 600.0


class OwnPasses:
    """The passes a watcher works itself (``EWS_PREFECT__WATCHER_PASS``): ``start`` them once
    the watcher holds its lock. On leaving the context at the end of the watcher's time, a
    pass in progress is finished, for at most ``FINISH_SECONDS`` (entered before the lock, it
    is left after the lock was released, so that the next watcher can take over meanwhile);
    on leaving it with an error (the run cancelled), not waited for: whatever a pass left,
    the next one takes up, as after a killed worker."""

    def __init__(self, settings: Settings, logger: Logger | LoggerAdapter[Logger]) -> None:
        self.settings, self.logger = settings, logger
        self.runner: PassRunner | None = None

    def __enter__(self) -> OwnPasses:
        return self

    def __exit__(self, error: type[BaseException] | None, *_details: object) -> None:
        if self.runner is None:
            return
        self.runner.stopping.set()
        if error is not None:  # cancelled or broken: the process ends now, the pass with it
            return
        self.runner.join(timeout=FINISH_SECONDS)
        if self.runner.is_alive():
            self.logger.warning("Der Posteingangslauf dieses Prozesses lief nach %.0f s noch; "
                                "der nächste Lauf übernimmt, was er offen lässt.",
                                FINISH_SECONDS)

    def start(self) -> PassRunner | None:
        """Start the reading processes and the runner (no pass yet); None when the watcher
        works no passes itself."""
        settings = self.settings
        if not settings.prefect.watcher_pass:
            return None
        workers.warm_up(settings.worker_count, settings.intake.read_memory_mb, preload)
        self.runner = PassRunner(settings, self._failed)
        self.runner.start()
        return self.runner

    def _failed(self, reason: str, backoff: float) -> None:
        self.logger.warning("Posteingangslauf in diesem Prozess fehlgeschlagen: %s – nächster "
                            "Versuch in %.0f s", reason, backoff)


@flow(name="ordner")
@redacted
def ordner_beobachten(laufzeit: Laufzeit = RUN_SECONDS) -> str:
    """Watch the inbox folder for ``laufzeit`` seconds: start intake passes for files that
    stopped changing, and for work a killed worker left (inputs nobody holds, claimed files
    without an input)."""
    logger = get_run_logger()
    settings = service_settings()
    intake.prepare(settings)
    inbox = settings.inbox_dir.resolve()
    name = inbox_name(settings)
    heartbeat = Heartbeat(settings, name, "ordner")
    with OwnPasses(settings, logger) as own, locks_for(settings) as locks:
        if not locks.try_named(f"beobachter:{name}"):
            logger.info("Der Posteingang %s wird bereits von einem anderen Prozess beobachtet; "
                        "dieser Lauf endet.", inbox)
            return "bereits beobachtet"
        starter = PassStarter(settings.prefect.pass_deployment, settings.prefect.passes,
                              own.start(), logger)
        logger.info("Beobachte den Posteingang %s", inbox)
        watch = InboxWatch(observe_inbox(inbox))
        stopped = threading.Event()
        changes = InboxChanges(inbox, stopped)  # inotify wakes the loop; the poll stays
        try:
            end = time.monotonic() + laufzeit
            while time.monotonic() < end:
                stable, left = watch.look(observe_inbox(inbox), time.monotonic(),
                                          lambda: sharing.free_work(settings, locks))
                if stable or left:
                    starter.request(len(stable) + left)
                if (started := starter.pump()) > 0:
                    logger.info("%d Posteingangsläufe gestartet (%d Dateien, %d offen)", started,
                                len(stable), left)
                heartbeat.beat()
                changes.wait(watch.next_wait(settings.intake.stable_seconds,
                                             settings.intake.poll_seconds))
        finally:
            stopped.set()
        heartbeat.beat(ended=True)
    return f"{starter.started} Posteingangsläufe gestartet"


@flow(name="postfach")
@redacted
def postfach_beobachten(laufzeit: Laufzeit = RUN_SECONDS) -> str:
    """Watch the office mailbox for ``laufzeit`` seconds (IMAP IDLE, a full poll as a
    fallback) and start an intake pass whenever mail arrives."""
    logger = get_run_logger()
    settings = service_settings()
    if not settings.imap.host:
        logger.warning("Kein Postfach eingerichtet (EWS_IMAP__HOST); nichts zu beobachten.")
        return "kein Postfach"
    intake.prepare(settings)
    imap = settings.imap
    name = mailbox_name(settings)
    heartbeat = Heartbeat(settings, name, "postfach")
    with OwnPasses(settings, logger) as own, locks_for(settings) as locks:
        if not locks.try_named(f"beobachter:{name}"):
            logger.info("Das Postfach %s wird bereits von einem anderen Prozess beobachtet; "
                        "dieser Lauf endet.", imap.account)
            return "bereits beobachtet"
        starter = PassStarter(settings.prefect.pass_deployment, settings.prefect.passes,
                              own.start(), logger)
        watcher = MailboxWatcher(settings, starter, heartbeat=heartbeat.report)
        watcher.start()
        logger.info("Beobachte das Postfach %s, Ordner %s (IDLE)", imap.account, imap.folder)
        end = time.monotonic() + laufzeit
        try:
            while time.monotonic() < end and watcher.is_alive():
                if starter.pump() > 0:
                    logger.info("Posteingangslauf für neue E-Mails gestartet")
                heartbeat.beat()
                starter.wanted.wait(0.5)  # new mail: at once
        finally:
            watcher.stop()
            watcher.join(timeout=30)
            heartbeat.beat(ended=True)
    return f"{starter.started} Posteingangsläufe gestartet"
