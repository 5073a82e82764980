"""Locks across processes on both backends: PostgreSQL advisory locks and SQLite's fcntl files.

Every holder whose exclusion matters runs in another process (``spawn``): a `Holder` drives a
child that opens `Locks` and runs the commands it is sent over a pipe. Every wait is bounded,
and the `holders` fixture ends every child it started.
"""

from __future__ import annotations

import multiprocessing
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from ews.core.errors import LockTimeout
from ews.register.database import engine_for, migrate
from ews.register.locks import Locks
from tests.support.pgserver import Postgres

# about 20 spawned children, each importing sqlalchemy, alembic and pydantic: 45-110 s
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

#: how long the test waits for an answer of a child (start-up included)
ANSWER_WAIT = 30.0
#: how long a child waits for its next command before it gives up and exits
CHILD_IDLE = 60.0
#: how long the PostgreSQL server may take to notice that a killed holder's connection closed
SERVER_NOTICE = 10.0

_SPAWN = multiprocessing.get_context("spawn")

DB = tuple[str, Path]  # (db_url, lock_dir)


# -- children (top level: spawn imports this module in the child) ---------------------------


def _holder(db_url: str, lock_dir: Path, conn: Connection) -> None:
    """Open `Locks`, answer "ready", then run commands until "exit" (or `CHILD_IDLE` idle)."""
    with conn, Locks(db_url, lock_dir) as locks, ExitStack() as held_slots:
        conn.send(("ok", "ready"))
        while conn.poll(CHILD_IDLE):
            command, *args = conn.recv()
            if command == "exit":
                conn.send(("ok", None))
                return
            try:
                value: Any = None
                if command == "named":
                    value = locks.try_named(args[0])
                elif command == "release_named":
                    locks.release_named(args[0])
                elif command == "items":
                    value = locks.try_items(args[0], args[1])
                elif command == "release_items":
                    locks.release_items(args[0], args[1])
                elif command == "slot":
                    try:
                        value = held_slots.enter_context(
                            locks.slot(args[0], args[1], wait=args[2]))
                    except LockTimeout:
                        value = None
                else:
                    raise ValueError(f"unknown command {command!r}")
            except Exception:
                conn.send(("error", traceback.format_exc()))
            else:
                conn.send(("ok", value))


def _migrate(url: str, barrier: Barrier, conn: Connection) -> None:
    """Run `migrate` as soon as the other process is ready too; answer "ok" or the traceback."""
    with conn:
        try:
            engine_for(url)  # imports and engine set-up before the barrier
            barrier.wait(ANSWER_WAIT)
            migrate(url)
        except Exception:
            conn.send(("error", traceback.format_exc()))
        else:
            conn.send(("ok", None))


def _answer(conn: Connection, what: str) -> Any:
    if not conn.poll(ANSWER_WAIT):
        raise AssertionError(f"{what}: no answer within {ANSWER_WAIT:g} s")
    try:
        status, value = conn.recv()
    except EOFError:
        raise AssertionError(f"{what}: the child ended without answering") from None
    if status != "ok":
        raise AssertionError(f"{what} failed in the child:\n{value}")
    return value


def _end(process: multiprocessing.process.BaseProcess) -> None:
    process.join(5)
    if process.is_alive():
        process.terminate()
        process.join(5)
    if process.is_alive():
        process.kill()
        process.join(5)


