"""``ews betrieb sicherung``, ``… sicherung pruefen`` and ``ews betrieb wiederherstellen``:
backups of the installation, checked and restored (I/O: database, files)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from ews.core.deadlines import BERLIN
from ews.core.errors import PlanError
from ews.operations.backup import make_backup
from ews.operations.backup_layout import read_manifest, verify
from ews.operations.backup_plan import read_backup_plan
from ews.operations.restore import RestoreRefused, restore
from ews.runtime.redaction import redact, secret_values
from flows.cli.office import Office, office
from flows.cli.output import console, errors

CHECK = "pruefen"


def sicherung(
        ctx: typer.Context,
        ziel: Annotated[str | None, typer.Argument(
            help="Ordner der Sicherung (Standard: ziel aus config/sicherung.toml), oder "
                 "„pruefen“ und dann die Sicherungsdatei.")] = None,
        archiv: Annotated[Path | None, typer.Argument(
            help="Nur mit „pruefen“: die zu prüfende Sicherung.")] = None,
        mit_geheimnissen: Annotated[bool, typer.Option(
            "--mit-geheimnissen", help="Auch Passwörter und Schlüssel aus config/ews.env.")
        ] = False,
) -> None:
    """Eine Sicherung schreiben (Register, Archiv, Quarantäne, Ausgänge, Entwürfe, Vorlagen,
    Einstellungen), oder mit „pruefen ARCHIV“ eine Sicherung prüfen, ohne sie einzuspielen."""
    if ziel == CHECK:
        if archiv is None:
            errors.print("Bitte die zu prüfende Sicherung angeben: ews betrieb sicherung "
                         "pruefen ARCHIV")
            raise typer.Exit(2)
        check(archiv)
        return
    if archiv is not None:
        errors.print(f"Unerwartetes Argument: {archiv}")
        raise typer.Exit(2)
    settings = office(ctx)
    try:
        plan = read_backup_plan()
    except PlanError as exc:
        errors.print(f"[red]Sicherungsplan fehlerhaft:[/] {exc}")
        raise typer.Exit(1) from exc
    target = Path(ziel) if ziel else plan.ziel
    result = make_backup(settings, target, datetime.now(UTC).astimezone(BERLIN),
                         with_secrets=mit_geheimnissen or plan.mit_geheimnissen)
    for note in result.notes:
        console.print(f"Hinweis: {redact(note, secret_values(settings))}")
    counters = ", ".join(f"{year}: {last}" for year, last in result.manifest["az_zaehler"]
                         .items()) or "noch keins"
    console.print(f"Sicherung geschrieben: {result.path}\n"
                  f"{len(result.manifest['dateien'])} Dateien, Schema "
                  f"{result.manifest['schema']}, letztes Az. je Jahr: {counters}")


def check(archiv: Path) -> None:
    problems = verify(archiv)
    if problems:
        errors.print(f"[red]Sicherung {archiv} fehlerhaft[/] ({len(problems)} Abweichungen):")
        for problem in problems:
            errors.print(f"  {problem}")
        raise typer.Exit(1)
    manifest = read_manifest(archiv)
    console.print(f"Sicherung {archiv} in Ordnung: {len(manifest['dateien'])} Dateien geprüft "
                  f"(erstellt {manifest['erstellt']}, Schema {manifest['schema']}, "
                  f"Version {manifest['version']}).")


def wiederherstellen(
        ctx: typer.Context,
        archiv: Annotated[Path, typer.Argument(help="Die Sicherungsdatei (.tar).")],
) -> None:
    """Eine Sicherung in eine leere Installation einspielen; danach wird das Register auf den
    neuesten Stand gebracht. Eine Installation mit Daten wird nie überschrieben."""
    root = ctx.find_root().obj
    settings = root.settings if isinstance(root, Office) else office(ctx)
    try:
        result = restore(settings, archiv)
    except RestoreRefused as exc:
        errors.print(f"[red]Nicht wiederhergestellt.[/] {exc}")
        raise typer.Exit(1) from exc
    for note in result.notes:
        console.print(f"Hinweis: {note}")
    console.print(f"Wiederhergestellt aus {archiv}: Register (Schema "
                  f"{result.manifest['schema']} → {result.revision}) und {result.files} "
                  f"Dateien. Der Posteingang war nicht Teil der Sicherung: was dort liegt, "
                  f"wird beim nächsten Lauf aufgenommen.")
