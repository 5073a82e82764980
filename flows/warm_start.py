"""Flow runs of the cluster started warm (I/O: processes, a Unix socket).

A process worker starts a new Python process for each flow run, and that process spends
seconds of CPU importing Prefect and the service before the first input is read: on a worker
held to one core, more than the run then needs for a few hundred applications. The warm
start pays that once per machine:

- ``python -m flows.warm_start --dienst`` (systemd unit ``ews-vorstart``) imports Prefect and
  every flow of the service, listens on the Unix socket in ``EWS_VORSTART_SOCKET`` (mode
  0600) and forks a copy of itself for each run it is asked for;
- ``python -m ews.runtime.warm_runs``, the command the deployments give the process worker
  (standard library only, so that it starts in milliseconds), asks for that copy. It hands
  over its environment, working directory and standard streams, forwards the signals the
  worker sends (cancellation), and exits with the run's exit code. The copy runs
  ``prefect.engine`` as ``python -m prefect.engine`` would. ``python -m flows.warm_start``
  without ``--dienst`` does the same (the command of deployments made before).

When no warm start process answers (not installed, not running, or its code is older than the
files on disk: the service's or an installed library's), the run starts cold, as ``python -m
prefect.engine``: the warm start only saves time, and a run never waits for it or fails for
want of it. After an update the warm start process notices the changed code, sends the next
run to the cold start and ends; systemd starts it again with the new code.

``ews betrieb status`` asks the warm start process how it is (``state``). The run's process
is a child of the warm start process: a run keeps going when the warm start process is
restarted (``KillMode=process``), and ends when the worker's process for it ends (its
connection closes).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import runpy
import shutil
import signal
import socket
import sys
import sysconfig
import tempfile
import threading
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from ews.runtime import heap, warm_runs, workers
from ews.runtime.settings import Settings
from ews.runtime.warm_runs import MESSAGE_BYTES, SOCKET_ENV, ColdStart, ask
from flows import early_workers, prepare_prefect_environment
from flows.deployments import office_deployments

#: a run that outlives its worker's process by this long after SIGTERM is killed
ORPHAN_GRACE_SECONDS = 30.0
_REQUEST_SECONDS = 2.0  # a caller sends its request at once


def main(argv: list[str] | None = None) -> int:
    """``--dienst``: the warm start process; otherwise the command of a flow run
    (``ews.runtime.warm_runs``)."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--dienst"]:
        serve(Path(os.environ[SOCKET_ENV]))
    return warm_runs.main(args)


# -- the warm start process ---------------------------------------------------------------

def serve(path: Path) -> NoReturn:
    """Import everything a run needs, then fork a copy for each request on ``path``."""
    code = code_state()
    _preload()
    # the runs' reading processes fork from a server with their modules imported, instead of
    # each importing them anew (seconds of CPU on a worker held to one core)
    workers.use_forkserver([early_workers.JOBS])
    heap.freeze()  # the runs share its pages: a collection in one would copy them
    if threading.active_count() != 1:  # a fork copies one thread: the others' locks hang
        raise SystemExit("Warmstart: nach dem Laden laufen "
                         f"{threading.active_count()} Threads, erwartet 1")
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the runs' processes
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    old_mask = os.umask(0o177)
    try:
        listener.bind(str(path))
    finally:
        os.umask(old_mask)
    listener.listen(16)
    since, runs = datetime.now(UTC).isoformat(timespec="seconds"), 0
    print(f"Warmstart bereit: {path} (Prozess {os.getpid()})", file=sys.stderr, flush=True)
    while True:
        connection, _address = listener.accept()
        with connection:
            connection.settimeout(_REQUEST_SECONDS)  # a silent caller holds up no run long
            try:
                message, fds, _flags, _address = socket.recv_fds(connection, MESSAGE_BYTES, 3)
                request = json.loads(message)
            except (OSError, ValueError) as error:
                print(f"Warmstart: Anfrage nicht lesbar ({error})", file=sys.stderr, flush=True)
                continue
            if isinstance(request, dict) and request.get("query") == "state":
                _reply(connection, {"pid": os.getpid(), "since": since, "runs": runs,
                                    "code_current": code_state() == code})
                _close(fds)
                continue
            if len(fds) != 3 or not _valid(request):
                _close(fds)
                print("Warmstart: Anfrage unvollständig, verworfen", file=sys.stderr, flush=True)
                continue
            if code_state() != code:
                _reply(connection, {"cold": "der Programmcode wurde geändert; "
                                            "der Warmstart beginnt neu"})
                _close(fds)
                print("Warmstart: Programmcode geändert, Ende (systemd startet neu)",
                      file=sys.stderr, flush=True)
                listener.close()
                path.unlink(missing_ok=True)
                raise SystemExit(0)
            try:
                child = os.fork()
            except OSError as error:  # no process left (a limit): this run starts cold
                _reply(connection, {"cold": f"kein neuer Prozess möglich ({error.strerror})"})
                _close(fds)
                continue
            if child == 0:
                listener.close()
                connection.settimeout(None)
                _run(connection, request, fds)
            runs += 1
            _close(fds)