class Holder:
    """A child process holding locks of its own `Locks`; `call` sends it one command."""

    def __init__(self, db: DB) -> None:
        self.conn, child_end = _SPAWN.Pipe()
        self.process = _SPAWN.Process(target=_holder, args=(*db, child_end), daemon=True)
        self.process.start()
        child_end.close()
        self._ready = False  # holders start side by side; the first command waits for "ready"
        self._pending = ""

    def send(self, *command: Any) -> None:
        if not self._ready:
            _answer(self.conn, "holder start")
            self._ready = True
        self.conn.send(command)
        self._pending = repr(command)

    def answer(self) -> Any:
        return _answer(self.conn, self._pending)

    def call(self, *command: Any) -> Any:
        self.send(*command)
        return self.answer()

    def exit(self) -> None:
        """Leave in order (`Locks` closes) and wait for the process to end."""
        self.call("exit")
        self.process.join(ANSWER_WAIT)
        assert not self.process.is_alive()

    def kill(self) -> None:
        """SIGKILL: no `Locks.__exit__`, no closing of the database connection."""
        self.process.kill()
        self.process.join(ANSWER_WAIT)
        assert not self.process.is_alive()

    def end(self) -> None:
        try:
            if self.process.is_alive():
                self.conn.send(("exit",))
        except OSError:
            pass
        finally:
            _end(self.process)
            self.conn.close()


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DB]:
    """(db_url, lock_dir) of a fresh register on either backend."""
    lock_dir = tmp_path / "locks"
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'register.sqlite3'}", lock_dir
        return
    server: Postgres = request.getfixturevalue("postgres")
    name = f"locks_{uuid.uuid4().hex}"
    url = server.create_database(name)
    try:
        yield url, lock_dir
    finally:
        engine_for(url).dispose()
        server.drop_database(name)


@pytest.fixture
def holders(db: DB) -> Iterator[Callable[[], Holder]]:
    """Start holders with `holders()`; every one still running is ended afterwards."""
    started: list[Holder] = []

    def start() -> Holder:
        holder = Holder(db)
        started.append(holder)
        return holder

    try:
        yield start
    finally:
        for holder in started:
            holder.end()


def _is_postgres(db: DB) -> bool:
    return db[0].startswith("postgresql")


# -- tests -----------------------------------------------------------------------------------


def test_named_lock_of_another_process_is_free_after_release_or_exit(
        db: DB, holders: Callable[[], Holder]) -> None:
    holder = holders()
    assert holder.call("named", "postfach:a") is True
    assert holder.call("named", "postfach:b") is True
    with Locks(*db) as locks:
        assert not locks.try_named("postfach:a")
        assert not locks.try_named("postfach:b")
        assert locks.try_named("postfach:c")  # other names are independent

        holder.call("release_named", "postfach:a")
        assert locks.try_named("postfach:a")
        assert holder.call("named", "postfach:a") is False  # now this process holds it
        assert not locks.try_named("postfach:b")

        holder.exit()
        assert locks.try_named("postfach:b")


def test_killed_holder_frees_its_named_and_item_locks(
        db: DB, holders: Callable[[], Holder]) -> None:
    holder = holders()
    assert holder.call("named", "ordner:/eingang") is True
    assert holder.call("items", "inputs", [1, 2, 3]) == [1, 2, 3]
    with Locks(*db) as locks:
        assert not locks.try_named("ordner:/eingang")
        assert locks.try_items("inputs", [1, 2, 3, 4]) == [4]

        holder.kill()
        # the kernel drops fcntl locks with the process; the server needs to see the socket close
        patience = SERVER_NOTICE if _is_postgres(db) else 0.0
        deadline = time.monotonic() + patience
        named, items = False, [4]
        while True:
            named = named or locks.try_named("ordner:/eingang")
            items += locks.try_items("inputs", [i for i in (1, 2, 3) if i not in items])
            if (named and sorted(items) == [1, 2, 3, 4]) or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        assert named
        assert sorted(items) == [1, 2, 3, 4]


def test_try_items_never_hands_an_id_to_two_processes(
        db: DB, holders: Callable[[], Holder]) -> None:
    first, second = holders(), holders()
    assert first.call("items", "inputs", [1, 3, 5, 7]) == [1, 3, 5, 7]
    assert second.call("items", "inputs", list(range(10))) == [0, 2, 4, 6, 8, 9]
    assert first.call("items", "inputs", [0, 2, 4, 6, 8, 9]) == []
    assert second.call("items", "mails", [1, 3]) == [1, 3]  # another space, other locks

    first.call("release_items", "inputs", [3, 5])
    assert second.call("items", "inputs", [1, 3, 5, 7]) == [3, 5]

    # both at once, over the same ids, in opposite orders
    ids = list(range(100, 300))
    first.send("items", "race", ids)
    second.send("items", "race", ids[::-1])
    got_first = first.answer()
    got_second = second.answer()
    assert not set(got_first) & set(got_second)
    assert sorted(got_first + got_second) == ids


