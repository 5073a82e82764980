"""Heartbeats of the watchers (inbox folder, mailbox) in the register, so that ``ews status``
shows on every machine who watches what and since when (I/O: database)."""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import UTC, datetime

from ews.core.models import WatcherState
from ews.register.database import session_factory
from ews.register.schema import WatcherRow
from ews.runtime.settings import Settings

log = logging.getLogger(__name__)

RUNNING, ENDED, DISTURBED = (WatcherState.RUNNING, WatcherState.ENDED,
                             WatcherState.DISTURBED)
BEAT_EVERY = 20.0  # seconds between heartbeats in the register


def inbox_name(settings: Settings) -> str:
    """The inbox as watchers, heartbeats and locks name it (the same on every machine that
    mounts the shared inbox under the same path)."""
    return f"ordner:{settings.inbox_dir.resolve()}"


def mailbox_name(settings: Settings) -> str:
    return f"postfach:{settings.imap.account}/{settings.imap.folder}"


def holder() -> str:
    """This process, as ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(settings: Settings, name: str, kind: str, now: datetime, *, state: str = RUNNING,
         detail: str = "") -> None:
    """Record that the watcher ``name`` is alive (or ended, or cannot reach what it watches).
    A new holder starts the watcher's time afresh."""
    me = holder()
    with session_factory(settings.db_url).begin() as session:
        row = session.get(WatcherRow, name)
        if row is None:
            row = WatcherRow(name=name, kind=kind, holder=me, started_at=now)
            session.add(row)
        elif row.holder != me:
            row.holder, row.started_at = me, now
        row.beat_at, row.state, row.detail = now, state, detail[:2000]


class Heartbeat:
    """The heartbeat of one watcher, written at most every ``BEAT_EVERY`` seconds.
    ``report`` takes the watcher's last connection problem ("" when it is fine)."""

    def __init__(self, settings: Settings, name: str, kind: str) -> None:
        self.settings, self.name, self.kind = settings, name, kind
        self.problem = ""
        self._next = 0.0

    def report(self, problem: str) -> None:
        self.problem = problem

    def beat(self, *, ended: bool = False) -> None:
        if not ended and time.monotonic() < self._next:
            return
        self._next = time.monotonic() + BEAT_EVERY
        state = ENDED if ended else DISTURBED if self.problem else RUNNING
        try:
            beat(self.settings, self.name, self.kind, datetime.now(UTC), state=state,
                 detail=self.problem)
        except Exception as exc:  # noqa: BLE001 - a register outage must not stop watching
            log.warning("Herzschlag nicht gespeichert: %s", exc)
