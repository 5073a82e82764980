"""``python -m scripts.bench cluster-profil [N]``: where a pass on PostgreSQL loses against
SQLite, per input, without Prefect: SQL statements (round trips), advisory-lock statements,
pool check-outs (each a ping on PostgreSQL) and the wall clock of claiming and of processing
the same N applications, once on each register. Starts PostgreSQL from tests/support; writes
files under the bench's temporary folder."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from scripts.bench.common import bench_settings, write_inbox
from sqlalchemy import event

from ews.intake import passes
from ews.intake.claim import claim_new_inputs
from ews.intake.pipeline import preload
from ews.intake.sharing import open_input_ids
from ews.register.database import engine_for
from ews.runtime import workers
from ews.runtime.settings import Settings
from tests.support.sql import statements_sent


def main(files: list[tuple[str, bytes]], warm_up: list[tuple[str, bytes]], root: Path) -> None:
    from tests.support.pgserver import Postgres

    print(f"Profil eines Durchlaufs ohne Prefect: {len(files)} Bewerbungen, je Eingang")
    sqlite = bench_settings(root / "sqlite")
    workers.warm_up(sqlite.worker_count, sqlite.intake.read_memory_mb, preload)
    rows = {"SQLite": _profile(sqlite, files, warm_up)}
    with Postgres() as postgres:
        url = postgres.create_database("profil")
        settings = bench_settings(root / "postgres")
        settings.database_url = SecretStr(url)
        rows["PostgreSQL"] = _profile(settings, files, warm_up)
    print(f"{'':12}{'Anweisungen':>12}{'davon Sperren':>14}{'Verbindungen':>13}"
          f"{'Übernahme s':>12}{'Verarbeitung s':>15}")
    for name, row in rows.items():
        print(f"{name:12}{row['statements']:12.1f}{row['locks']:14.1f}{row['checkouts']:13.1f}"
              f"{row['claim']:12.2f}{row['process']:15.2f}")


def _profile(settings: Settings, files: list[tuple[str, bytes]],
             warm_up: list[tuple[str, bytes]]) -> dict[str, float]:
    settings.inbox_dir.mkdir(parents=True)
    passes.prepare(settings)
    write_inbox(settings.inbox_dir, warm_up)
    passes.run_pass(settings)
    write_inbox(settings.inbox_dir, files)
    with statements_sent(settings.db_url) as sent, checkouts(settings.db_url) as taken:
        started = time.perf_counter()
        claim_new_inputs(settings)
        claimed, at_claim = time.perf_counter(), (len(sent), taken[0])
        results = passes.process_inputs(open_input_ids(settings), settings)
        finished = time.perf_counter()
    assert len(results) == len(files), f"{len(results)} of {len(files)}"
    work = sent[at_claim[0]:]
    per = float(len(files))
    return {"statements": len(work) / per,
            "locks": sum("advisory" in statement for statement in work) / per,
            "checkouts": (taken[0] - at_claim[1]) / per, "claim": claimed - started,
            "process": finished - claimed}


@contextmanager
def checkouts(url: str) -> Iterator[list[int]]:
    """How often a connection is taken from the pool of ``url``'s engine (a one-item list)."""
    taken = [0]

    def checkout(*_args: Any) -> None:
        taken[0] += 1

    engine = engine_for(url)
    event.listen(engine.pool, "checkout", checkout)
    try:
        yield taken
    finally:
        event.remove(engine.pool, "checkout", checkout)
