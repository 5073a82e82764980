"""The inbox watcher's rules: which files are worth a pass, and how often leftover work is
asked for when its passes keep failing. No folder, no register: observations are made up."""

from __future__ import annotations

from pathlib import Path

from ews.intake.watching import (
    LEFTOVERS,
    MAX_REASK,
    REASK,
    InboxWatch,
    Leftovers,
    files_to_ask,
    leftover_wait,
)
from ews.runtime.folders import Observation

A, B = Path("/in/a.pdf"), Path("/in/b.pdf")


def seen(path: Path, size: int, mtime: int = 1) -> dict[Path, Observation]:
    return {path: Observation(path, size, mtime)}


def test_a_file_is_asked_for_once_it_stopped_changing_and_again_only_after_the_wait() -> None:
    before, after = seen(A, 10) | seen(B, 1), seen(A, 10) | seen(B, 2)

    assert files_to_ask(before, after, {}, now=0.0) == [str(A)]
    assert files_to_ask(before, after, {str(A): 0.0}, now=REASK - 1) == []
    assert files_to_ask(before, after, {str(A): 0.0}, now=REASK) == [str(A)]


def test_leftover_work_waits_longer_after_the_third_ask_without_shrinking() -> None:
    assert [leftover_wait(n) for n in range(6)] == [REASK, REASK, REASK, 2 * REASK, 4 * REASK,
                                                    8 * REASK]
    assert leftover_wait(50) == MAX_REASK


def test_leftovers_that_shrink_start_over_and_nothing_left_is_no_news() -> None:
    leftovers = Leftovers()
    for _ in range(4):
        leftovers.record(5)
    assert (leftovers.stalled, leftovers.wait) == (3, 2 * REASK)
    leftovers.record(0)  # a pass runs: no news
    assert (leftovers.stalled, leftovers.wait) == (3, 2 * REASK)
    leftovers.record(4)
    assert (leftovers.stalled, leftovers.wait, leftovers.previous) == (0, REASK, 4)


def test_a_look_asks_for_stable_files_and_leftovers_and_remembers_when() -> None:
    counted: list[float] = []
    watch = InboxWatch(seen(A, 10))

    def count() -> int:
        counted.append(1)
        return 3

    assert watch.look(seen(A, 10), 100.0, count) == ([str(A)], 3)
    assert watch.asked == {str(A): 100.0, LEFTOVERS: 100.0}
    # within the wait: neither the file nor the leftovers again, and the count is not taken
    assert watch.look(seen(A, 10), 100.0 + REASK / 2, count) == ([], 0)
    assert len(counted) == 1
    assert watch.look(seen(A, 10), 100.0 + REASK, count) == ([str(A)], 3)


def test_a_file_still_being_written_is_not_asked_for() -> None:
    watch = InboxWatch(seen(A, 10))

    assert watch.look(seen(A, 20, 2), 0.0, lambda: 0) == ([], 0)
    assert watch.look(seen(A, 20, 2), 1.0, lambda: 0) == ([str(A)], 0)
    assert watch.previous == seen(A, 20, 2)


def test_after_a_look_that_saw_a_change_the_next_look_comes_after_the_window() -> None:
    watch = InboxWatch(seen(A, 10))

    watch.look(seen(A, 20, 2), 0.0, lambda: 0)
    assert watch.next_wait(0.5, 5.0) == 0.5  # still being written, or new
    watch.look(seen(A, 20, 2), 0.5, lambda: 0)
    assert watch.next_wait(0.5, 5.0) == 5.0  # stopped changing and asked for: the poll
    watch.look({}, 1.0, lambda: 0)  # taken out of the inbox by a pass
    assert watch.next_wait(0.5, 5.0) == 5.0
