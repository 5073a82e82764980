"""``python -m scripts.bench cluster``: the same 500 applications through the SQLite default
(one process, ``posteingang`` as under ``ews serve``) and through the distributed setup
(PostgreSQL, a Prefect server on it, prefect.yaml deployed, process workers, each with the
warm start process of its machine, flows.warm_start): 1 worker against SQLite, and 2 workers
against 1 with each worker and its warm start pinned to a core of its own (``taskset``), side
by side in one run on this machine, beside their targets. One worker without the warm start
(every run a new process that imports Prefect and the flows) shows what the warm start saves.

For the workers the clock runs from creating the intake runs (the workers already up) to the
last input filed; it is split where the first run began (Prefect's start time: the worker
polled the API, started the run's process, which loaded the flow), at the first input claimed
and at the first input filed (the reading processes started and warm): the rate after that is
the "warm" one. The SQLite process's clock runs from its run's creation too, in its own
process, where nothing waits for a poll or a new process.
``python -m scripts.bench cluster N``: N applications."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import sqlalchemy
from scripts.bench.common import REPO, bench_settings, flow_throughput, write_inbox

from tests.support.pgserver import Postgres, PrefectServer, ProcessWorker, WarmStart

PREFECT = Path(sys.executable).parent / "prefect"


def main(files: list[tuple[str, bytes]], warm_up: list[tuple[str, bytes]], root: Path) -> None:
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
            runs = {name: _workers(count, pinned, warm, files, root / name, postgres, env)
                    for name, count, pinned, warm in SETUPS}
        finally:
            server.cleanup()
    finally:
        postgres.stop()
    base = (sqlite, sqlite, sqlite)
    _ratio("1 Worker (PostgreSQL) / SQLite-Standard", runs["1"], base, 0.9)
    _ratio("1 Worker mit / ohne Warmstart", runs["1"], runs["1-kalt"], None)
    _ratio("2 Worker / 1 Worker, je ein Kern (taskset)", runs["2-kern"], runs["1-kern"], 1.6)
    _ratio("2 Worker je ein Kern / SQLite-Standard", runs["2-kern"], base, None)


#: the worker runs: name, workers, each pinned to its own core, with the warm start
SETUPS = (("1-kalt", 1, False, False), ("1", 1, False, True), ("1-kern", 1, True, True),
          ("2-kern", 2, True, True))


def _ratio(what: str, rates: tuple[float, float, float], base: tuple[float, float, float],
           target: float | None) -> None:
    """Wall clock from creating the runs, from the first run's start (the worker's poll and
    the new process behind it), and warm: from the first input filed to the last."""
    goal = f" (Ziel ≥ {target:.1f}x)" if target else ""
    wall, started, warm = (f"{mine / other:.2f}x" if other > 0 else "–"  # – : all filed at once
                           for mine, other in zip(rates, base, strict=True))
    print(f"Verhältnis {what}: Wanduhr {wall}{goal}; ab Laufbeginn {started}; "
          f"warm (ab der ersten Ablage) {warm}")


def _prefect(env: dict[str, str], *args: str) -> None:
    from tests.support.pgserver import clean_environ

    subprocess.run([str(PREFECT), *args], env={**clean_environ(), **env}, cwd=REPO,
                   check=True, capture_output=True, timeout=300)


def _workers(count: int, pinned: bool, warm: bool, files: list[tuple[str, bytes]], root: Path,
             postgres: Postgres, env: dict[str, str]) -> tuple[float, float, float]:
    """Applications per second: from creating the runs, from the first run's start, and warm:
    from the first input filed. With ``pinned``, each worker, its warm start and the runs and
    reading processes they start are held to a core of their own (``taskset``): two workers
    show what two machines of one core each would do, which two workers sharing both cores of
    one machine cannot. PostgreSQL and the Prefect server are not pinned."""
    url = postgres.create_database(f"ews_{root.name.replace('-', '_')}")
    settings = bench_settings(root)
    settings.inbox_dir.mkdir(parents=True)
    service = {**env, "EWS_DATABASE_URL": url, "EWS_INBOX_DIR": str(settings.inbox_dir),
               "EWS_OUTBOX_DIR": str(settings.outbox_dir),
               "EWS_DATA_DIR": str(settings.data_dir),
               "EWS_TEMPLATES_DIR": str(settings.templates_dir),
               "EWS_LETTERS__PDF": "false", "EWS_INTAKE__STABLE_SECONDS": "0",
               "EWS_RUNDSCHREIBEN__PLAN_FILE": str(root / "kein-plan.toml"),
               "PREFECT_WORKER_QUERY_SECONDS": "0.5"}  # as ews-worker.service
    cores = os.cpu_count() or 1
    starters: list[WarmStart] = []
    workers: list[ProcessWorker] = []
    # one run a worker: each of the runs started below goes to its own worker, with the warm
    # start process of its machine started first (as systemd does)
    for n in range(1, count + 1):
        own, core = dict(service), (n - 1) % cores if pinned else None
        if warm:
            starters.append(WarmStart(root / f"vorstart-{n}.sock", service, REPO,
                                      core=core).start())
            own.update(starters[-1].env_var)
        workers.append(ProcessWorker("ews", f"{root.name}-{n}", env=own, cwd=REPO, limit=1,
                                     log_path=root / f"worker-{n}.log", core=core).start())
    try:
        for worker in workers:  # a worker of the cluster runs all day: its own start is not
            worker.wait_registered(env["PREFECT_API_URL"], timeout=120)  # in the clock
        write_inbox(settings.inbox_dir, files)
        engine = sqlalchemy.create_engine(url)
        created_at, started = time.time(), time.perf_counter()
        runs = [_create_run(env["PREFECT_API_URL"], "posteingang/posteingang")
                for _ in range(count)]  # what the inbox watcher starts for a large batch
        first, _ = _wait(engine, "SELECT count(*) FROM inputs", 1, started)
        done = "SELECT count(*) FROM inputs WHERE state = 'done'"
        filed, done_then = _wait(engine, done, 1, started)  # the count at that moment
        elapsed, _ = _wait(engine, done, len(files), started)
        engine.dispose()
        began = min(_start_time(env["PREFECT_API_URL"], run) for run in runs) - created_at
    finally:
        for worker in workers:
            worker.stop()
        for starter in starters:
            starter.kill()
    rate = len(files) / elapsed
    how = (", je Worker ein Kern" if pinned else "") + ("" if warm else ", ohne Warmstart")
    print(f"PostgreSQL, {count} Worker{how}: {rate:6.1f} Bewerbungen/s (Wanduhr {elapsed:.1f} s: "
          f"bis zum Laufbeginn {began:.1f} s, zur ersten Übernahme {first:.1f} s, "
          f"zur ersten Ablage {filed:.1f} s, die übrigen {len(files) - done_then} in "
          f"{elapsed - filed:.1f} s)")
    return (rate, len(files) / max(elapsed - began, 1e-3),
            (len(files) - done_then) / max(elapsed - filed, 1e-3))


def _create_run(api: str, name: str) -> str:
    """A run of the deployment, straight through the API (no CLI start-up in the clock)."""
    deployment = httpx.get(f"{api}/deployments/name/{name}", timeout=30)
    deployment.raise_for_status()
    created = httpx.post(f"{api}/deployments/{deployment.json()['id']}/create_flow_run",
                         json={}, timeout=30)
    created.raise_for_status()
    return str(created.json()["id"])


def _start_time(api: str, run: str) -> float:
    """When Prefect saw the run begin (its process reported "Running"), as a Unix time."""
    response = httpx.get(f"{api}/flow_runs/{run}", timeout=30)
    response.raise_for_status()
    return datetime.fromisoformat(response.json()["start_time"]).timestamp()


def _wait(engine: sqlalchemy.Engine, query: str, target: int, started: float,
          limit: float = 1800.0) -> tuple[float, int]:
    """Seconds since ``started`` until the count ``query`` gives reaches ``target``, and the
    count then."""
    while time.perf_counter() - started < limit:
        try:
            with engine.connect() as connection:
                found = int(connection.execute(sqlalchemy.text(query)).scalar_one())
            if found >= target:
                return time.perf_counter() - started, found
        except sqlalchemy.exc.ProgrammingError:  # the first run has not migrated yet
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{query}: nicht {target} nach {limit:.0f} s")
