"""The inbox's change notification on the real file system (inotify): a written file wakes
the waiter at once, a file taken out does not, and stopping ends the watch within a bound; a
file counts as closed (the short stability window) only once its writer closed it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from ews.intake.inbox_changes import InboxChanges, closed_files
from ews.runtime.folders import observe_inbox, stable_files

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


def quiet_since_close(inbox: Path, path: Path) -> float | None:
    closed = closed_files(inbox)
    assert closed is not None  # the watch of this test is active
    observed = observe_inbox(inbox.resolve()).get(path.resolve())
    return None if observed is None else closed(observed)


def wait_until_closed(inbox: Path, path: Path) -> float:
    deadline = time.monotonic() + 10
    while (quiet := quiet_since_close(inbox, path)) is None:
        assert time.monotonic() < deadline, "der Schreiber hat die Datei geschlossen"
        time.sleep(0.02)
    return quiet


def test_a_file_written_in_slow_chunks_is_not_taken_before_its_writer_closed_it(
        tmp_path: Path) -> None:
    changes, stopping = started(tmp_path)
    target = tmp_path / "bewerbung.pdf"
    done = threading.Event()

    def write_slowly() -> None:
        with target.open("wb") as handle:
            for _ in range(5):  # each pause longer than the short window after a close
                handle.write(b"%PDF-1.7\n" * 2000)
                handle.flush()
                time.sleep(0.4)
        done.set()

    writer = threading.Thread(target=write_slowly)
    try:
        writer.start()
        deadline = time.monotonic() + 30
        while not done.is_set() and time.monotonic() < deadline:
            if quiet_since_close(tmp_path, target) is not None:
                # counted as closed: only right at the close, never in a pause between writes
                assert done.wait(0.1), "als geschlossen gezählt, während noch geschrieben wird"
            time.sleep(0.02)
        assert done.is_set()
        wait_until_closed(tmp_path, target)
        begun = time.monotonic()
        [stable] = stable_files(tmp_path.resolve(), 5.0, closed=closed_files(tmp_path),
                                settle=0.25)
        assert stable.path == target.resolve()
        assert time.monotonic() - begun < 2.5  # the short window, not the whole 5 s
    finally:
        writer.join(10)
        stopping.set()


def test_a_file_opened_again_for_writing_counts_as_open_until_closed_again(
        tmp_path: Path) -> None:
    changes, stopping = started(tmp_path)
    target = tmp_path / "bewerbung.pdf"
    try:
        target.write_bytes(b"%PDF-1.7\n")
        wait_until_closed(tmp_path, target)
        with target.open("ab") as handle:
            handle.write(b"% mehr\n")
            handle.flush()
            time.sleep(0.5)
            assert quiet_since_close(tmp_path, target) is None
        assert wait_until_closed(tmp_path, target) < 5
    finally:
        stopping.set()


def test_without_a_watch_no_file_counts_as_closed(tmp_path: Path) -> None:
    (tmp_path / "bewerbung.pdf").write_bytes(b"%PDF-1.7")
    assert closed_files(tmp_path) is None  # a pass in another process: the whole window
