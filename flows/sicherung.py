"""``sicherung``: the daily backup (``config/sicherung.toml``): one backup of the running
installation, then only the newest N kept."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow

from ews.core.deadlines import BERLIN
from ews.operations.backup import make_backup, prune
from ews.operations.backup_plan import read_backup_plan
from flows import redacted, service_settings


@flow(name="sicherung", log_prints=True)
@redacted
def sicherung() -> str:
    """Eine Sicherung schreiben (Register, Archiv, Ausgänge, Vorlagen, Einstellungen) und nur
    die neuesten behalten."""
    settings = service_settings()
    plan = read_backup_plan()
    result = make_backup(settings, plan.ziel, datetime.now(UTC).astimezone(BERLIN),
                         with_secrets=plan.mit_geheimnissen)
    for note in result.notes:
        print(note)
    deleted = prune(plan.ziel, plan.behalten)
    print(f"Sicherung geschrieben: {result.path} ({len(result.manifest['dateien'])} Dateien); "
          f"{len(deleted)} ältere gelöscht, {plan.behalten} werden behalten.")
    return str(result.path)
