"""The wait before the second look at the inbox: the whole stability window, unless every
file was seen closed by its writer (inotify), then what is left of the short window."""

from __future__ import annotations

from pathlib import Path

import pytest

from ews.runtime.folders import Observation, stability_wait


def seen(*names: str) -> list[Observation]:
    return [Observation(Path(name), 100, 1) for name in names]


def test_without_a_watch_every_file_waits_the_whole_window() -> None:
    assert stability_wait(seen("a.pdf"), 1.0, None, 0.25) == 1.0


def test_one_file_not_seen_closed_keeps_the_whole_window() -> None:
    quiet = {Path("a.pdf"): 5.0}
    assert stability_wait(seen("a.pdf", "b.pdf"), 1.0, lambda obs: quiet.get(obs.path),
                          0.25) == 1.0


def test_files_seen_closed_wait_only_what_is_left_of_the_short_window() -> None:
    quiet = {Path("a.pdf"): 0.1, Path("b.pdf"): 3.0}
    assert stability_wait(seen("a.pdf", "b.pdf"), 1.0, lambda obs: quiet[obs.path],
                          0.25) == pytest.approx(0.15)
    assert stability_wait(seen("b.pdf"), 1.0, lambda obs: quiet[obs.path], 0.25) == 0.0


def test_the_short_window_is_never_longer_than_the_whole_one() -> None:
    assert stability_wait(seen("a.pdf"), 0.05, lambda obs: 0.0, 0.25) == 0.05
