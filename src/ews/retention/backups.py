"""Backups older than the longest retention period are deleted, with the deletion log:
a backup holds every case, so it may not outlive the longest period (I/O: the backup folder,
database).

The age of an archive is its modification time (the moment it was written); only files
named as ``ews betrieb sicherung`` names them are touched (``core.names.is_backup_name``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ews.core.deadlines import BERLIN, add_months
from ews.core.names import is_backup_name
from ews.register import retention as queries
from ews.register.database import transaction
from ews.retention.config import BACKUPS, read_retention
from ews.runtime.settings import Settings


def expired_backups(folder: Path, settings: Settings, now: datetime) -> list[Path]:
    """The backup archives in ``folder`` written before the longest period ended."""
    months = read_retention(settings.retention_file).longest_months()
    limit_day = add_months(now.astimezone(BERLIN).date(), -months)
    limit = datetime.combine(limit_day, datetime.min.time(), tzinfo=BERLIN)
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if is_backup_name(path.name)
                  and path.is_file() and datetime.fromtimestamp(path.stat().st_mtime, UTC) < limit)


def prune_backups(folder: Path, settings: Settings, *, now: datetime, actor: str,
                  dry_run: bool = False) -> int:
    """Delete the expired backups of ``folder`` and log how many (never their names);
    returns the number that go (or would go)."""
    expired = expired_backups(folder, settings, now)
    if dry_run or not expired:
        return len(expired)
    for path in expired:
        path.unlink(missing_ok=True)
    with transaction(settings.db_url) as session:
        queries.add_log(session, at=now, actor=actor, rule=BACKUPS, way="geloescht", az=None,
                        record_ids={}, counts={"sicherungen": len(expired)})
    return len(expired)
