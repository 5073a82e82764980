"""Heartbeats of the watchers (inbox folder, mailbox) in the register, so that ``ews status``
shows on every machine who watches what and since when (I/O: database)."""

from __future__ import annotations

import os
import socket
from datetime import datetime

from ews.database import session_factory
from ews.schema import WatcherRow
from ews.settings import Settings

RUNNING, ENDED, DISTURBED = "laeuft", "beendet", "gestoert"


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
