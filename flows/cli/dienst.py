"""``ews betrieb installieren``: systemd units and the logrotate rule for running the service
(I/O: files; with root and systemd also ``systemctl``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ews.operations.service import InstallRefused, install
from flows.cli.office import Office, office
from flows.cli.output import console, errors


def installieren(
        ctx: typer.Context,
        ziel: Annotated[Path | None, typer.Option(
            help="Ordner für die Units (und logrotate.d/ews) statt /etc/systemd/system; "
                 "dann wird nichts aktiviert.")] = None,
        cluster: Annotated[bool, typer.Option(
            "--cluster", help="Prefect-Server und Worker statt des Dienstes für ein Büro.")
        ] = False,
        benutzer: Annotated[str, typer.Option(help="Systembenutzer des Dienstes.")] = "ews",
        home: Annotated[Path | None, typer.Option(
            help="Installationsordner (Standard: der aktuelle Ordner).")] = None,
) -> None:
    """Systemd-Units schreiben (Neustart bei Fehlern, Journal, eigener Benutzer) und mit root
    und laufendem systemd aktivieren; dazu eine logrotate-Regel."""
    root = ctx.find_root().obj
    settings = root.settings if isinstance(root, Office) else office(ctx)
    folder = (home or Path.cwd()).resolve()
    data_dir = settings.data_dir if settings.data_dir.is_absolute() else folder / settings.data_dir
    try:
        result = install(folder, benutzer, cluster=cluster, data_dir=data_dir, target=ziel)
    except InstallRefused as exc:
        errors.print(f"[red]Nicht installiert:[/] {exc}")
        raise typer.Exit(1) from exc
    for path in result.written:
        console.print(f"Geschrieben: {path}")
    for note in result.notes:
        console.print(f"Hinweis: {note}")
    for name in result.enabled:
        console.print(f"Aktiviert: {name} (starten mit `systemctl start {name}`)")
    console.print("Protokolle: `journalctl -u ews` (bzw. -u ews-worker, -u ews-prefect-server).")
