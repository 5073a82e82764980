"""PostgreSQL, a Prefect server and Prefect process workers for multi-worker tests.

Everything runs on 127.0.0.1, on free ports, in temporary folders, and every wait is bounded.

* `Postgres`: a self-contained PostgreSQL cluster (``initdb`` + ``pg_ctl``; nothing in /etc, no
  system service). Binaries come from ``/usr/lib/postgresql/*/bin`` (Debian package
  ``postgresql``, installed by ``make setup``). As root, ``initdb``/``pg_ctl`` run as the
  ``postgres`` system user, because ``initdb`` refuses to run as root.
* `PrefectServer`: ``prefect server start`` on a PostgreSQL database, in its own session.
* `ProcessWorker`: ``prefect worker start --type process`` in its own session. `kill` simulates
  a machine dying (SIGKILL to the worker and every flow-run process it spawned); `stop` is the
  orderly way (SIGTERM twice, as Prefect's process worker needs, then SIGKILL).

Typical use::

    pg = Postgres().start()
    pg.create_database("prefect")
    server = PrefectServer(pg.url("prefect", driver="postgresql+asyncpg")).start()
    worker = ProcessWorker("pool", "w1", env=server.client_env(), cwd=repo).start()
    worker.wait_registered(server.api_url)
    ...
    worker.stop(); server.cleanup(); pg.stop()

The services run in sessions of their own (a Ctrl+C reaches pytest only), so each object also
registers a finalizer: whatever is still running when the object is garbage collected or the
interpreter exits is killed and its temporary folder removed.

pytest is not needed here (the fixtures live in tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from ews.runtime.settings import PREFECT_SERVER_ENVIRONMENT
from tests.support.mailserver import free_port

if TYPE_CHECKING:
    import psycopg

HOST = "127.0.0.1"
#: where the Debian package ``postgresql`` puts its versioned binaries
PG_LIB_DIR = Path("/usr/lib/postgresql")
#: the unprivileged user that runs ``initdb``/``pg_ctl`` when the tests run as root
PG_SYSTEM_USER = "postgres"
#: the cluster's superuser (no password, ``--auth=trust``)
PG_SUPERUSER = "postgres"
#: the ``prefect`` CLI of the running interpreter's environment
PREFECT = Path(sys.executable).parent / "prefect"
#: environment prefixes that never leak from the test process into the subprocesses
_PRIVATE_PREFIXES = ("PREFECT_", "EWS_")
_BIND_ERRORS = ("address already in use", "could not bind", "already in use")


class ServiceError(RuntimeError):
    """A test service could not be started or used."""


def clean_environ() -> dict[str, str]:
    """``os.environ`` without the PREFECT_* and EWS_* variables of the test process."""
    return {k: v for k, v in os.environ.items() if not k.startswith(_PRIVATE_PREFIXES)}


def wait_for(condition: Callable[[], bool], timeout: float, what: str,
             interval: float = 0.25) -> float:
    """Poll `condition` until it holds; return the seconds it took, raise after `timeout`."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        if condition():
            return time.monotonic() - started
        if time.monotonic() >= deadline:
            raise ServiceError(f"{what}: not reached within {timeout:g} s")
        time.sleep(interval)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(text.splitlines()[-lines:])


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


# --------------------------------------------------------------------------------------------
# process trees


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name: [0] state, [1] ppid, [19] start."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()


def _start_time(pid: int) -> int | None:
    """The start time of `pid` in clock ticks (tells a process from a reused pid)."""
    fields = _stat(pid)
    return int(fields[19]) if fields else None


def _descendants(root: int) -> set[tuple[int, int]]:
    """(pid, start time) of every living descendant of `root`, whatever its session."""
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields is None or fields[0] == "Z":
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        starts[int(entry.name)] = int(fields[19])
    found: set[tuple[int, int]] = set()
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.add((pid, starts[pid]))
        todo.extend(children.get(pid, []))
    return found


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _signal_processes(processes: Iterable[tuple[int, int]], sig: signal.Signals) -> None:
    for pid, started in processes:
        if _start_time(pid) == started:  # still the same process
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)


