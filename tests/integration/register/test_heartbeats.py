"""Heartbeats of the watchers in a real SQLite register: a beat records the watcher, a new
holder starts its time afresh, the Heartbeat writes at most every BEAT_EVERY seconds and a
register outage does not stop the watcher."""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from ews.register import heartbeats
from ews.register.database import migrate, session_factory
from ews.register.heartbeats import (
    BEAT_EVERY,
    DISTURBED,
    ENDED,
    RUNNING,
    Heartbeat,
    beat,
    holder,
    inbox_name,
    mailbox_name,
)
from ews.register.schema import WatcherRow
from ews.runtime.settings import Settings
from tests.conftest import make_settings

NOW = datetime(2026, 11, 21, 13, 0, tzinfo=UTC)


@pytest.fixture
def register(settings: Settings) -> Settings:
    migrate(settings.db_url)
    return settings


def watcher(settings: Settings, name: str) -> WatcherRow | None:
    with session_factory(settings.db_url).begin() as session:
        return session.get(WatcherRow, name)


def test_names_say_what_is_watched(settings: Settings) -> None:
    assert inbox_name(settings) == f"ordner:{settings.inbox_dir.resolve()}"
    assert mailbox_name(settings) == f"postfach:{settings.imap.account}/{settings.imap.folder}"
    assert holder() == f"{socket.gethostname()}:{os.getpid()}"


def test_a_beat_records_the_watcher_and_keeps_its_start(register: Settings) -> None:
    beat(register, "ordner:/in", "ordner", NOW)
    beat(register, "ordner:/in", "ordner", NOW + timedelta(seconds=20), detail="x" * 3000)
    row = watcher(register, "ordner:/in")
    assert row is not None and row.kind == "ordner" and row.holder == holder()
    assert row.started_at.replace(tzinfo=UTC) == NOW
    assert row.beat_at.replace(tzinfo=UTC) == NOW + timedelta(seconds=20)
    assert row.state == RUNNING and len(row.detail) == 2000


def test_a_new_holder_starts_the_time_afresh(register: Settings,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    beat(register, "postfach:a/INBOX", "postfach", NOW)
    monkeypatch.setattr(heartbeats, "holder", lambda: "anderer-rechner:1")
    later = NOW + timedelta(minutes=5)
    beat(register, "postfach:a/INBOX", "postfach", later, state=ENDED)
    row = watcher(register, "postfach:a/INBOX")
    assert row is not None and row.holder == "anderer-rechner:1" and row.state == ENDED
    assert row.started_at.replace(tzinfo=UTC) == later


def test_the_heartbeat_writes_at_most_every_interval(register: Settings,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(heartbeats.time, "monotonic", lambda: clock[0])
    states: list[tuple[str, str]] = []
    monkeypatch.setattr(heartbeats, "beat", lambda _s, _n, _k, _now, *, state, detail:
                        states.append((state, detail)))
    pulse = Heartbeat(register, "ordner:/in", "ordner")
    pulse.beat()
    clock[0] += BEAT_EVERY - 1
    pulse.report("Posteingang nicht erreichbar")
    pulse.beat()  # too soon: nothing written
    clock[0] += 1
    pulse.beat()
    pulse.report("")
    pulse.beat(ended=True)  # the last beat is always written
    assert states == [(RUNNING, ""), (DISTURBED, "Posteingang nicht erreichbar"), (ENDED, "")]


def test_a_register_outage_is_logged_not_raised(tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    broken = make_settings(tmp_path, database_url=SecretStr(
        f"sqlite:///{tmp_path / 'leer.db'}"))
    with caplog.at_level(logging.WARNING, logger=heartbeats.__name__):
        Heartbeat(broken, "ordner:/in", "ordner").beat()  # no tables: the write fails
    assert "Herzschlag nicht gespeichert" in caplog.text
