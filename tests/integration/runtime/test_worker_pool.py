"""The worker pool with real processes: warmed up with the job it is given, and a job that
never ends stopped without stopping the pool."""

from __future__ import annotations

import os
import sys

import pytest

from ews.intake.pipeline import preload
from ews.runtime import workers

pytestmark = pytest.mark.slow  # spawns pools of its own (seconds each)

# each test its own pool (workers.pool is cached per (workers, memory_mb))


def _loaded() -> tuple[int, bool]:
    return os.getpid(), "ews.intake.pipeline" in sys.modules


def _spin() -> None:
    while True:
        pass


def test_warm_up_runs_the_preload_job_it_is_given_in_the_workers() -> None:
    workers.warm_up(1, 730, preload)

    result = workers.outcome(workers.submit(_loaded, (), workers=1, memory_mb=730,
                                            timeout=60), 60)

    assert not isinstance(result, workers.WorkerFailed)
    pid, loaded = result
    assert loaded  # the intake's modules were imported by the warm-up, in this worker
    assert pid != os.getpid()


def test_a_job_that_never_ends_fails_and_the_pool_goes_on_with_a_new_worker() -> None:
    first = workers.outcome(workers.submit(_loaded, (), workers=1, memory_mb=740,
                                           timeout=60), 60)
    failed = workers.outcome(workers.submit(_spin, (), workers=1, memory_mb=740, timeout=1),
                             1)
    after = workers.outcome(workers.submit(_loaded, (), workers=1, memory_mb=740,
                                           timeout=60), 60)

    assert isinstance(failed, workers.WorkerFailed)  # its timeout, or its CPU time limit
    assert "abgebrochen" in failed.reason
    assert not isinstance(first, workers.WorkerFailed)
    assert not isinstance(after, workers.WorkerFailed)
    assert first[0] != after[0]  # the worker that ran it was ended and replaced
