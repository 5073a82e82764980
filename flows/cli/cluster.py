"""``ews betrieb cluster …``: the distributed setup — prefect.yaml from the deployment table
and the Versandplan, and the work pool on the Prefect server. Writes prefect.yaml, runs
``prefect``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from flows.cli.office import office
from flows.cli.output import console, errors
from flows.deployments import WORK_POOL, office_deployments, prefect_yaml
from flows.server import read_backup_plan_or_report, read_plan_or_report

cluster_app = typer.Typer(
    help="Betrieb auf mehreren Rechnern: Prefect-Server auf PostgreSQL, Arbeitspool, Worker.",
    no_args_is_help=True)


@cluster_app.command("prefect-yaml")
def write_prefect_yaml(
        ctx: typer.Context,
        ziel: Annotated[Path, typer.Option(help="Zieldatei.")] = Path("prefect.yaml"),
) -> None:
    """prefect.yaml mit allen Deployments neu schreiben (nach Änderungen am Versandplan)."""
    settings = office(ctx)
    plan = read_plan_or_report(settings, console)
    deployments = office_deployments(plan, follow_up_cron=settings.follow_ups.cron,
                                     backup=read_backup_plan_or_report(console))
    ziel.write_text(prefect_yaml(deployments), encoding="utf-8")
    console.print(f"{ziel} geschrieben: {len(deployments)} Deployments, davon "
                  f"{len(plan)} geplante Versände.")


@cluster_app.command("einrichten")
def set_up(
        grenze: Annotated[int, typer.Option(help="Gleichzeitige Läufe im Arbeitspool.")] = 8,
) -> None:
    """Arbeitspool „ews“ auf dem Prefect-Server (PREFECT_API_URL) anlegen oder anpassen."""
    prefect = str(Path(sys.executable).parent / "prefect")
    created = subprocess.run([prefect, "work-pool", "create", WORK_POOL, "--type", "process",
                              "--overwrite"], capture_output=True, text=True, check=False)
    limited = subprocess.run([prefect, "work-pool", "set-concurrency-limit", WORK_POOL,
                              str(grenze)], capture_output=True, text=True, check=False)
    for step in (created, limited):
        if step.returncode != 0:
            errors.print(f"[red]Fehler:[/] {step.stdout}{step.stderr}".strip())
            raise typer.Exit(1)
    console.print(f"Arbeitspool „{WORK_POOL}“ bereit (höchstens {grenze} Läufe zugleich). "
                  "Weiter: `EWS_HOME=$PWD .venv/bin/prefect --no-prompt deploy --all`, "
                  f"dann auf jedem Rechner `.venv/bin/prefect worker start --pool {WORK_POOL}`.")