def _run(connection: socket.socket, request: dict[str, Any], fds: list[int]) -> NoReturn:
    """In the forked copy: become the run's process, run it, report its exit code."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the run waits for its own children
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    _close(fds)
    scratch = enter_folder(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = [request["module"], *request["argv"]]
    # the search path ``python -m`` would build here: the working directory, PYTHONPATH, then
    # the installation's (this process's, without its own working directory)
    extra = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    sys.path[:] = [os.getcwd(), *extra, *sys.path[1:]]
    from prefect.context import refresh_global_settings_context

    refresh_global_settings_context()  # the settings of the run's environment
    workers.adopt_forkserver()
    _reply(connection, {"pid": os.getpid()})
    finished = threading.Event()
    threading.Thread(target=_listen, args=(connection, finished), daemon=True).start()
    code = _execute(request["module"])
    finished.set()
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    _reply(connection, {"code": code})
    os._exit(code)


def enter_folder(folder: str) -> str | None:
    """Work in the caller's folder; where this process cannot see it (systemd gives the
    warm start a /tmp of its own, ``PrivateTmp=``), in a new temporary folder, returned so
    that it is removed after the run."""
    try:
        os.chdir(folder)
    except OSError:
        scratch = tempfile.mkdtemp(prefix="ews-lauf-")
        os.chdir(scratch)
        return scratch
    return None


def _execute(module: str) -> int:
    """``python -m module`` in this process, with the exit handlers of an interpreter's end
    (Prefect sends its last log lines from one)."""
    code = 0
    try:
        sys.modules.pop(module, None)  # run a fresh copy as __main__, as ``-m`` does
        runpy.run_module(module, run_name="__main__", alter_sys=False)
    except SystemExit as end:
        code = end.code if isinstance(end.code, int) else (0 if end.code is None else 1)
        if end.code is not None and not isinstance(end.code, int):
            print(end.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 — as the interpreter would: print it, exit 1
        traceback.print_exc()
        code = 1
    try:
        atexit._run_exitfuncs()
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
    return code


def _listen(connection: socket.socket, finished: threading.Event) -> None:
    """Signals from the worker's side; when that side goes away, the run ends too."""
    while True:
        try:
            message = connection.recv(MESSAGE_BYTES)
        except OSError:
            message = b""
        if not message:
            if finished.is_set():
                return
            os.kill(os.getpid(), signal.SIGTERM)
            if not finished.wait(ORPHAN_GRACE_SECONDS):
                os.kill(os.getpid(), signal.SIGKILL)
            return
        with contextlib.suppress(ValueError, KeyError, TypeError):
            os.kill(os.getpid(), int(json.loads(message)["signal"]))


def _valid(request: Any) -> bool:
    return (isinstance(request, dict) and isinstance(request.get("env"), dict)
            and isinstance(request.get("cwd"), str) and isinstance(request.get("module"), str)
            and isinstance(request.get("argv"), list))


def state(path: Path) -> dict[str, Any]:
    """What the warm start process on ``path`` says about itself (for ``ews betrieb
    status``): ``pid``, ``since`` (ISO time), ``runs`` it started, and ``code_current``,
    whether its code is the one on disk. Raises ``ColdStart`` with the German reason when it
    does not answer."""
    connection, answer = ask(path, {"query": "state"})
    connection.close()
    if "pid" not in answer:
        raise ColdStart(f"Warmstart-Prozess an {path} antwortet nicht richtig")
    return answer


def _reply(connection: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        connection.send(json.dumps(message).encode())


def _close(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _preload() -> None:
    """Prefect's engine and every flow of the service, as the runs will need them."""
    prepare_prefect_environment(Settings())
    for name in ("prefect.engine", "prefect.flow_engine", "prefect.deployments.steps",
                 # the register's driver on PostgreSQL (SQLAlchemy imports it on first connect)
                 "sqlalchemy.dialects.postgresql.psycopg", "psycopg"):
        importlib.import_module(name)
    for spec in office_deployments([]):
        importlib.import_module(spec.entrypoint.split(":")[0].removesuffix(".py")
                                .replace("/", "."))


def code_state(packages: tuple[Path, ...] | None = None) -> tuple[int, int]:
    """The Python files of ``packages`` as this process loaded them: how many, and the newest
    change (an update changes one or both). By default the service's own (flows/ and ews/)
    and the installed libraries, by the folder they are installed in: installing or removing
    one changes its entries, and so its time."""
    folders: tuple[Path, ...] = ()
    if packages is None:
        packages = (Path(__file__).parent,
                    Path(importlib.import_module("ews").__file__ or "").parent)
        folders = (Path(sysconfig.get_paths()["purelib"]),)
    count = newest = 0
    for package in packages:
        for file in package.rglob("*.py"):
            with contextlib.suppress(OSError):
                newest = max(newest, file.stat().st_mtime_ns)
                count += 1
    for folder in folders:
        with contextlib.suppress(OSError):
            newest = max(newest, folder.stat().st_mtime_ns)
    return count, newest


if __name__ == "__main__":
    sys.exit(main())
