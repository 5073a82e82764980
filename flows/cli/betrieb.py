"""``ews betrieb …``: running the service — starten (the office's Prefect server, watchers and
deployments), status (the health view), cluster (the distributed setup), sicherung and
wiederherstellen (backups), installieren (systemd units). Starts processes."""

from __future__ import annotations

import faulthandler
import os
import signal

import typer

from ews.runtime.redaction import redact, secret_values
from flows.cli.benutzer import benutzer_app, web
from flows.cli.cluster import cluster_app
from flows.cli.datenschutz import loeschen
from flows.cli.dienst import installieren
from flows.cli.office import office
from flows.cli.output import console, errors
from flows.cli.sicherung import sicherung, wiederherstellen
from flows.cli.status import status
from flows.server import serve_office

betrieb_app = typer.Typer(help="Betrieb: Dauerbetrieb starten, Zustand, mehrere Rechner, "
                               "Sicherung.",
                          no_args_is_help=True)


@betrieb_app.command("starten")
def starten(ctx: typer.Context) -> None:
    """Dauerbetrieb: Prefect-Server starten, Posteingang überwachen, Läufe in der Oberfläche."""
    settings = office(ctx)
    # before serve_office imports Prefect: its settings are read once, at import
    os.environ["PREFECT_API_URL"] = (f"http://{settings.prefect.host}:{settings.prefect.port}"
                                     "/api")
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1`: where it hangs
    try:
        serve_office(settings, console)
    except RuntimeError as exc:  # the Prefect server did not start or must not
        errors.print(f"[red]Nicht gestartet:[/] {redact(str(exc), secret_values(settings))}")
        raise typer.Exit(1) from exc


betrieb_app.command("status")(status)
betrieb_app.command("loeschen")(loeschen)
betrieb_app.add_typer(cluster_app, name="cluster")
betrieb_app.command("sicherung")(sicherung)
betrieb_app.command("wiederherstellen")(wiederherstellen)
betrieb_app.command("installieren")(installieren)
betrieb_app.add_typer(benutzer_app, name="benutzer")
betrieb_app.command("web")(web)
