"""The deletion log for display and the recording of exports with personal data (I/O:
database)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from ews.register import retention as queries
from ews.register.database import transaction
from ews.runtime.settings import Settings


def protocol(settings: Settings) -> list[dict[str, Any]]:
    """Every entry of the deletion log, oldest first."""
    with transaction(settings.db_url) as session:
        return [{"nr": row.id, "zeit": row.at.isoformat(), "durch": row.actor,
                 "regel": row.rule, "art": row.way, "az": row.az, "umfang": row.counts,
                 "datensaetze": row.record_ids, "grund": row.note}
                for row in queries.log_rows(session)]


def note_export(settings: Settings, kind: str, target: Path, *, actor: str, now: datetime
                ) -> None:
    """Record an export the service wrote (``ews auswahl export``, ``ews netzwerk export``,
    an access export), so that the deletion run deletes it after ``[exporte] tage``."""
    with transaction(settings.db_url) as session:
        queries.record_export(session, kind=kind, location=str(target.resolve()), actor=actor,
                              now=now)
