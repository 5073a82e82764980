"""Worker processes for reading and rendering, with a memory limit and a per-input timeout
(I/O: processes). Spawned once per service process and reused across runs."""

from __future__ import annotations

import atexit
import multiprocessing
import os
import resource
import signal
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from functools import cache
from typing import Any, TypeVar

import pebble

T = TypeVar("T")


class WorkerFailed(Exception):
    """A job ended without a result: timeout, memory limit, or a crashed worker process."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _limit_worker(memory_mb: int) -> None:
    # Ctrl+C in the terminal and a service manager's SIGTERM reach the whole process group:
    # the service decides when its workers stop (after the pass in progress), not the signal;
    # the pool ends them with SIGKILL after its grace period
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # tesseract: 3x faster on 2 cores
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@cache
def pool(workers: int, memory_mb: int) -> pebble.ProcessPool:
    """A process pool kept for the lifetime of this process."""
    created = pebble.ProcessPool(max_workers=workers, initializer=_limit_worker,
                                 initargs=(memory_mb,),
                                 context=multiprocessing.get_context("spawn"))
    atexit.register(created.stop)
    return created


def warm_up(workers: int, memory_mb: int) -> None:
    """Start the worker processes and import the heavy modules in each of them."""
    futures = [pool(workers, memory_mb).schedule(_import_heavy) for _ in range(workers * 2)]
    for future in futures:
        future.result()


def _import_heavy() -> None:
    import ews.pipeline  # noqa: F401


def submit(function: Callable[..., T], args: tuple[Any, ...], *, workers: int, memory_mb: int,
           timeout: float) -> pebble.ProcessFuture[T]:
    """Queue ``function(*args)`` on the pool (jobs run in the order they were queued)."""
    return pool(workers, memory_mb).schedule(function, args=args, timeout=timeout)


def outcome(future: pebble.ProcessFuture[T], timeout: float) -> T | WorkerFailed:
    """Wait for a job: its result, or WorkerFailed with a German reason when the worker hit
    the timeout or the memory limit or died. Errors raised by the job itself propagate."""
    try:
        return future.result()
    except FutureTimeout:
        return WorkerFailed(f"Die Verarbeitung dauerte länger als {timeout:.0f} Sekunden "
                            "und wurde abgebrochen.")
    except MemoryError:
        return WorkerFailed("Die Datei benötigt beim Lesen mehr Arbeitsspeicher als erlaubt "
                            "(z. B. extrem stark komprimierte Inhalte).")
    except pebble.ProcessExpired as exc:
        return WorkerFailed(f"Der Leseprozess wurde unerwartet beendet ({exc}).")
