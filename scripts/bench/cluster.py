"""``python -m scripts.bench cluster``: the same 500 applications through the SQLite default
(one process, ``posteingang`` as under ``ews serve``) and through the distributed setup
(PostgreSQL, a Prefect server on it, prefect.yaml deployed, process workers): 1 worker
against SQLite, and 2 workers against 1 with each worker pinned to a core of its own
(``taskset``), side by side in one run on this machine, beside their targets.

For the workers the clock runs from starting the intake runs (the workers already up) to the
last input filed; it is split at the first input claimed (run submitted, subprocess started,
flow code imported) and at the first input filed (the reading processes started and warm):
the rate after that is the "warm" one. ``python -m scripts.bench cluster N``: N applications."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy
from scripts.bench.common import REPO, bench_settings, flow_throughput

from ews.core.names import safe_name
from tests.support.pgserver import Postgres, ProcessWorker

PREFECT = Path(sys.executable).parent / "prefect"


def main(files: list[tuple[str, bytes]], warm_up: list[tuple[str, bytes]], root: Path) -> None:
    from tests.support.pgserver import PrefectServer

    print(f"Verteilter Betrieb: {len(files)} Bewerbungen, ohne PDF/A, ohne OCR")
    sqlite = flow_throughput(files, root / "sqlite", warm_up)
    print(f"SQLite-Standard (ein Prozess, Flow posteingang): {sqlite:6.1f} Bewerbungen/s")
    postgres = Postgres().start()
    try:
        postgres.create_database("prefect")
        server = PrefectServer(postgres.url("prefect", driver="postgresql+asyncpg")).start()
        try:
            env = {**server.client_env(), "EWS_HOME": str(REPO)}
            _prefect(env, "work-pool", "create", "ews", "--type", "process")
            _prefect(env, "--no-prompt", "deploy", "--all")
            runs = {name: _workers(count, pinned, files, root / name, postgres, env)
                    for name, count, pinned in SETUPS}
        finally:
            server.cleanup()
    finally:
        postgres.stop()
    _ratio("1 Worker (PostgreSQL) / SQLite-Standard", runs["1"], (sqlite, sqlite), 0.9)
    _ratio("2 Worker / 1 Worker, je ein Kern (taskset)", runs["2-kern"], runs["1-kern"], 1.6)
    _ratio("2 Worker je ein Kern / SQLite-Standard", runs["2-kern"], (sqlite, sqlite), None)


#: the worker runs: name, workers, each pinned to its own core
SETUPS = (("1", 1, False), ("1-kern", 1, True), ("2-kern", 2, True))


def _ratio(what: str, rates: tuple[float, float], base: tuple[float, float],
           target: float | None) -> None:
    """Wall clock from the runs' start (what the target is about), and warm: from the first
    input filed to the last (the reading processes started and their code imported)."""
    goal = f" (Ziel ≥ {target:.1f}x)" if target else ""
    print(f"Verhältnis {what}: {rates[0] / base[0]:.2f}x{goal}; "
          f"warm (ab der ersten Ablage) {rates[1] / base[1]:.2f}x")


def _prefect(env: dict[str, str], *args: str) -> None:
    from tests.support.pgserver import clean_environ

    subprocess.run([str(PREFECT), *args], env={**clean_environ(), **env}, cwd=REPO,
                   check=True, capture_output=True, timeout=300)


def _workers(count: int, pinned: bool, files: list[tuple[str, bytes]], root: Path,
             postgres: object, env: dict[str, str]) -> tuple[float, float]:
    """Applications per second: from the runs' start, and warm: from the first input filed."""
    assert isinstance(postgres, Postgres)
    url = postgres.create_database(f"ews_{root.name.replace('-', '_')}")
    settings = bench_settings(root)
    settings.inbox_dir.mkdir(parents=True)
    service = {**env, "EWS_DATABASE_URL": url, "EWS_INBOX_DIR": str(settings.inbox_dir),
               "EWS_OUTBOX_DIR": str(settings.outbox_dir),
               "EWS_DATA_DIR": str(settings.data_dir),
               "EWS_TEMPLATES_DIR": str(settings.templates_dir),
               "EWS_LETTERS__PDF": "false", "EWS_INTAKE__STABLE_SECONDS": "0",
               "EWS_RUNDSCHREIBEN__PLAN_FILE": str(root / "kein-plan.toml")}
    # one run a worker: each of the runs started below goes to its own worker
    workers = [(PinnedWorker(n - 1, "ews", f"{root.name}-{n}", env=service, cwd=REPO, limit=1,
                             log_path=root / f"worker-{n}.log") if pinned else
                ProcessWorker("ews", f"{root.name}-{n}", env=service, cwd=REPO, limit=1,
                              log_path=root / f"worker-{n}.log")).start()
               for n in range(1, count + 1)]
    try:
        for worker in workers:  # a worker of the cluster runs all day: its own start is not
            worker.wait_registered(env["PREFECT_API_URL"], timeout=120)  # in the clock
        for name, data in files:
            (settings.inbox_dir / safe_name(name)).write_bytes(data)
        engine = sqlalchemy.create_engine(url)
        started = time.perf_counter()
        for _ in range(count):  # what the inbox watcher starts for a large batch
            _create_run(env["PREFECT_API_URL"], "posteingang/posteingang")
        first = _wait(engine, "SELECT count(*) FROM inputs", 1, started)
        done = "SELECT count(*) FROM inputs WHERE state = 'done'"
        filed, warm = _wait(engine, done, 1, started), _count(engine, done)
        elapsed = _wait(engine, done, len(files), started)
        engine.dispose()
    finally:
        for worker in workers:
            worker.stop()
    rate = len(files) / elapsed
    cores = ", je Worker ein Kern" if pinned else ""
    print(f"PostgreSQL, {count} Worker{cores}: {rate:6.1f} Bewerbungen/s (Wanduhr {elapsed:.1f} s: "
          f"Start bis zur ersten Übernahme {first:.1f} s, bis zur ersten Ablage {filed:.1f} s, "
          f"die übrigen {len(files) - warm} in {elapsed - filed:.1f} s)")
    return rate, (len(files) - warm) / max(elapsed - filed, 1e-3)


def _count(engine: sqlalchemy.Engine, query: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sqlalchemy.text(query)).scalar_one())


class PinnedWorker(ProcessWorker):
    """A process worker held to one core (``taskset -c``), with the flow runs it starts and
    their reading processes: two workers show what two machines of one core each would do,
    which two workers sharing both cores of one machine cannot. PostgreSQL and the Prefect
    server are not pinned."""

    def __init__(self, core: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.core = core % (os.cpu_count() or 1)

    @property
    def command(self) -> list[str]:
        return ["taskset", "-c", str(self.core), *super().command]


def _create_run(api: str, name: str) -> None:
    """A run of the deployment, straight through the API (no CLI start-up in the clock)."""
    deployment = httpx.get(f"{api}/deployments/name/{name}", timeout=30)
    deployment.raise_for_status()
    created = httpx.post(f"{api}/deployments/{deployment.json()['id']}/create_flow_run",
                         json={}, timeout=30)
    created.raise_for_status()


def _wait(engine: sqlalchemy.Engine, query: str, target: int, started: float,
          limit: float = 1800.0) -> float:
    while time.perf_counter() - started < limit:
        try:
            with engine.connect() as connection:
                if int(connection.execute(sqlalchemy.text(query)).scalar_one()) >= target:
                    return time.perf_counter() - started
        except sqlalchemy.exc.ProgrammingError:  # the first run has not migrated yet
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{query}: nicht {target} nach {limit:.0f} s")