def _kill_tree(proc: subprocess.Popen[bytes], known: set[tuple[int, int]] | None = None,
               timeout: float = 10.0) -> None:
    """SIGKILL `proc`'s process group and every descendant, also those in other sessions.

    Prefect starts flow-run processes in sessions of their own, so killing the group is not
    enough. The tree is frozen with SIGSTOP first, so nothing can spawn or be reparented
    between listing and killing. `known` adds processes recorded earlier (orphans by now).
    """
    victims = set(known or ())
    if proc.poll() is None:
        _signal_group(proc.pid, signal.SIGSTOP)
        for _ in range(5):  # until no new descendant shows up
            found = _descendants(proc.pid) - victims
            if not found:
                break
            _signal_processes(found, signal.SIGSTOP)
            victims |= found
    _signal_group(proc.pid, signal.SIGKILL)
    _signal_processes(victims, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout)


def _terminate(proc: subprocess.Popen[bytes], grace: float, second_term_after: float | None = None
               ) -> None:
    """SIGTERM to `proc`'s group (again after `second_term_after` s if it is still running),
    then SIGKILL to the whole tree once `grace` seconds have passed."""
    if proc.poll() is not None:
        _signal_group(proc.pid, signal.SIGKILL)  # leftovers of the group
        return
    known = _descendants(proc.pid)
    deadline = time.monotonic() + grace
    _signal_group(proc.pid, signal.SIGTERM)
    if second_term_after is not None:
        try:
            proc.wait(min(second_term_after, grace))
        except subprocess.TimeoutExpired:
            known |= _descendants(proc.pid)
            _signal_group(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(max(deadline - time.monotonic(), 0.1))
    _kill_tree(proc, known)


# --------------------------------------------------------------------------------------------
# PostgreSQL


def find_pg_bindir() -> Path:
    """The ``bin`` folder of the newest PostgreSQL under /usr/lib/postgresql."""
    candidates = [p.parent for p in PG_LIB_DIR.glob("*/bin/initdb")]

    def version(bindir: Path) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", bindir.parent.name)) or (0,)

    if not candidates:
        raise ServiceError(
            f"no PostgreSQL binaries found ({PG_LIB_DIR}/*/bin/initdb): run `make setup` "
            "(it installs the Debian package `postgresql`)"
        )
    return max(candidates, key=version)


def _traversable_by(path: Path, uid: int, gids: set[int]) -> bool:
    """Whether user `uid` (groups `gids`) can reach `path` and every folder above it."""
    for folder in [path, *path.parents]:
        try:
            st = folder.stat()
        except OSError:
            return False
        if st.st_uid == uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid in gids:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            return False
    return True


def _stop_cluster(pg_ctl_stop: list[str], data_dir: Path, root: Path) -> None:
    """``pg_ctl stop`` (bounded; SIGKILL to the postmaster if that fails), remove `root`."""
    pid_file = data_dir / "postmaster.pid"
    try:
        if pid_file.exists():
            try:
                done = subprocess.run(pg_ctl_stop, cwd=root, stdin=subprocess.DEVNULL,
                                      capture_output=True, timeout=30).returncode == 0
            except subprocess.TimeoutExpired:
                done = False
            if not done:
                with contextlib.suppress(OSError, ValueError, IndexError):
                    pid = int(pid_file.read_text().splitlines()[0])
                    os.kill(pid, signal.SIGKILL)  # the backends notice and exit on their own
                    with contextlib.suppress(ServiceError):
                        wait_for(lambda: _stat(pid) is None, 10, "postmaster exit")
    finally:
        shutil.rmtree(root, ignore_errors=True)


class Postgres:
    """A PostgreSQL cluster in a temporary folder, on 127.0.0.1 and a free port.

    ``pg = Postgres().start()`` … ``pg.stop()``; also a context manager. The superuser is
    ``postgres`` without a password. ``fsync`` is off: the data is meant to be thrown away.
    """

    def __init__(self, bindir: Path | None = None, max_connections: int = 200,
                 start_timeout: float = 60.0) -> None:
        self.bindir = bindir or find_pg_bindir()
        self.max_connections = max_connections
        self.start_timeout = start_timeout
        self.port = 0
        self.started_in: float | None = None  # seconds for initdb + start
        self._root: Path | None = None
        self._as_root = os.geteuid() == 0
        self._finalizer: weakref.finalize[Any, Any] | None = None

    # paths ----------------------------------------------------------------------------------
    @property
    def root(self) -> Path:
        """The temporary folder (data, socket, log) while the cluster exists."""
        if self._root is None:
            raise ServiceError("Postgres is not started")
        return self._root

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    def running(self) -> bool:
        return self._finalizer is not None and self._finalizer.alive

    # life cycle -----------------------------------------------------------------------------
    def start(self) -> Self:
        """initdb, then ``pg_ctl start -w``; raises `ServiceError` with the log's tail."""
        if self.running():
            return self
        began = time.monotonic()
        self._root = root = self._make_root()
        stop_command = self._command("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w",
                                     "-t", "20", "stop")
        self._finalizer = weakref.finalize(self, _stop_cluster, stop_command, self.data_dir,
                                           root)
        try:
            self._run("initdb", "-D", str(self.data_dir), "-U", PG_SUPERUSER, "--auth=trust",
                      "-E", "UTF8", "--no-sync", timeout=self.start_timeout, what="initdb")
            for attempt in range(3):  # the free port may be taken before postgres binds it
                self.port = free_port()
                try:
                    self._pg_ctl_start()
                    break
                except ServiceError:
                    log = _tail(self.log_path, 20).lower()
                    if attempt == 2 or not any(e in log for e in _BIND_ERRORS):
                        raise
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    def stop(self) -> None:
        """``pg_ctl -m fast stop`` (bounded, SIGKILL as a last resort), then remove the folder."""
        if self._finalizer is not None:
            self._finalizer()
        self._finalizer = None
        self._root = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # databases ------------------------------------------------------------------------------
    def url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        """SQLAlchemy URL of `database`, e.g. ``driver="postgresql+asyncpg"`` for Prefect."""
        if not self.port:
            raise ServiceError("Postgres is not started")
        return f"{driver}://{PG_SUPERUSER}@{HOST}:{self.port}/{database}"

    def conninfo(self, database: str = "postgres") -> str:
        """libpq connection string (psycopg, psql)."""
        return f"host={HOST} port={self.port} user={PG_SUPERUSER} dbname={database}"

    def create_database(self, name: str) -> str:
        """Create `name` and return its SQLAlchemy URL (psycopg driver)."""
        from psycopg import sql

        with self._admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """End every connection to `name`, then drop it (no error if it does not exist)."""
        from psycopg import sql

        with self._admin() as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))

    # internals ------------------------------------------------------------------------------
    def _admin(self) -> psycopg.Connection[tuple[Any, ...]]:
        import psycopg

        return psycopg.connect(self.conninfo(), autocommit=True, connect_timeout=10)

    def _make_root(self) -> Path:
        if not self._as_root:
            root = Path(tempfile.mkdtemp(prefix="ews-pg-"))
            (root / "sock").mkdir()
            return root
        try:
            user = pwd.getpwnam(PG_SYSTEM_USER)
        except KeyError as exc:
            raise ServiceError(
                f"running as root needs the system user {PG_SYSTEM_USER!r}: run `make setup` "
                "(Debian package `postgresql`)"
            ) from exc
        gids = {user.pw_gid, *(g.gr_gid for g in grp.getgrall() if user.pw_name in g.gr_mem)}
        base = Path(tempfile.gettempdir())
        if not _traversable_by(base, user.pw_uid, gids):
            base = Path("/tmp")
        root = Path(tempfile.mkdtemp(prefix="ews-pg-", dir=base))
        (root / "sock").mkdir()
        for path in (root, root / "sock"):
            os.chown(path, user.pw_uid, user.pw_gid)
        return root

    def _command(self, program: str, *args: str) -> list[str]:
        command = [str(self.bindir / program), *args]
        if self._as_root:
            return ["runuser", "-u", PG_SYSTEM_USER, "--", *command]
        return command

    def _run(self, program: str, *args: str, timeout: float, what: str,
             new_session: bool = False) -> None:
        try:
            result = subprocess.run(
                self._command(program, *args), cwd=self.root, stdin=subprocess.DEVNULL,
                capture_output=True, text=True, timeout=timeout,
                start_new_session=new_session, env={**os.environ, "LC_ALL": "C.UTF-8"},
            )
        except subprocess.TimeoutExpired as exc:
            raise ServiceError(f"{what} did not finish within {timeout:g} s\n"
                               f"{_tail(self.log_path)}") from exc
        if result.returncode != 0:
            raise ServiceError(
                f"{what} failed (exit {result.returncode}):\n{result.stdout}{result.stderr}\n"
                f"--- {self.log_path.name} ---\n{_tail(self.log_path)}"
            )

    def _pg_ctl_start(self) -> None:
        options = (f"-p {self.port} -k {self.socket_dir} -c listen_addresses={HOST} "
                   f"-c fsync=off -c max_connections={self.max_connections}")
        # own session: a Ctrl+C in the terminal reaches pytest, not the postmaster
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_path), "-o", options,
                  "-w", "-t", str(int(self.start_timeout)), "start",
                  timeout=self.start_timeout + 10, what="pg_ctl start", new_session=True)


