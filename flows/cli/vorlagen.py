"""``ews vorlagen …``: the letter, mail and circular templates checked with sample data, and the
blank application form of the round. Reads the templates; ``formular`` writes one file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from ews.casefile.export import check_toc_template
from ews.circulars.mailing import check_circular_templates
from ews.letters.blank_form import build_blank_form
from ews.letters.templates import check_templates
from ews.outbox.templates import check_mail_templates
from ews.runtime.folders import write_atomic
from flows.cli.office import office
from flows.cli.output import console, errors

vorlagen_app = typer.Typer(help="Briefvorlagen prüfen, den leeren Bewerbungsbogen erzeugen.",
                           no_args_is_help=True)


@vorlagen_app.command("pruefen")
def pruefen(ctx: typer.Context) -> None:
    """Jede Vorlage (Briefe, Erklärung, E-Mails) mit Beispieldaten ausfüllen; Fehler nennen
    die Vorlage, den Platzhalter und das Problem."""
    settings = office(ctx)
    problems = check_templates(settings.templates_dir, settings.office) + \
        check_mail_templates(settings) + check_circular_templates(settings, datetime.now(UTC))
    problems += check_toc_template(settings)
    if not problems:
        console.print(f"Alle Vorlagen in {settings.templates_dir} sind in Ordnung.")
        return
    for problem in problems:
        errors.print(f"[red]✗[/] {problem}")
    errors.print(f"{len(problems)} Problem(e) gefunden. Nach dem Korrigieren bitte erneut "
                 "prüfen: ews vorlagen pruefen")
    raise typer.Exit(1)


@vorlagen_app.command("formular")
def formular(ctx: typer.Context,
             ziel: Annotated[Path, typer.Argument()] = Path("templates/bewerbungsbogen.pdf")
             ) -> None:
    """Den leeren Bewerbungsbogen der laufenden Runde erzeugen."""
    settings = office(ctx)
    write_atomic(ziel, build_blank_form(settings.round.name))
    console.print(f"Bewerbungsbogen für {settings.round.name} geschrieben: {ziel}")
