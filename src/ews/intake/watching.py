"""The inbox watcher's rules (deployment ``ordner``, ``flows.watchers``): when a file that
stopped changing, or work a killed worker left, is worth another intake pass. Pure but for
``InboxWatch.look``, which is handed the folder's observation and a count of the leftovers
(the I/O stays with the caller)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ews.runtime.folders import Observation, unchanged

REASK = 60.0  # seconds before the same file (or leftover work) starts another pass
#: leftover work that has not shrunk for three asks in a row (its passes fail: the register,
#: the disk) is asked for after twice the wait each further time, up to this many seconds
MAX_REASK = 600.0
#: the key under which ``asked`` remembers the last ask for leftover work
LEFTOVERS = ""


def files_to_ask(previous: Mapping[Path, Observation], current: Mapping[Path, Observation],
                 asked: Mapping[str, float], now: float) -> list[str]:
    """The files that stopped changing and were not asked for within ``REASK`` seconds (a
    started pass needs a few seconds to come up)."""
    return [str(obs.path) for obs in unchanged(previous, current)
            if now - asked.get(str(obs.path), -REASK) >= REASK]


def leftover_wait(stalled: int) -> float:
    """Seconds between two asks for leftover work that has not shrunk ``stalled`` times."""
    return min(REASK * 2 ** max(0, stalled - 2), MAX_REASK)


@dataclass
class Leftovers:
    """How often leftover work was asked for without shrinking, and the wait that follows."""

    wait: float = REASK
    previous: int = 0
    stalled: int = 0

    def record(self, left: int) -> None:
        if not left:  # 0 also while a pass runs: no news
            return
        self.stalled = self.stalled + 1 if left >= self.previous > 0 else 0
        self.wait = leftover_wait(self.stalled)
        self.previous = left


@dataclass
class InboxWatch:
    """What the watcher remembers between two looks at the inbox."""

    previous: dict[Path, Observation]
    #: when a pass was asked for a file (or, under ``LEFTOVERS``, for leftover work)
    asked: dict[str, float] = field(default_factory=dict)
    leftovers: Leftovers = field(default_factory=Leftovers)
    #: whether the last look found a file new or changed (look again after the window)
    changing: bool = False

    def look(self, current: dict[Path, Observation], now: float,
             count_leftovers: Callable[[], int]) -> tuple[list[str], int]:
        """The files and the number of leftover items to start passes for at ``now``;
        ``count_leftovers`` is called only when leftover work is due to be asked for."""
        stable = files_to_ask(self.previous, current, self.asked, now)
        due = now - self.asked.get(LEFTOVERS, -REASK) >= self.leftovers.wait
        left = count_leftovers() if due else 0
        self.leftovers.record(left)
        if stable or left:
            self.asked.update({key: now for key in [*stable, LEFTOVERS]})
        self.changing = any(self.previous.get(path) != obs for path, obs in current.items())
        self.previous = current
        return stable, left

    def next_wait(self, window: float, poll: float) -> float:
        """Seconds until the next look: the stability window while a file is changing (so
        that it is asked for as soon as it stopped), else the poll."""
        return window if self.changing else poll
