"""Worker processes for reading and rendering, with resource limits and a per-input timeout
(I/O: processes). Spawned once per service process and reused across runs.

Each worker has limits on its address space (``read_memory_mb``), on the size of a file it
writes (twice that: what it writes it has built in memory, apart from streamed copies) and,
per job, on CPU time (the job's timeout). It has no core dumps, and none of the service's
secrets in its environment (``EWS_*``, ``PREFECT_*``, ``*PASSWORD*``): it gets its settings by
pickling. The programs a worker starts on untrusted input run contained
(``ews.runtime.child_processes``) and die with the worker when the pool kills it on a timeout.

The workers stay in the service's process group: a service manager's SIGKILL to the group
(or its control group) takes them along; Ctrl+C and SIGTERM they ignore (see below).
"""

from __future__ import annotations

import atexit
import errno
import importlib
import math
import multiprocessing
import os
import re
import resource
import signal
import sys
from collections.abc import Callable, MutableMapping
from concurrent.futures import TimeoutError as FutureTimeout
from functools import cache
from multiprocessing import forkserver, resource_tracker
from typing import Any, TypeVar

import pebble

from ews.runtime import heap
from ews.runtime.settings import Settings

T = TypeVar("T")

#: environment variables a worker does not keep: the service's settings and secrets
_SECRET_NAME = re.compile(r"^(EWS_|PREFECT_)|PASSWORD|PASSWD", re.IGNORECASE)