# --------------------------------------------------------------------------------------------
# Prefect


class PrefectServer:
    """``prefect server start`` on PostgreSQL, 127.0.0.1 and a free port, with the settings
    the service runs its Prefect servers with (``PREFECT_SERVER_ENVIRONMENT``, as in
    ``ews-prefect-server.service``).

    `database_url` is an asyncpg URL, e.g. ``pg.url("prefect", driver="postgresql+asyncpg")``;
    `env` adds settings for the server process (and overrides those). `stop` keeps the
    temporary folder (log, homes) and the port, so `start` can bring the same server back (the
    clients' PREFECT_API_URL stays valid); `cleanup` stops and removes the folder (so does the
    end of the interpreter).
    """

    def __init__(self, database_url: str, env: Mapping[str, str] | None = None,
                 ready_timeout: float = 120.0, stop_timeout: float = 20.0) -> None:
        self.database_url = database_url
        self.extra_env = dict(env or {})
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.port = 0
        self.ready_in: float | None = None  # seconds from spawn until /api/health answered
        self.root = Path(tempfile.mkdtemp(prefix="ews-prefect-server-"))
        self.home = self.root / "server-home"
        self.client_home = self.root / "client-home"
        self.log_path = self.root / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._remove_root = weakref.finalize(self, shutil.rmtree, self.root, True)
        self._reaper: weakref.finalize[Any, Any] | None = None

    @property
    def api_url(self) -> str:
        if not self.port:
            raise ServiceError("the Prefect server is not started")
        return f"http://{HOST}:{self.port}/api"

    def client_env(self) -> dict[str, str]:
        """Settings for processes that talk to this server (CLI, workers, flows)."""
        self.client_home.mkdir(parents=True, exist_ok=True)
        return {
            "PREFECT_API_URL": self.api_url,
            "PREFECT_HOME": str(self.client_home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> Self:
        """Start and wait until ``GET /api/health`` answers 200 (raises with the log's tail)."""
        if self.running():
            return self
        if not self._remove_root.alive:
            raise ServiceError("the Prefect server was cleaned up; make a new one")
        self.home.mkdir(exist_ok=True)
        began = time.monotonic()
        restart = bool(self.port)
        for attempt in range(3):  # a fresh free port may be taken before the server binds it
            if not (restart and attempt == 0):
                self.port = free_port()
            self._spawn()
            try:
                self._wait_ready()
                break
            except ServiceError:
                exited = self.proc is not None and self.proc.poll() is not None
                log = _tail(self.log_path, 20).lower()
                self.stop()
                if (attempt == 2 or restart or not exited
                        or not any(e in log for e in _BIND_ERRORS)):
                    raise
        self.ready_in = time.monotonic() - began
        return self

    def stop(self) -> None:
        """SIGTERM to the server's process group, SIGKILL to its tree after `stop_timeout`."""
        proc, self.proc = self.proc, None
        if self._reaper is not None:
            self._reaper.detach()
            self._reaper = None
        if proc is not None:
            _terminate(proc, self.stop_timeout)

    def cleanup(self) -> None:
        """Stop, then remove the temporary folder."""
        self.stop()
        self._remove_root()

    def log_text(self) -> str:
        return _read(self.log_path)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.cleanup()

    def _spawn(self) -> None:
        env = clean_environ()
        env.update({
            "PREFECT_HOME": str(self.home),
            "PREFECT_API_DATABASE_CONNECTION_URL": self.database_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_UI_ENABLED": "false",
            "PYTHONUNBUFFERED": "1",
            **PREFECT_SERVER_ENVIRONMENT,
        })
        env.update(self.extra_env)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(PREFECT), "server", "start", "--host", HOST, "--port", str(self.port)],
                env=env, cwd=self.root, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        self._reaper = weakref.finalize(self, _kill_tree, self.proc)

    def _wait_ready(self) -> None:
        import httpx

        url = f"{self.api_url}/health"
        proc = self.proc
        assert proc is not None

        def healthy() -> bool:
            if proc.poll() is not None:
                raise ServiceError(f"the Prefect server exited with {proc.returncode}:\n"
                                   f"{_tail(self.log_path)}")
            try:
                return httpx.get(url, timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        try:
            wait_for(healthy, self.ready_timeout, f"Prefect server health ({url})")
        except ServiceError as exc:
            if proc.poll() is not None:
                raise
            raise ServiceError(f"{exc}\n{_tail(self.log_path)}") from exc


class ProcessWorker:
    """``prefect worker start --type process`` in its own session.

    The environment is ``os.environ`` without PREFECT_*/EWS_*, then `env` (typically
    ``server.client_env()`` plus EWS settings). ``PREFECT_WORKER_QUERY_SECONDS=2`` and
    ``PREFECT_WORKER_PREFETCH_SECONDS=5`` apply unless `env` sets them. Output goes to
    `log_path` (default: a temporary file that lives as long as this object); a restart
    appends to it. Output is unbuffered (``PYTHONUNBUFFERED=1``), so `log_text` is current.
    """

    def __init__(self, pool: str, name: str, env: Mapping[str, str], cwd: Path | str,
                 limit: int | None = None, log_path: Path | None = None,
                 stop_timeout: float = 30.0, core: int | None = None) -> None:
        self.pool = pool
        self.core = core  # held to this core (``taskset -c``), with the runs it starts
        self.name = name
        self.env = dict(env)
        self.cwd = Path(cwd)
        self.limit = limit
        self.stop_timeout = stop_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self._reaper: weakref.finalize[Any, Any] | None = None
        self._log_offset = 0  # where this incarnation's output begins
        if log_path is None:
            fd, raw = tempfile.mkstemp(prefix=f"ews-worker-{name}-", suffix=".log")
            os.close(fd)
            log_path = Path(raw)
            weakref.finalize(self, log_path.unlink, True)
        self.log_path = log_path

    @property
    def command(self) -> list[str]:
        command = [str(PREFECT), "worker", "start", "--pool", self.pool, "--name", self.name,
                   "--type", "process"]
        if self.limit is not None:
            command += ["--limit", str(self.limit)]
        return command if self.core is None else ["taskset", "-c", str(self.core), *command]

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> Self:
        """Spawn the worker; does not wait (see `wait_registered`)."""
        if self.running():
            return self
        env = clean_environ()
        env.update(self.env)
        env.setdefault("PREFECT_WORKER_QUERY_SECONDS", "2")
        env.setdefault("PREFECT_WORKER_PREFETCH_SECONDS", "5")
        env.setdefault("PYTHONUNBUFFERED", "1")
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            self.proc = subprocess.Popen(
                self.command, env=env, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        self._reaper = weakref.finalize(self, _kill_tree, self.proc)
        return self

    def wait_registered(self, api_url: str, timeout: float = 60.0) -> float:
        """Wait until the server lists this worker in its pool and the worker has printed
        "Worker '<name>' started!"; return the seconds it took (counted from now).

        Prefect registers the worker before that line; a SIGTERM in between can make the
        worker's signal handler trip over rich's lazy import (an ImportError traceback in the
        log), so stop a worker only after this returned.
        """
        import httpx

        url = f"{api_url}/work_pools/{self.pool}/workers/filter"

        def registered() -> bool:
            if not self.running():
                raise ServiceError(f"worker {self.name} exited:\n{_tail(self.log_path)}")
            try:
                response = httpx.post(url, json={}, timeout=5)
            except httpx.HTTPError:
                return False
            return (response.status_code == 200
                    and any(w.get("name") == self.name for w in response.json())
                    and self.started_printed())

        try:
            return wait_for(registered, timeout, f"worker {self.name} registered", 0.5)
        except ServiceError as exc:
            if not self.running():
                raise
            raise ServiceError(f"{exc}\n{_tail(self.log_path)}") from exc

    def started_printed(self) -> bool:
        """Whether this incarnation has printed "Worker '<name>' started!"."""
        with contextlib.suppress(OSError), self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            return f"Worker {self.name!r} started!".encode() in log.read()
        return False

    def kill(self) -> None:
        """Die like a machine: SIGKILL to the worker's process group and to every flow-run
        process it spawned (Prefect puts those into sessions of their own)."""
        proc = self._release()
        if proc is not None:
            _kill_tree(proc)

    def stop(self) -> None:
        """Orderly stop: SIGTERM to the group, after 5 s SIGTERM again (Prefect's process worker
        then SIGKILLs its flow runs), SIGKILL to the whole tree after `stop_timeout`."""
        proc = self._release()
        if proc is not None:
            _terminate(proc, self.stop_timeout, second_term_after=5.0)

    def log_text(self) -> str:
        return _read(self.log_path)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _release(self) -> subprocess.Popen[bytes] | None:
        proc, self.proc = self.proc, None
        if self._reaper is not None:
            self._reaper.detach()
            self._reaper = None
        return proc


class WarmStart:
    """A warm start process (``python -m flows.warm_start --dienst``) on `socket_path`, in its
    own session, optionally held to one core (``taskset -c``): what ``ews-vorstart.service``
    runs beside a worker. Give the worker ``EWS_VORSTART_SOCKET`` = `socket_path` (`env_var`).

    `kill` ends it and every run it forked (they stay in its process group)."""

    def __init__(self, socket_path: Path, env: Mapping[str, str], cwd: Path | str,
                 core: int | None = None, log_path: Path | None = None) -> None:
        self.socket_path = socket_path
        self.env = {**clean_environ(), **env, "EWS_VORSTART_SOCKET": str(socket_path),
                    "PYTHONUNBUFFERED": "1"}
        self.cwd = Path(cwd)
        self.core = core
        self.log_path = log_path or socket_path.with_suffix(".log")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def env_var(self) -> dict[str, str]:
        return {"EWS_VORSTART_SOCKET": str(self.socket_path)}

    def start(self, timeout: float = 120.0) -> Self:
        """Start it and wait until it listens (its imports take seconds)."""
        command = [sys.executable, "-m", "flows.warm_start", "--dienst"]
        if self.core is not None:
            command = ["taskset", "-c", str(self.core), *command]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(command, env=self.env, cwd=self.cwd,
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        weakref.finalize(self, _kill_tree, self.proc)

        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise ServiceError(f"warm start exited:\n{_tail(self.log_path)}")
            return "Warmstart bereit" in _read(self.log_path)

        wait_for(ready, timeout, "warm start listening", 0.2)
        return self

    def kill(self) -> None:
        if self.proc is not None:
            _kill_tree(self.proc)
            self.proc = None

    def log_text(self) -> str:
        return _read(self.log_path)