def test_slots_limit_how_many_processes_hold_one(
        db: DB, holders: Callable[[], Holder]) -> None:
    first, second, third = holders(), holders(), holders()
    numbers = {first.call("slot", "libreoffice", 2, 5.0),
               second.call("slot", "libreoffice", 2, 5.0)}
    assert numbers == {1, 2}
    with Locks(*db) as locks:
        began = time.monotonic()
        with pytest.raises(LockTimeout), locks.slot("libreoffice", 2, wait=0.5):
            pass
        assert time.monotonic() - began >= 0.5

        first.exit()
        with locks.slot("libreoffice", 2, wait=5.0) as number:
            assert number in numbers
            assert third.call("slot", "libreoffice", 2, 0.3) is None  # both taken again
    assert third.call("slot", "libreoffice", 2, 0.3) == number  # the slot left is free again


def test_named_with_wait_times_out_while_another_process_holds_it(
        db: DB, holders: Callable[[], Holder]) -> None:
    holder = holders()
    assert holder.call("named", "postausgang") is True
    with Locks(*db) as locks:
        began = time.monotonic()
        with pytest.raises(LockTimeout, match="von einem anderen Prozess belegt"), \
                locks.named("postausgang", wait=0.3):
            pass
        waited = time.monotonic() - began
        assert 0.3 <= waited < 5.0

        holder.call("release_named", "postausgang")
        with locks.named("postausgang", wait=0.3):
            assert holder.call("named", "postausgang") is False
        assert holder.call("named", "postausgang") is True  # released at the end of the block


def test_closing_locks_releases_everything_it_held(
        db: DB, holders: Callable[[], Holder]) -> None:
    probe = holders()
    with ExitStack() as other:
        if _is_postgres(db):
            # SQLite's POSIX record locks are per process: a second `Locks` here would not see
            # them. On PostgreSQL it has a connection (session) of its own.
            second = other.enter_context(Locks(*db))
        with Locks(*db) as locks:
            assert locks.try_named("postfach:a")
            assert locks.try_items("inputs", [1, 2, 3]) == [1, 2, 3]
            assert probe.call("named", "postfach:a") is False
            assert probe.call("items", "inputs", [1, 2, 3]) == []
            if _is_postgres(db):
                assert not second.try_named("postfach:a")
                assert second.try_items("inputs", [1, 2, 3]) == []
        if _is_postgres(db):
            assert second.try_named("postfach:a")
            assert second.try_items("inputs", [1, 2, 3]) == [1, 2, 3]
    assert probe.call("named", "postfach:a") is True
    assert probe.call("items", "inputs", [1, 2, 3]) == [1, 2, 3]


def test_two_processes_migrating_a_fresh_postgres_database_at_once(
        postgres: Postgres) -> None:
    name = f"migrate_{uuid.uuid4().hex}"
    url = postgres.create_database(name)
    barrier = _SPAWN.Barrier(2)
    children = []
    try:
        for _ in range(2):
            conn, child_end = _SPAWN.Pipe()
            process = _SPAWN.Process(target=_migrate, args=(url, barrier, child_end),
                                     daemon=True)
            process.start()
            child_end.close()
            children.append((process, conn))
        for number, (process, conn) in enumerate(children, 1):
            _answer(conn, f"migrate in process {number}")
            process.join(ANSWER_WAIT)
            assert process.exitcode == 0

        engine = sqlalchemy.create_engine(url)
        try:
            tables = set(sqlalchemy.inspect(engine).get_table_names())
            with engine.connect() as connection:
                versions = connection.execute(
                    sqlalchemy.text("SELECT version_num FROM alembic_version")).scalars().all()
        finally:
            engine.dispose()
        assert "watchers" in tables
        assert len(versions) == 1
    finally:
        for process, conn in children:
            _end(process)
            conn.close()
        postgres.drop_database(name)
