"""Copies of the whole register for backups: a consistent snapshot while the service runs,
loading one into an empty register, and what a backup notes about it (I/O: database, files,
``pg_dump``/``psql`` child processes on PostgreSQL).

SQLite copies with its online backup API (``sqlite3.Connection.backup``): readers and writers
go on, the copy is one consistent state. PostgreSQL dumps with ``pg_dump`` (one snapshot
transaction) as plain SQL that drops and recreates every table, loaded with ``psql`` in one
transaction. The password travels in the child's environment (PGPASSWORD), never on its
command line.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from sqlalchemy import URL, Connection, inspect, make_url, select, text

from ews.register.database import engine_for
from ews.register.schema import AzCounter

SQLITE_MEMBER = "register.sqlite3"
POSTGRES_MEMBER = "register.sql"
TIMEOUT = 3600  # seconds a dump or a load may take


@dataclass(frozen=True)
class RegisterState:
    """What a backup notes about the register it copied."""

    dialect: str
    revision: str | None
    #: the last Az. serial issued per year
    az_counters: dict[int, int]


def dialect_of(db_url: str) -> str:
    return "sqlite" if db_url.startswith("sqlite") else "postgresql"


def member_name(db_url: str) -> str:
    """The name the register's copy has in a backup."""
    return SQLITE_MEMBER if dialect_of(db_url) == "sqlite" else POSTGRES_MEMBER


def copy_register(db_url: str, target: Path) -> RegisterState:
    """Write a consistent copy of the register to ``target``; the state is read from the copy
    itself (SQLite) or in the very snapshot ``pg_dump`` copies (PostgreSQL: an exported
    snapshot of a repeatable-read transaction), so the manifest describes the copy."""
    if dialect_of(db_url) == "sqlite":
        _sqlite_copy(_sqlite_path(db_url), target)
        return state_of(f"sqlite:///{target.resolve()}")
    url = _libpq(db_url)
    with engine_for(db_url).connect() as connection:
        with connection.execution_options(isolation_level="REPEATABLE READ").begin():
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            state = _state(connection, dialect_of(db_url))
            subprocess.run(["pg_dump", "--clean", "--if-exists", "--no-owner",
                            "--no-privileges", f"--snapshot={snapshot}", "--file", str(target),
                            "--dbname", _dsn(url)],
                           env=_pg_env(url), check=True, timeout=TIMEOUT, capture_output=True)
    return state


def load_register(db_url: str, source: Path) -> None:
    """Put a copy made by ``copy_register`` in place of an empty register."""
    if dialect_of(db_url) == "sqlite":
        path = _sqlite_path(db_url)
        path.parent.mkdir(parents=True, exist_ok=True)
        engine_for(db_url).dispose()
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
        _sqlite_copy(source, path)
        return
    url = _libpq(db_url)
    _drop_empty_tables(db_url)
    engine_for(db_url).dispose()
    subprocess.run(["psql", "--quiet", "--no-psqlrc", "--single-transaction",
                    "--set", "ON_ERROR_STOP=1", "--file", str(source), "--dbname", _dsn(url)],
                   env=_pg_env(url), check=True, timeout=TIMEOUT, capture_output=True)


def state_of(db_url: str) -> RegisterState:
    with engine_for(db_url).connect() as connection:
        return _state(connection, dialect_of(db_url))


def _state(connection: Connection, dialect: str) -> RegisterState:
    revision = MigrationContext.configure(connection).get_current_revision()
    counters: dict[int, int] = {}
    if inspect(connection).has_table(AzCounter.__tablename__):
        counters = {year: last for year, last in connection.execute(
            select(AzCounter.year, AzCounter.last_serial))}
    return RegisterState(dialect, revision, counters)


def filled_tables(db_url: str) -> list[str]:
    """The register's tables that hold rows (none: the register is empty)."""
    if dialect_of(db_url) == "sqlite" and not _sqlite_path(db_url).exists():
        return []
    engine = engine_for(db_url)
    with engine.connect() as connection:
        names = [name for name in inspect(connection).get_table_names()
                 if name != "alembic_version"]
        return [name for name in names if connection.execute(
            text(f'SELECT 1 FROM "{name}" LIMIT 1')).first() is not None]


def _drop_empty_tables(db_url: str) -> None:
    """Drop the tables of an empty PostgreSQL register (one migrated by a first start): a copy
    at an older schema must not meet tables of a newer one."""
    if filled_tables(db_url):
        raise ValueError("Das Register enthält Daten; es wird nichts überschrieben.")
    with engine_for(db_url).begin() as connection:
        for name in inspect(connection).get_table_names():
            connection.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy one SQLite database into another with the online backup API (one consistent
    state; the source's readers and writers go on)."""
    reader = sqlite3.connect(source, timeout=60)
    writer = sqlite3.connect(target)
    try:
        with writer:
            reader.backup(writer)
    finally:
        reader.close()
        writer.close()


def _sqlite_path(db_url: str) -> Path:
    database = make_url(db_url).database
    if not database or database == ":memory:":
        raise ValueError("Ein Register im Arbeitsspeicher lässt sich nicht sichern.")
    return Path(database)


def _libpq(db_url: str) -> URL:
    return make_url(db_url).set(drivername="postgresql")


def _dsn(url: URL) -> str:
    """The connection URL without its password (that goes in PGPASSWORD)."""
    return url.set(password=None).render_as_string(hide_password=False)


def _pg_env(url: URL) -> dict[str, str]:
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    return environment
