"""Freezing a warm process's heap (``ews.runtime.heap``): garbage is collected first, what
is alive is frozen, and it is handed back at exit."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from collections.abc import Iterator

import pytest

from ews.runtime import heap


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
