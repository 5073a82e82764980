"""The Löschkonzept in Prefect: ``loeschlauf`` (scheduled nightly, flows/deployments.py)
deletes what is due in the register and its files and Prefect's own old flow runs
(flows/deletion.py). I/O: database, files, the Prefect API."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow

from ews.intake import passes as intake
from flows import redacted, service_settings
from flows.deletion import delete_due


@flow(name="loeschlauf", log_prints=True)
@redacted
def loeschlauf() -> int:
    """Fällige Daten nach dem Löschkonzept löschen oder anonymisieren
    (config/aufbewahrung.toml), auch alte Prefect-Läufe und Sicherungen, die älter sind als
    die längste Frist (im Ordner aus config/sicherung.toml)."""
    settings = service_settings()
    intake.prepare(settings)
    report, counts = delete_due(settings, now=datetime.now(UTC), actor="zeitplan",
                                dry_run=False)
    print(f"Löschlauf: {len(report.entries)} Einträge im Löschprotokoll, "
          f"{counts['prefect_laeufe']} Prefect-Läufe gelöscht; {len(report.stays)} Vorgänge "
          "bleiben.")
    return len(report.entries)
