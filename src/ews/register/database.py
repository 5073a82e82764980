"""Engine creation and schema migrations for the register (I/O: database).

SQLite (the embedded default) runs in WAL mode with ``BEGIN IMMEDIATE`` so that concurrent
writers queue on the busy timeout instead of failing on lock upgrades; PostgreSQL uses row locks
(``SELECT … FOR UPDATE``) where numbers are issued.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import IntegrityError as IntegrityError  # re-exported: a unique key hit
from sqlalchemy.orm import Session as Session  # re-exported: capabilities type with it
from sqlalchemy.orm import sessionmaker

T = TypeVar("T")

_MIGRATION_LOCK = 0x45575331  # "EWS1": workers starting at once on PostgreSQL migrate in turn


_WAL_SWITCH_SECONDS = 60.0  # as long as the busy timeout


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_connection.cursor()
    for pragma in ("busy_timeout=60000", "synchronous=NORMAL", "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    _switch_to_wal(cursor)
    cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """WAL mode is kept in the database file, so it is set once, by the first connection.

    Switching needs an exclusive lock, and SQLite answers "database is locked" at once, without
    waiting out the busy timeout, while another process holds the write lock (several workers
    starting on a new register: one migrates while another connects). So the switch is tried
    again for a bounded time, and skipped when another connection has done it meanwhile.
    """
    deadline = time.monotonic() + _WAL_SWITCH_SECONDS
    pause = 0.01
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


#: values bound in one IN list (SQLite allows 32,766 parameters, PostgreSQL 65,535)
VALUES_PER_STATEMENT = 1000


def in_lists(values: Iterable[T]) -> Iterator[list[T]]:
    """``values`` in lists of at most ``VALUES_PER_STATEMENT``: one statement each."""
    listed = list(values)
    for start in range(0, len(listed), VALUES_PER_STATEMENT):
        yield listed[start:start + VALUES_PER_STATEMENT]


@cache
def engine_for(url: str) -> Engine:
    """One engine per URL and process (worker processes build their own)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


@cache
def session_factory(url: str) -> sessionmaker[Session]:
    """One factory per URL and process: every transaction of a pass uses it."""
    return sessionmaker(engine_for(url), expire_on_commit=False)


@contextmanager
def transaction(url: str, *, dry_run: bool = False) -> Iterator[Session]:
    """One transaction of the register: committed when the block ends, rolled back when it
    raises, and also when ``dry_run`` (a Probelauf: everything is done, nothing is kept).
    Capabilities hand the session to the repository modules of ``ews.register`` and never
    query it themselves."""
    with session_factory(url)() as session:
        work = session.begin()
        try:
            yield session
        except BaseException:
            work.rollback()
            raise
        if dry_run:
            work.rollback()
        else:
            work.commit()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("ews.register") / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the database to the newest schema (idempotent; one query when it is there)."""
    engine = engine_for(url)
    if _current_revision(engine) == _head_revision():  # each pass calls this
        return
    config = alembic_config(url)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@cache
def _head_revision() -> str | None:
    """The newest revision of the migrations shipped with this code (read once: Alembic
    loads every migration file to find it)."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
