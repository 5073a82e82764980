"""Smoke test of tests/pgserver.py: PostgreSQL cluster, Prefect server on it, one process worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy

from ews.runtime.settings import PREFECT_SERVER_ENVIRONMENT
from tests.support.pgserver import (
    PREFECT,
    Postgres,
    PrefectServer,
    ProcessWorker,
    clean_environ,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.prefect_server, pytest.mark.timeout(180)]
REPO = Path(__file__).resolve().parents[3]


def _worker_names(api_url: str, pool: str) -> list[str]:
    try:
        response = httpx.post(f"{api_url}/work_pools/{pool}/workers/filter", json={}, timeout=5)
    except httpx.HTTPError:
        return []
    return [w["name"] for w in response.json()] if response.status_code == 200 else []


def test_postgres_prefect_server_and_a_process_worker(tmp_path: Path) -> None:
    timings: dict[str, float] = {}
    pg = Postgres().start()
    server: PrefectServer | None = None
    worker: ProcessWorker | None = None
    worker_pid: int | None = None
    try:
        assert pg.started_in is not None
        timings["cluster start"] = pg.started_in
        engine = sqlalchemy.create_engine(pg.create_database("smoke"))
        try:
            with engine.connect() as conn:
                assert conn.execute(sqlalchemy.text("select 1")).scalar() == 1
        finally:
            engine.dispose()

        pg.create_database("prefect")
        server = PrefectServer(pg.url("prefect", driver="postgresql+asyncpg")).start()
        assert server.ready_in is not None
        timings["prefect server ready"] = server.ready_in
        assert server.proc is not None  # it runs with the service's server settings
        environ = Path(f"/proc/{server.proc.pid}/environ").read_bytes().split(b"\0")
        for setting, value in PREFECT_SERVER_ENVIRONMENT.items():
            assert f"{setting}={value}".encode() in environ
        env = server.client_env()
        created = subprocess.run(
            [str(PREFECT), "work-pool", "create", "smoke", "--type", "process"],
            env={**clean_environ(), **env}, cwd=tmp_path, capture_output=True, text=True,
            timeout=60,
        )
        assert created.returncode == 0, created.stdout + created.stderr

        api_url = server.api_url
        began = time.monotonic()
        worker = ProcessWorker("smoke", "smoke-1", env=env, cwd=REPO).start()
        wait_for(lambda: "smoke-1" in _worker_names(api_url, "smoke"), 60,
                 "worker smoke-1 in the pool", interval=0.5)
        timings["worker registered"] = time.monotonic() - began
        worker.wait_registered(api_url, timeout=30)  # and printed "started!": safe to stop
        assert worker.running()
        assert "Traceback" not in worker.log_text(), worker.log_text()
        worker_pid = worker.pid
    finally:
        try:
            if worker is not None:
                began = time.monotonic()
                worker.stop()
                timings["worker stop"] = time.monotonic() - began
        finally:
            try:
                if server is not None:
                    server.cleanup()
            finally:
                pg.stop()
    assert worker is not None and not worker.running()
    assert worker_pid is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(worker_pid, 0)  # nothing of the worker's process group is left
    assert "Traceback" not in worker.log_text(), worker.log_text()  # a clean stop, too
    assert server is not None and not server.root.exists()
    print("; ".join(f"{k}: {v:.1f} s" for k, v in timings.items()), file=sys.stderr)
