"""``ews akte AZ``: one case in time order, as a table, as JSON or exported as Aktenauszug.
Reads the register; the export reads the stores and writes a folder."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ews.casefile.akte import case_record, entry_lines, load_case
from ews.casefile.export import ExportRefused, export_case, target_refusal
from ews.core.errors import EwsError
from ews.register.case_file import CaseFile
from flows.cli.office import office
from flows.cli.output import console, errors, folding_table


def akte(
    ctx: typer.Context,
    aktenzeichen: Annotated[str, typer.Argument(
        help="Aktenzeichen, z. B. „13.0.70-004/2026“ (auch mit Leerzeichen oder Gedankenstrich).",
        show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Ein JSON-Objekt.")] = False,
    ordner: Annotated[Path | None, typer.Option(
        "--export", metavar="ORDNER",
        help="Aktenauszug in diesen (neuen oder leeren) Ordner schreiben: "
             "Inhaltsverzeichnis als PDF/A, alle Dokumente, Prüfsummen.",
        show_default=False)] = None,
) -> None:
    """Die Akte eines Falls in zeitlicher Folge: Eingänge, Briefe, E-Mails ein und aus,
    Entscheidungen, Stempel, Wiedervorlagen und Ereignisse.

    Rückgabewert 1, wenn es die Akte nicht gibt oder ein Dokument des Auszugs fehlt oder
    nicht mehr so ist, wie es eingegangen ist; 2, wenn der Ordner nicht leer ist."""
    if ordner is not None and (refusal := target_refusal(ordner)):
        errors.print(f"[red]Nicht geschrieben:[/] {escape(refusal)}")
        raise typer.Exit(2)
    settings = office(ctx)
    case = load_case(settings, aktenzeichen)
    if case is None:
        errors.print(f"[red]Keine Akte gefunden:[/] Zum Aktenzeichen „{escape(aktenzeichen)}“ "
                     "gibt es keine Bewerbung und keine Gemeinsame Erklärung. Bitte das "
                     "Aktenzeichen prüfen (z. B. mit „ews bewerbungen“).")
        raise typer.Exit(1)
    if ordner is not None:
        _export(ctx, case, ordner)
    elif as_json:
        sys.stdout.write(json.dumps(case_record(case), ensure_ascii=False) + "\n")
    else:
        table = folding_table(f"Akte {case.az} – {case.kommune} ({len(case.entries)} Einträge)",
                              ("Zeit", "Art", "Eintrag", "Einzelheiten", "Dokumente"))
        if len(case.azs) > 1:
            table.caption = f"Aktenzeichen dieser Akte: {', '.join(case.azs)}"
        for line in entry_lines(case):
            table.add_row(line.when, line.kind, escape(line.title), escape(line.detail),
                          escape(line.documents))
        console.print(table)


def _export(ctx: typer.Context, case: CaseFile, target: Path) -> None:
    settings = office(ctx)
    try:
        with console.status("Schreibe den Aktenauszug …"):
            report = export_case(settings, case, target, datetime.now(UTC))
    except ExportRefused as exc:
        errors.print(f"[red]Nicht geschrieben:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    except (EwsError, OSError) as exc:  # a template, LibreOffice, the disk: nothing written
        errors.print(f"[red]Aktenauszug nicht erstellt:[/] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    console.print(f"Aktenauszug {escape(case.az)} geschrieben nach "
                  f"[bold]{escape(str(target))}[/]: {len(report.files)} Dateien, ihre "
                  "Prüfsummen in manifest-sha256.txt.")
    for reason in report.problems:
        errors.print(f"[yellow]Achtung:[/] {escape(reason)}")
    if report.problems:
        raise typer.Exit(1)
