"""``flows.watchers.PassStarter`` without Prefect: which passes a watcher works itself and
how many runs of the intake deployment it starts for a batch (the runs and the API are
replaced by counters; the real ones run in ``tests/flows/test_cluster.py``)."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from ews.intake.sharing import CHUNK
from ews.runtime.settings import PrefectSettings, Settings
from flows.watchers import OwnPasses, PassStarter


class OwnRunner:
    """Stands in for ``flows.pass_runner.PassRunner``: idle until asked, then busy."""

    def __init__(self, *, busy: bool = False) -> None:
        self.busy, self.requests = busy, 0

    def idle(self) -> bool:
        return not self.busy

    def request(self) -> None:
        self.requests += 1
        self.busy = True


class Starter(PassStarter):
    def __init__(self, passes: int, local: OwnRunner | None, *, waiting: int = 0,
                 broken: bool = False) -> None:
        super().__init__("posteingang/posteingang", passes, local,  # type: ignore[arg-type]
                         logging.getLogger("test"))
        self.runs, self.waiting, self.broken = 0, waiting, broken

    def _waiting_runs(self) -> int:
        if self.broken:
            raise ConnectionError("Prefect-API nicht erreichbar")
        return self.waiting

    def _start_run(self) -> None:
        self.runs += 1


def test_nothing_is_started_unless_asked() -> None:
    starter = Starter(2, OwnRunner())
    assert starter.pump() == 0
    assert starter.runs == 0 and starter.local.requests == 0  # type: ignore[union-attr]


def test_a_small_batch_is_worked_by_the_watcher_alone() -> None:
    own = OwnRunner()
    starter = Starter(2, own)
    starter.request(CHUNK)
    assert starter.pump() == 1
    assert own.requests == 1 and starter.runs == 0


def test_a_large_batch_gets_the_watchers_pass_and_runs_for_the_rest() -> None:
    own = OwnRunner()
    starter = Starter(4, own)
    starter.request(10 * CHUNK)
    assert starter.pump() == 4
    assert own.requests == 1 and starter.runs == 3
    assert starter.started == 4


def test_while_the_watchers_pass_runs_new_work_gets_runs_and_another_pass_after() -> None:
    own = OwnRunner(busy=True)
    starter = Starter(2, own)
    starter.request(3)
    assert starter.pump() == 1  # the run; the watcher's next pass follows its current one
    assert starter.runs == 1 and own.requests == 1


def test_no_run_while_one_still_waits_to_start_but_the_watcher_works() -> None:
    own = OwnRunner()
    starter = Starter(2, own, waiting=1)
    starter.request(5 * CHUNK)
    assert starter.pump() == 1
    assert own.requests == 1 and starter.runs == 0


def test_without_its_own_passes_the_watcher_starts_runs_only() -> None:
    starter = Starter(2, None)
    starter.request(5 * CHUNK)
    assert starter.pump() == 2 and starter.runs == 2
    starter.request(1)
    assert starter.pump() == 1 and starter.runs == 3


def test_the_api_failing_stops_no_pass_of_the_watcher(caplog: pytest.LogCaptureFixture
                                                      ) -> None:
    own = OwnRunner()
    starter = Starter(2, own, broken=True)
    starter.request(5 * CHUNK)
    with caplog.at_level(logging.WARNING, logger="test"):
        assert starter.pump() == 1
    assert own.requests == 1 and starter.runs == 0
    assert "Weitere Posteingangsläufe nicht gestartet: Prefect-API nicht erreichbar" \
        in caplog.text


def test_without_its_own_passes_an_api_failure_ends_the_watcher_run() -> None:
    starter = Starter(2, None, broken=True)
    starter.request(1)
    with pytest.raises(ConnectionError):
        starter.pump()


class SlowPass(threading.Thread):
    """Stands in for a pass runner whose pass takes ``seconds`` after it was told to stop."""

    def __init__(self, seconds: float) -> None:
        super().__init__(daemon=True)
        self.seconds, self.stopping = seconds, threading.Event()

    def run(self) -> None:
        self.stopping.wait(30)
        time.sleep(self.seconds)


def test_a_watcher_at_its_end_finishes_its_own_pass(settings: Settings) -> None:
    own = OwnPasses(settings, logging.getLogger("test"))
    own.runner = SlowPass(0.3)  # type: ignore[assignment]
    own.runner.start()
    with own:
        pass
    assert not own.runner.is_alive()


def test_a_cancelled_watcher_does_not_wait_for_its_own_pass(settings: Settings) -> None:
    own = OwnPasses(settings, logging.getLogger("test"))
    own.runner = SlowPass(5.0)  # type: ignore[assignment]
    own.runner.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt), own:
        raise KeyboardInterrupt
    assert time.monotonic() - started < 2.0 and own.runner.stopping.is_set()


def test_a_watcher_without_its_own_passes_starts_no_reading_processes(settings: Settings
                                                                      ) -> None:
    off = settings.model_copy(update={"prefect": PrefectSettings(watcher_pass=False)})
    with OwnPasses(off, logging.getLogger("test")) as own:
        assert own.start() is None