class WorkerFailed(Exception):
    """A job ended without a result: timeout, a limit (memory, CPU time, file size), or a
    crashed worker process."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _limit_worker(memory_mb: int) -> None:
    # Ctrl+C in the terminal and a service manager's SIGTERM reach the whole process group:
    # the service decides when its workers stop (after the pass in progress), not the signal;
    # the pool ends them with SIGKILL after its grace period
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _drop_secrets(os.environ)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # tesseract: 3x faster on 2 cores
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_FSIZE, (2 * limit, 2 * limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _drop_secrets(environ: MutableMapping[str, str]) -> None:
    """Spawn copied the service's environment; the worker needs none of its secrets.
    (The kernel's copy in /proc/<pid>/environ keeps them; only the same user can read it.)"""
    for name in [name for name in environ if _SECRET_NAME.search(name)]:
        del environ[name]


def _limited_job(function: Callable[..., T], cpu_seconds: int, args: tuple[Any, ...]) -> T:
    """Runs in the worker: ``function(*args)`` with at most ``cpu_seconds`` more CPU time.

    RLIMIT_CPU counts over the life of a process, and workers are reused: the soft limit is
    moved on before each job (SIGXCPU ends the worker when a job overruns it)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(usage.ru_utime + usage.ru_stime) + cpu_seconds
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    return function(*args)


#: how worker processes start: each a fresh interpreter ("spawn"), or forked from a fork
#: server that has the jobs' modules imported already ("forkserver": the cluster's warm start
#: process starts one for itself and the runs it forks, see ``use_forkserver``)
_start_method = "spawn"


def use_forkserver(modules: list[str]) -> None:
    """Start the fork server now, with ``modules`` imported, and start the worker processes of
    this process, and of its forked copies (``adopt_forkserver``), from it. Each worker is still
    a process of its own with the limits above and without the service's secrets."""
    global _start_method
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(modules)
    forkserver.ensure_running()
    _start_method = "forkserver"


def adopt_forkserver() -> None:
    """In a forked copy of the process that called ``use_forkserver``: use its fork server.

    multiprocessing checks that its fork server lives by waiting for it as a child, which it
    is not of the copy; the copy checks by signal 0 instead, and starts a fork server of its
    own (as multiprocessing would) once the inherited one is gone."""
    server: Any = forkserver._forkserver  # its private state
    original = server.ensure_running

    def ensure_running() -> None:
        pid = server._forkserver_pid
        if pid is not None:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                if server._forkserver_alive_fd is not None:
                    os.close(server._forkserver_alive_fd)
                server._forkserver_address = server._forkserver_alive_fd = None
                server._forkserver_pid = None
            else:
                resource_tracker.ensure_running()
                return
        original()

    server.ensure_running = ensure_running


@cache
def pool(workers: int, memory_mb: int) -> pebble.ProcessPool:
    """A process pool kept for the lifetime of this process."""
    created = pebble.ProcessPool(max_workers=workers, initializer=_limit_worker,
                                 initargs=(memory_mb,),
                                 context=multiprocessing.get_context(_start_method))
    atexit.register(_shut_down, created)
    return created


def _shut_down(pool: pebble.ProcessPool) -> None:
    """Stop the workers and wait for them (terminated, killed if need be): left to the
    interpreter's exit, a process lingered about six seconds after its last job."""
    pool.stop()
    pool.join()


def warm_up(workers: int, memory_mb: int, preload: Callable[[], object]) -> None:
    """Start the worker processes and run ``preload`` in each of them: a module-level function
    of the module whose imports are heavy (unpickling it in the worker imports them)."""
    futures = [pool(workers, memory_mb).schedule(_warm, args=(preload,))
               for _ in range(workers * 2)]
    for future in futures:
        future.result()


def _warm(preload: Callable[[], object]) -> None:
    """A worker job: ``preload`` arrived imported (unpickling it imported its module); what
    the worker has loaded now it keeps, so it is frozen (``heap.freeze``)."""
    preload()
    heap.freeze()


def start(workers: int, memory_mb: int, module: str) -> None:
    """Start the worker processes and have each import ``module`` (named, so that this
    process need not import it first), without waiting for them: a new process starts its
    workers while it still imports its own code."""
    started = pool(workers, memory_mb)
    for _ in range(workers):
        started.schedule(_import, args=(module,))


def _import(module: str) -> None:
    """A worker job (by module and name): import ``module`` and freeze what the worker holds
    then. Already imported (it came with the fork server, as did a heap without garbage, or an
    earlier job of this worker's imported it and froze), it is frozen without a collection
    (``heap.freeze``)."""
    inherited = module in sys.modules
    importlib.import_module(module)
    heap.freeze(collect=not inherited)


def submit(function: Callable[..., T], args: tuple[Any, ...], *, workers: int, memory_mb: int,
           timeout: float) -> pebble.ProcessFuture[T]:
    """Queue ``function(*args)`` on the pool (jobs run in the order they were queued)."""
    cpu_seconds = math.ceil(timeout) + 1
    return pool(workers, memory_mb).schedule(
        _limited_job, args=(function, cpu_seconds, args), timeout=timeout
    )


def submit_limited(settings: Settings, function: Callable[..., T], *args: Any
                   ) -> pebble.ProcessFuture[T]:
    """``submit`` on the service's pool with the limits of the settings: the worker count,
    ``intake.read_memory_mb`` and the timeout ``intake.read_timeout_seconds`` (every job on
    what an input brought: reading, preparing a mail, rendering)."""
    limits = settings.intake
    return submit(function, args, workers=settings.worker_count,
                  memory_mb=limits.read_memory_mb, timeout=limits.read_timeout_seconds)


def outcome(future: pebble.ProcessFuture[T], timeout: float) -> T | WorkerFailed:
    """Wait for a job: its result, or WorkerFailed with a German reason when the worker hit
    the timeout or a limit or died. Errors raised by the job itself propagate."""
    try:
        return future.result()
    except FutureTimeout:
        return WorkerFailed(f"Die Verarbeitung dauerte länger als {timeout:.0f} Sekunden "
                            "und wurde abgebrochen.")
    except MemoryError:
        return WorkerFailed("Die Datei benötigt beim Lesen mehr Arbeitsspeicher als erlaubt "
                            "(z. B. extrem stark komprimierte Inhalte).")
    except pebble.ProcessExpired as exc:
        if exc.exitcode == -signal.SIGXCPU:
            return WorkerFailed("Die Verarbeitung brauchte mehr Rechenzeit als erlaubt "
                                f"({timeout:.0f} Sekunden) und wurde abgebrochen.")
        return WorkerFailed(f"Der Leseprozess wurde unerwartet beendet ({exc}).")
    except OSError as exc:  # after ProcessExpired, an OSError too
        if exc.errno != errno.EFBIG:
            raise
        return WorkerFailed("Die Verarbeitung hätte eine Datei über der erlaubten Größe "
                            "geschrieben und wurde abgebrochen.")
