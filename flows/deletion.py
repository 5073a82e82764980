"""Everything a deletion run covers, for the CLI and the scheduled flow: the register and its
files (ews.retention), Prefect's own flow runs with their logs and artifacts, and old backups
(I/O: database, files, the Prefect API; Prefect is imported when first used, after the CLI
prepared its environment).

Prefect keeps what a run printed (logs), its artifacts (tables of cases) and its
parameters; they name files and municipalities. A flow run older than ``[prefect] tage``
in a final state is deleted through the client API: first its artifacts, then the run,
whose task runs and states the server deletes with it and whose logs it deletes in a
background job right after. Not covered: Prefect's event stream (``events`` table, kept
by the server's own retention, PREFECT_SERVER_EVENTS_RETENTION_PERIOD) and runs still
scheduled or running."""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

from ews.core.errors import PlanError
from ews.operations.backup_plan import read_backup_plan
from ews.retention.backups import prune_backups
from ews.retention.config import PREFECT_RUNS, read_retention
from ews.retention.deletion import RunReport, log_deletion, run_deletion
from ews.runtime.settings import Settings

FINAL = ["COMPLETED", "FAILED", "CANCELLED", "CRASHED"]
BATCH = 100
MAX_BATCHES = 1000  # bounded: at most 100 000 runs in one deletion run


def delete_prefect_runs(settings: Settings, *, now: datetime, actor: str,
                        dry_run: bool = False) -> Counter[str]:
    """Delete the finished flow runs started before the period, with their artifacts;
    returns the counts (also logged in the deletion log)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterStartTime,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    days = read_retention(settings.retention_file).prefect.tage
    runs = FlowRunFilter(
        start_time=FlowRunFilterStartTime.model_validate(
            {"before_": now - timedelta(days=days)}),
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType(s) for s in FINAL])))
    counts: Counter[str] = Counter()
    deleted: list[UUID] = []
    with get_client(sync_client=True) as client:
        for batch in range(MAX_BATCHES):
            found = client.read_flow_runs(flow_run_filter=runs, limit=BATCH,
                                          offset=batch * BATCH if dry_run else 0)
            for run in found:
                artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])))
                counts["prefect_laeufe"] += 1
                counts["artefakte"] += len(artifacts)
                if not dry_run:
                    for artifact in artifacts:
                        client.delete_artifact(artifact.id)
                    client.delete_flow_run(run.id)
                    deleted.append(run.id)
            if len(found) < BATCH:
                break
    if counts and not dry_run:
        _wait_for_logs(deleted)
        compact_prefect_database()
        log_deletion(settings, rule=PREFECT_RUNS, counts=dict(counts), now=now, actor=actor)
    return counts


def _wait_for_logs(run_ids: list[UUID], seconds: float = 60.0) -> None:
    """Until the server's background job deleted the runs' logs (bounded)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    logs = LogFilter(flow_run_id=LogFilterFlowRunId(any_=run_ids))
    deadline = time.monotonic() + seconds
    with get_client(sync_client=True) as client:
        while client.read_logs(log_filter=logs, limit=1) and time.monotonic() < deadline:
            time.sleep(0.5)


def compact_prefect_database() -> bool:
    """Prefect's SQLite database rebuilt without its freed pages (deleted rows linger there
    otherwise) and its write-ahead log emptied; False when it is not a local SQLite file or
    was busy (then the next run tries again). PostgreSQL reclaims rows by autovacuum."""
    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL
    from sqlalchemy import make_url

    url = make_url(PREFECT_SERVER_DATABASE_CONNECTION_URL.value() or "sqlite://")
    if not url.drivername.startswith("sqlite") or not url.database:
        return False
    if not Path(url.database).exists():
        return False
    connection = sqlite3.connect(url.database, timeout=60, isolation_level=None)
    try:
        connection.execute("VACUUM")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        connection.close()


def delete_due(settings: Settings, *, now: datetime, actor: str, dry_run: bool,
               backups: Path | None = None, prefect: bool = True
               ) -> tuple[RunReport, Counter[str]]:
    """Everything the deletion run covers: the register and its files, Prefect's runs and
    old backups (in ``backups``, else in the folder of config/sicherung.toml)."""
    report = run_deletion(settings, now=now, actor=actor, dry_run=dry_run)
    counts = delete_prefect_runs(settings, now=now, actor=actor, dry_run=dry_run) \
        if prefect else Counter()
    backups = backups or planned_backup_folder()
    if backups is not None:
        counts["sicherungen"] = prune_backups(backups, settings, now=now, actor=actor,
                                              dry_run=dry_run)
    return report, counts


def planned_backup_folder() -> Path | None:
    """The folder the scheduled backups go to (config/sicherung.toml), if it exists; a plan
    that cannot be read is reported, and its backups are left for the next run."""
    try:
        folder = read_backup_plan().ziel
    except PlanError as exc:
        print(f"Sicherungsplan nicht lesbar; alte Sicherungen bleiben bis zum nächsten Lauf: {exc}")
        return None
    return folder if folder.is_dir() else None
