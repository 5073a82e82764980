"""Intake passes in this process, one at a time, whenever a watcher asked since the last:
``ews betrieb starten``'s passes, and in the distributed setup the first pass of a watcher
(``flows.watchers``), which would otherwise wait for a worker to poll and start a run."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from ews.runtime.redaction import redact, secret_values
from ews.runtime.settings import Settings

if TYPE_CHECKING:
    from ews.intake.pipeline import InputResult
    from flows.intake import WarmPasses

PASS_BACKOFF, MAX_PASS_BACKOFF = 5.0, 300.0  # seconds after the first and any failed pass


def pass_backoff(previous: float) -> float:
    """Seconds to wait after a failed pass, given the wait after the one before (0: none)."""
    return min(max(previous * 2, PASS_BACKOFF), MAX_PASS_BACKOFF)


def _ignore(_results: list[InputResult]) -> None:
    return None


class PassRunner(threading.Thread):
    """Runs one intake pass at a time, whenever a watcher asked for one since the last.
    ``failed`` gets the German reason of a failed pass (redacted) and the seconds until the
    next try; ``finished`` the results of each pass."""

    def __init__(self, settings: Settings, failed: Callable[[str, float], None],
                 finished: Callable[[list[InputResult]], None] = _ignore) -> None:
        super().__init__(name="posteingang-laeufe", daemon=True)
        self.settings, self.failed, self.finished = settings, failed, finished
        self.wanted, self.stopping = threading.Event(), threading.Event()
        self._running = threading.Event()

    def request(self) -> None:
        self.wanted.set()

    def idle(self) -> bool:
        """No pass running and none asked for: a pass asked for now starts at once."""
        return not self._running.is_set() and not self.wanted.is_set()

    def run(self) -> None:
        from flows.intake import WarmPasses  # deferred: Prefect reads its settings at import

        passes = WarmPasses()  # one event loop and one Prefect client for every pass
        try:
            self._serve(passes)
        finally:
            passes.close()

    def _serve(self, passes: WarmPasses) -> None:
        backoff = 0.0  # after a failed pass (database, mailbox, disk): 5 s, 10 s … 5 min
        while not self.stopping.is_set():
            if not self.wanted.wait(0.2) or self.stopping.is_set():
                continue
            self._running.set()
            self.wanted.clear()
            try:
                results = passes.run()  # the settings of this process's environment
            except Exception as exc:  # noqa: BLE001 - the run is marked failed in Prefect
                # only the service's own failures end a pass (an input's end it alone): the
                # watchers ask again at once, so wait, longer each time, before the next
                backoff = pass_backoff(backoff)
                self.failed(redact(str(exc), secret_values(self.settings)), backoff)
                self.stopping.wait(backoff)
                self.wanted.set()  # what failed is still there
                continue
            finally:
                self._running.clear()
            backoff = 0.0
            self.finished(results)
