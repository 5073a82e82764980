"""``python -m scripts.bench cluster``: the same 500 applications through the SQLite default
(one process, ``posteingang`` as under ``ews serve``) and through the distributed setup
(PostgreSQL, a Prefect server on it, prefect.yaml deployed, process workers, each with the
warm start process of its machine, flows.warm_start): 1 worker against SQLite, and 2 workers
against 1 with each worker and its warm start pinned to a core of its own (``taskset``), side
by side in three paired rounds on this machine (the order reversed every other round), their
medians beside their targets.

In the distributed setup the inbox watcher (deployment ``ordner``) runs on the first worker,
as the schedule starts it: it works the first pass itself and starts further passes as runs
of ``posteingang``, which a second worker takes. The clock runs from the files moved into
the inbox (the watcher up: its heartbeat in the register) to the last input filed; it is
split at the first input claimed and at the first input filed (the rate after that is the
"warm" one). The SQLite process's clock runs from calling its pass, the files already there.
``python -m scripts.bench cluster N``: N applications."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import sqlalchemy
from scripts.bench.common import (
    REPO,
    bench_settings,
    flow_throughput,
    paired_order,
    write_inbox,
)

from tests.support.pgserver import Postgres, PrefectServer, ProcessWorker, WarmStart

PREFECT = Path(sys.executable).parent / "prefect"


def main(files: list[tuple[str, bytes]], warm_up: list[tuple[str, bytes]], root: Path) -> None:
    print(f"Verteilter Betrieb: {len(files)} Bewerbungen, ohne PDF/A, ohne OCR, "
          f"{ROUNDS} Runden")
    measured: list[dict[str, Rates]] = []
    postgres = Postgres().start()
    try:
        postgres.create_database("prefect")
        server = PrefectServer(postgres.url("prefect", driver="postgresql+asyncpg")).start()
        try:
            env = {**server.client_env(), "EWS_HOME": str(REPO)}
            _prefect(env, "work-pool", "create", "ews", "--type", "process")
            _prefect(env, "--no-prompt", "deploy", "--all")
            for number in range(1, ROUNDS + 1):
                # paired rounds, the order reversed every other round: a drift over the run
                # (the machine's neighbours, the Prefect server's database) favours no side
                print(f"Runde {number} von {ROUNDS}")
                rates: dict[str, Rates] = {}
                for name in paired_order(ORDER, number):
                    folder = root / f"{name}-{number}"
                    if name == "sqlite":
                        rate = flow_throughput(files, folder, warm_up)
                        print(f"SQLite-Standard (ein Prozess, Flow posteingang): "
                              f"{rate:6.1f} Bewerbungen/s")
                        rates[name] = (rate, rate, rate)
                    else:
                        count, pinned = SETUPS[name]
                        rates[name] = _workers(count, pinned, files, folder, postgres, env)
                measured.append(rates)
        finally:
            server.cleanup()
    finally:
        postgres.stop()
    _ratio("1 Worker (PostgreSQL) / SQLite-Standard", measured, "1", "sqlite", 0.9)
    _ratio("2 Worker / 1 Worker, je ein Kern (taskset)", measured, "2-kern", "1-kern", 1.6)
    _ratio("2 Worker je ein Kern / SQLite-Standard", measured, "2-kern", "sqlite", None)


#: applications per second: from the files in the inbox, from the first input claimed, and
#: from the first input filed
Rates = tuple[float, float, float]
ROUNDS = 3
#: the worker setups: workers, each pinned to a core of its own
SETUPS = {"1": (1, False), "1-kern": (1, True), "2-kern": (2, True)}
ORDER = ("sqlite", *SETUPS)


def _ratio(what: str, measured: list[dict[str, Rates]], mine: str, other: str,
           target: float | None) -> None:
    """The median over the rounds of ``mine``'s rates against ``other``'s in the same
    round: over the wall clock from the files in the inbox (each round's, and the target),
    from the first input claimed, and warm: from the first input filed to the last."""
    columns = list(zip(*[[a / b if b > 0 else float("nan")  # nan: all filed at once
                          for a, b in zip(rates[mine], rates[other], strict=True)]
                         for rates in measured], strict=True))
    wall, claimed, warm = (statistics.median(column) for column in columns)
    goal = f" (Ziel ≥ {target:.1f}x)" if target else ""
    rounds = " / ".join(f"{ratio:.2f}" for ratio in columns[0])
    print(f"Verhältnis {what}, Median aus {len(measured)} Runden: Wanduhr {wall:.2f}x{goal} "
          f"(Runden {rounds}); ab der ersten Übernahme {claimed:.2f}x; "
          f"warm (ab der ersten Ablage) {warm:.2f}x")


def _prefect(env: dict[str, str], *args: str) -> None:
    from tests.support.pgserver import clean_environ

    subprocess.run([str(PREFECT), *args], env={**clean_environ(), **env}, cwd=REPO,
                   check=True, capture_output=True, timeout=300)


def _workers(count: int, pinned: bool, files: list[tuple[str, bytes]], root: Path,
             postgres: Postgres, env: dict[str, str]) -> tuple[float, float, float]:
    """Applications per second: from the files in the inbox, from the first input claimed,
    and warm: from the first input filed. With ``pinned``, each worker, its warm start and
    the runs and reading processes they start are held to a core of their own
    (``taskset``): two workers show what two machines of one core each would do, which two
    workers sharing both cores of one machine cannot. PostgreSQL and the Prefect server are
    not pinned."""
    url = postgres.create_database(f"ews_{root.name.replace('-', '_')}")
    settings = bench_settings(root)
    settings.inbox_dir.mkdir(parents=True)
    staged = root / "stapel"  # on the inbox's file system: moved in, each file is whole
    staged.mkdir()
    write_inbox(staged, files)
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
    # one run a worker (the watcher holds the first's): each worker with the warm start
    # process of its machine started first (as systemd does)
    for n in range(1, count + 1):
        core = (n - 1) % cores if pinned else None
        starters.append(WarmStart(root / f"vorstart-{n}.sock", service, REPO, core=core).start())
        workers.append(ProcessWorker("ews", f"{root.name}-{n}",
                                     env={**service, **starters[-1].env_var}, cwd=REPO,
                                     limit=1, log_path=root / f"worker-{n}.log",
                                     core=core).start())
    engine = sqlalchemy.create_engine(url)
    try:
        # a worker of the cluster runs all day, and so does the watcher on one of them:
        # their start is not in the clock
        workers[0].wait_registered(env["PREFECT_API_URL"], timeout=120)
        _create_run(env["PREFECT_API_URL"], "ordner/ordner", {"laufzeit": 900})
        _wait(engine, "SELECT count(*) FROM watchers", 1, time.perf_counter(), limit=300)
        for worker in workers[1:]:
            worker.wait_registered(env["PREFECT_API_URL"], timeout=120)
        moved_in, started = time.time(), time.perf_counter()
        for path in sorted(staged.iterdir()):
            path.rename(settings.inbox_dir / path.name)
        first, _ = _wait(engine, "SELECT count(*) FROM inputs", 1, started)
        done = "SELECT count(*) FROM inputs WHERE state = 'done'"
        filed, done_then = _wait(engine, done, 1, started)  # the count at that moment
        elapsed, _ = _wait(engine, done, len(files), started)
        dispatched = _dispatch(env["PREFECT_API_URL"], moved_in)
    finally:
        engine.dispose()
        for worker in workers:
            worker.stop()
        for starter in starters:
            starter.kill()
        _delete_runs(env["PREFECT_API_URL"])
    rate = len(files) / elapsed
    how = ", je Worker ein Kern" if pinned else ""
    print(f"PostgreSQL, {count} Worker{how}: {rate:6.1f} Bewerbungen/s (Wanduhr {elapsed:.1f} s: "
          f"zur ersten Übernahme {first:.1f} s, zur ersten Ablage {filed:.1f} s, "
          f"die übrigen {len(files) - done_then} in {elapsed - filed:.1f} s)")
    for created, pending, running in dispatched:
        print(f"  weiterer Lauf von posteingang: angelegt nach {created:.2f} s, vom Worker "
              f"übernommen nach {pending:.2f} s, begonnen nach {running:.2f} s")
    return (rate, len(files) / max(elapsed - first, 1e-3),
            (len(files) - done_then) / max(elapsed - filed, 1e-3))


def _create_run(api: str, name: str, parameters: dict[str, object]) -> str:
    """A run of the deployment, straight through the API (no CLI start-up in the clock)."""
    deployment = httpx.get(f"{api}/deployments/name/{name}", timeout=30)
    deployment.raise_for_status()
    created = httpx.post(f"{api}/deployments/{deployment.json()['id']}/create_flow_run",
                         json={"parameters": parameters}, timeout=30)
    created.raise_for_status()
    return str(created.json()["id"])


def _dispatch(api: str, since: float) -> list[tuple[float, float, float]]:
    """The runs of ``posteingang`` the watcher started: seconds after ``since`` (a Unix time)
    until each was created, taken by a worker ("Pending") and began ("Running")."""
    found = httpx.post(f"{api}/flow_runs/filter", timeout=30, json={
        "deployments": {"name": {"any_": ["posteingang"]}}})
    found.raise_for_status()
    times = []
    for run in found.json():
        created = datetime.fromisoformat(run["created"]).timestamp() - since
        if created < 0:  # a run of an earlier setup
            continue
        states = httpx.get(f"{api}/flow_run_states/", params={"flow_run_id": run["id"]},
                           timeout=30)
        states.raise_for_status()
        when = {state["type"]: datetime.fromisoformat(state["timestamp"]).timestamp() - since
                for state in states.json()}
        times.append((created, when.get("PENDING", float("nan")),
                      when.get("RUNNING", float("nan"))))
    return sorted(times)


def _delete_runs(api: str) -> None:
    """Every run not yet finished (the watcher, runs of ``posteingang`` no worker took):
    left, the next setup's workers would take them."""
    found = httpx.post(f"{api}/flow_runs/filter", timeout=30, json={"flow_runs": {"state": {
        "type": {"any_": ["SCHEDULED", "PENDING", "RUNNING", "CANCELLING"]}}}})
    found.raise_for_status()
    for run in found.json():
        httpx.delete(f"{api}/flow_runs/{run['id']}", timeout=30).raise_for_status()


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
        time.sleep(0.05)  # the SQLite side is timed exactly: keep the polling's lag small
    raise TimeoutError(f"{query}: nicht {target} nach {limit:.0f} s")
