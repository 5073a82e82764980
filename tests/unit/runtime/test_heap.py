"""Freezing a warm process's heap (``ews.runtime.heap``): garbage is collected first, what
is alive is frozen, and it is handed back at exit; a worker whose module came with the fork
server freezes without a collection."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ews.runtime import heap, workers


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the test session's objects are collected again


def test_freeze_collects_the_garbage_first_and_freezes_what_lives(unfrozen: None) -> None:
    dead, alive = _Node(), _Node()
    dead.other, alive.other = _Node(), _Node()
    dead.other.other = dead  # a cycle nobody holds: garbage
    alive.other.other = alive  # a cycle held by this test
    gone = weakref.ref(dead)
    del dead
    before = gc.get_freeze_count()

    heap.freeze()

    assert gone() is None  # collected, not frozen for good
    assert gc.get_freeze_count() > before
    # frozen: the collector's walks leave it out, and it lives on
    assert not any(tracked is alive for tracked in gc.get_objects())
    assert alive.other is not None and alive.other.other is alive


def test_a_frozen_process_ends_without_leak_reports() -> None:
    # extension modules (zxing-cpp's nanobind) report the objects still frozen at exit
    code = ("from ews.runtime import heap; import ews.intake.pipeline; "
            "heap.freeze(); heap.freeze(); print('ok')")
    ended = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=120, check=True)
    assert ended.stdout.strip() == "ok"
    assert "leaked" not in ended.stderr


def _full_collections(action: Callable[[], object]) -> int:
    """How many collections of the oldest generation ``action`` caused."""
    started: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            started.append(1)

    gc.callbacks.append(note)
    try:
        action()
    finally:
        gc.callbacks.remove(note)
    return len(started)


def test_the_import_job_collects_only_when_it_imported(
        unfrozen: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a worker forked from the warm start's fork server has the jobs' module, and a heap
    # without garbage: it freezes without walking it (60–85 ms of the run's start)
    (tmp_path / "ews_heap_probe.py").write_text("VALUE = 1\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "ews_heap_probe", raising=False)
    before = gc.get_freeze_count()

    assert _full_collections(lambda: workers._import("ews_heap_probe")) == 1  # imported now
    assert gc.get_freeze_count() > before
    assert _full_collections(lambda: workers._import("ews_heap_probe")) == 0  # had it
    assert _full_collections(lambda: workers._import("ews.runtime.heap")) == 0
