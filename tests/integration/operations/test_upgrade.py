"""Upgrading: a register made at the previous release's schema (revision 0007), with the rows a
real pass writes, is migrated to the newest schema at start; nothing is lost, and the Az.
counter goes on from where it stood."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from alembic import command
from alembic.script import ScriptDirectory
from pydantic import SecretStr
from sqlalchemy import Table, inspect, select, text

from ews.intake import passes as intake
from ews.letters.samples import sample_applications
from ews.register.database import alembic_config, engine_for, migrate
from ews.register.reports import application_records, journal_records
from ews.register.schema import Base
from ews.register.snapshot import state_of
from tests.conftest import make_settings

PREVIOUS = "0007"


def _rows(url: str, tables: list[Table]) -> dict[str, list[tuple[Any, ...]]]:
    with engine_for(url).connect() as connection:
        return {table.name: [tuple(row) for row in connection.execute(
            select(table).order_by(*table.primary_key.columns))] for table in tables}


def test_a_register_at_0007_with_data_is_upgraded_without_loss(
        tmp_path: Path, database_url: str | None) -> None:
    # real rows, as a pass writes them (at the newest schema, into a scratch register)
    source = make_settings(tmp_path / "quelle")
    for name, data in sample_applications(4, seed=8):
        (source.inbox_dir / name).write_bytes(data)
    intake.prepare(source)
    intake.run_pass(source)

    changes: dict[str, object] = {"templates_dir": source.templates_dir}
    if database_url is not None:
        changes["database_url"] = SecretStr(database_url)
    old = make_settings(tmp_path / "alt", **changes)
    old.data_dir.mkdir(parents=True, exist_ok=True)
    config = alembic_config(old.db_url)
    with engine_for(old.db_url).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, PREVIOUS)
    assert state_of(old.db_url).revision == PREVIOUS

    with engine_for(old.db_url).connect() as connection:
        inspector = inspect(connection)
        at_previous = {name: {column["name"] for column in inspector.get_columns(name)}
                       for name in inspector.get_table_names() if name != "alembic_version"}
    tables = [table for table in Base.metadata.sorted_tables if table.name in at_previous]
    for table in tables:  # these tables kept their columns since 0007
        assert {column.name for column in table.columns} == at_previous[table.name]
    # the rows, inserted with the SQL of the 0007 schema
    rows = _rows(source.db_url, tables)
    assert rows["applications"] and rows["letters"] and rows["inputs"] and rows["az_counters"]
    with engine_for(old.db_url).begin() as connection:
        for table in tables:
            if rows[table.name]:
                keys = [column.name for column in table.columns]
                connection.execute(table.insert(), [dict(zip(keys, row, strict=True))
                                                    for row in rows[table.name]])
                if connection.dialect.name == "postgresql" and "id" in keys:
                    # as in a register that issued these ids itself
                    connection.execute(text(f"SELECT setval(pg_get_serial_sequence("
                                            f"'{table.name}', 'id'), (SELECT max(id) FROM "
                                            f"{table.name}))"))

    intake.prepare(old)  # what every start does: migrations, once, under the register's lock

    assert state_of(old.db_url).revision == state_of(source.db_url).revision != PREVIOUS
    assert _rows(old.db_url, tables) == rows
    assert application_records(old) == application_records(source)
    assert journal_records(old) == journal_records(source)
    migrate(old.db_url)  # a second start changes nothing
    assert _rows(old.db_url, tables) == rows

    # and the service works on: the next application gets the next number
    before = state_of(old.db_url).az_counters
    [(name, data)] = sample_applications(1, seed=99)
    (old.inbox_dir / name).write_bytes(data)
    intake.run_pass(old)
    after = state_of(old.db_url).az_counters
    assert sum(after.values()) == sum(before.values()) + 1


def test_workers_starting_at_once_migrate_once(tmp_path: Path, database_url: str | None) -> None:
    """Migrations run under the register's lock: four processes starting at once on a new
    register all succeed, and the register ends at the newest revision."""
    url = database_url or f"sqlite:///{tmp_path / 'register.sqlite3'}"
    starts = [subprocess.Popen([sys.executable, "-c", MIGRATE, url], stderr=subprocess.PIPE,
                               text=True) for _ in range(4)]
    for start in starts:
        _out, err = start.communicate(timeout=120)
        assert start.returncode == 0, err
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert state_of(url).revision == head


MIGRATE = "import sys; from ews.register.database import migrate; migrate(sys.argv[1])"
