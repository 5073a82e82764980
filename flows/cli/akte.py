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
from ews.register.database import transaction
from ews.retention.holds import lift_hold, set_hold
from flows.cli.office import office
from flows.cli.output import console, errors, folding_table, user


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
    sperre: Annotated[str | None, typer.Option(
        "--sperre", metavar="GRUND",
        help="Die Akte sperren (Aufbewahrungspflicht, Rechtsstreit …): sie wird nicht "
             "gelöscht, bis die Sperre aufgehoben ist.", show_default=False)] = None,
    sperre_aufheben: Annotated[str | None, typer.Option(
        "--sperre-aufheben", metavar="GRUND", help="Die Sperre der Akte aufheben.",
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
    if sperre is not None or sperre_aufheben is not None:
        _hold(ctx, case.az, sperre, sperre_aufheben)
    elif ordner is not None:
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


def _hold(ctx: typer.Context, az: str, reason: str | None, lift_reason: str | None) -> None:
    """Set or lift the legal hold of the case (``ews datenschutz sperre`` by another name)."""
    settings = office(ctx)
    try:
        with transaction(settings.db_url) as session:
            if reason is not None:
                set_hold(session, az, reason, user(), datetime.now(UTC))
            else:
                lift_hold(session, az, lift_reason or "", user(), datetime.now(UTC))
    except EwsError as exc:
        errors.print(f"[red]Nicht geändert:[/] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    if reason is not None:
        console.print(f"Akte {escape(az)} ist gesperrt und wird nicht gelöscht, bis die Sperre "
                      "aufgehoben ist.")
    else:
        console.print(f"Die Sperre der Akte {escape(az)} ist aufgehoben.")
