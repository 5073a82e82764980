"""The worker pool with real processes: warmed up with the job it is given (its heap frozen
after, ``ews.runtime.heap``), and a job that never ends stopped without stopping the pool."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time

import pytest

from ews.intake.pipeline import preload
from ews.runtime import workers
from ews.runtime.settings import Settings

pytestmark = pytest.mark.slow  # spawns pools of its own (seconds each)

# each test its own pool (workers.pool is cached per (workers, memory_mb))


def _loaded() -> tuple[int, bool]:
    return os.getpid(), "ews.intake.pipeline" in sys.modules


def _frozen() -> tuple[int, bool, int]:
    return os.getpid(), "ews.intake.pipeline" in sys.modules, gc.get_freeze_count()


def _spin() -> None:
    while True:
        pass


def test_warm_up_runs_the_preload_job_it_is_given_in_the_workers() -> None:
    workers.warm_up(1, 730, preload)

    result = workers.outcome(workers.submit(_frozen, (), workers=1, memory_mb=730,
                                            timeout=60), 60)

    assert not isinstance(result, workers.WorkerFailed)
    pid, loaded, frozen = result
    assert loaded  # the intake's modules were imported by the warm-up, in this worker
    assert pid != os.getpid()
    assert frozen > 10_000  # and kept out of the collector's walks (pypdf, docxtpl …)


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


def _stages_loaded() -> tuple[int, bool, int]:
    return os.getpid(), "ews.intake.stages" in sys.modules, gc.get_freeze_count()


def test_start_returns_at_once_and_the_worker_imports_the_module_named() -> None:
    # the pull step of `posteingang` (flows.early_workers): the pool starts while the flow
    # run's process still loads its code; this process has not imported the module
    started = time.monotonic()
    workers.start(1, 731, "ews.intake.stages")
    assert time.monotonic() - started < 1.0  # spawning a worker that imports takes seconds

    result = workers.outcome(workers.submit(_stages_loaded, (), workers=1, memory_mb=731,
                                            timeout=60), 60)

    assert not isinstance(result, workers.WorkerFailed)
    pid, loaded, frozen = result
    assert loaded and pid != os.getpid()
    assert frozen > 10_000  # what it imported, frozen


def test_a_process_held_to_one_core_reads_with_one_worker() -> None:
    # taskset (or a container's cpuset): as many reading processes as cores it may use
    code = ("from ews.runtime.settings import Settings; "
            "print(Settings(_env_file=None).worker_count)")
    shown = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", code], check=True,
                           capture_output=True, text=True, timeout=60,
                           env={k: v for k, v in os.environ.items()
                                if not k.startswith("EWS_")})
    assert shown.stdout.strip() == "1"
    assert Settings(_env_file=None).worker_count == len(os.sched_getaffinity(0))
