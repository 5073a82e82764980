"""The inbox's change notification on the real file system (inotify): a written file wakes
the waiter at once, a file taken out does not, and stopping ends the watch within a bound."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from ews.intake.inbox_changes import InboxChanges

#: timed waits on the watch thread stall under libfaketime (the clock guard)
pytestmark = pytest.mark.realclock


def started(inbox: Path) -> tuple[InboxChanges, threading.Event]:
    stopping = threading.Event()
    changes = InboxChanges(inbox, stopping)
    time.sleep(0.3)  # the watch is set up in its thread
    return changes, stopping


def test_a_file_written_into_a_subfolder_wakes_the_waiter_well_before_the_poll(
        tmp_path: Path) -> None:
    (tmp_path / "scans").mkdir()
    changes, stopping = started(tmp_path)
    try:
        assert changes.watching
        begun = time.monotonic()
        (tmp_path / "scans" / "bewerbung.pdf").write_bytes(b"%PDF-1.7")
        assert changes.wait(30)
        assert time.monotonic() - begun < 5
    finally:
        stopping.set()


def test_a_file_a_pass_takes_out_or_into_its_work_folder_wakes_nobody(tmp_path: Path) -> None:
    (tmp_path / "bewerbung.pdf").write_bytes(b"%PDF-1.7")
    (tmp_path / ".ews-in-arbeit").mkdir()
    changes, stopping = started(tmp_path)
    try:
        (tmp_path / "bewerbung.pdf").rename(tmp_path / ".ews-in-arbeit" / "bewerbung.pdf")
        (tmp_path / "scan.pdf.part").write_bytes(b"%PDF-1.7")  # still being downloaded
        assert not changes.wait(1.0)
    finally:
        stopping.set()


def test_stopping_ends_the_watch_and_a_wait_returns_at_once(tmp_path: Path) -> None:
    changes, stopping = started(tmp_path)

    stopping.set()
    begun = time.monotonic()
    assert not changes.wait(30)

    assert time.monotonic() - begun < 5
    deadline = time.monotonic() + 5
    while changes.watching and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not changes.watching


def test_a_missing_inbox_leaves_the_poll(tmp_path: Path) -> None:
    changes, stopping = started(tmp_path / "fehlt")
    try:
        assert not changes.watching
        begun = time.monotonic()
        assert not changes.wait(0.2)
        assert time.monotonic() - begun >= 0.2
    finally:
        stopping.set()


def test_an_inbox_given_relative_to_the_working_folder_is_watched(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "inbox").mkdir()
    monkeypatch.chdir(tmp_path)
    changes, stopping = started(Path("inbox"))
    try:
        (tmp_path / "inbox" / "bewerbung.pdf").write_bytes(b"%PDF-1.7")
        assert changes.wait(10)
    finally:
        stopping.set()
