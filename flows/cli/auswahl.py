"""``ews auswahl …``: the selection of the running round — stand, entscheiden, export, import,
bescheide. Reads and writes the register through ``ews.selection``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.exc import SQLAlchemyError

from ews.core.errors import DecisionSheetError, EwsError, SelectionError
from ews.register.database import transaction
from ews.register.reports import application_records
from ews.retention.records import note_export
from ews.runtime.settings import Settings
from ews.selection import decisions as selection
from ews.selection.deciding import decide_now
from ews.selection.decision_sheet import read_decision_sheet
from ews.selection.decisions import REJECTION_REASONS
from ews.selection.export_xlsx import export_register
from ews.selection.notices import NoticeReport, send_notices
from ews.selection.sheet_import import import_decisions
from flows.cli.office import office
from flows.cli.output import (
    console,
    errors,
    folding_table,
    local,
    print_json_lines,
    refuse_existing,
    user,
)

auswahl_app = typer.Typer(
    help="Die Auswahl der laufenden Runde: Stand, Entscheidungen, Excel-Tabelle, Bescheide. "
    "Ohne Unterbefehl: der Stand.", invoke_without_command=True)


@auswahl_app.callback()
def auswahl(ctx: typer.Context, json_lines: Annotated[bool, typer.Option(
        "--json", help="JSON-Zeilen.")] = False) -> None:
    """Die Auswahl der laufenden Runde. Ohne Unterbefehl: der Stand (wie „ews auswahl stand“)."""
    if ctx.invoked_subcommand is None:
        stand(ctx, json_lines)


@auswahl_app.command("stand")
def stand(ctx: typer.Context, json_lines: Annotated[bool, typer.Option(
        "--json", help="JSON-Zeilen.")] = False) -> None:
    """Stand der Auswahl der laufenden Runde: jede Bewerbung mit ihrer Entscheidung."""
    settings = office(ctx)
    with transaction(settings.db_url) as session:
        records = selection.round_overview(session, settings.round.name)
        taken = len(selection.accepted(session, settings.round.name))
    if json_lines:
        print_json_lines(records)
        return
    table = folding_table(f"Auswahl {settings.round.name}: {taken} von {settings.round.seats} "
                          "Plätzen vergeben",
                          ("Aktenzeichen", "Kommune", "Eingang", "Entscheidung", "Rang", "Grund",
                           "Ausnahme", "von", "am"))
    for r in records:
        table.add_row(str(r["az"]), str(r["kommune_name"]),
                      {"registered": "fristgerecht", "late": "verspätet"}.get(
                          str(r["status"]), str(r["status"])),
                      str(r["entscheidung"] or "offen") + (" (nachgerückt)"
                                                           if r["nachgerueckt"] else ""),
                      str(r["rang"] or ""), str(r["grund"] or ""), str(r["ausnahme"] or ""),
                      str(r["von"] or ""), local(r["am"] if isinstance(r["am"], str) else None))
    console.print(table)


@auswahl_app.command("entscheiden")
def entscheiden(
    ctx: typer.Context,
    aktenzeichen: Annotated[str, typer.Argument(help="Aktenzeichen der Bewerbung.")],
    entscheidung: Annotated[str, typer.Argument(
        help="angenommen, warteliste, abgelehnt oder zurueckgezogen.")],
    rang: Annotated[int | None, typer.Option("--rang", help="Platz auf der Warteliste.")] = None,
    grund: Annotated[str | None, typer.Option(
        "--grund", help="Begründungsart einer Absage: " + ", ".join(REJECTION_REASONS))] = None,
    ausnahme: Annotated[str | None, typer.Option(
        "--ausnahme", help="Begründung, um eine verspätete oder ersetzte Bewerbung dennoch "
        "anzunehmen.")] = None,
    von: Annotated[str | None, typer.Option(
        "--von", help="Wer entscheidet (für das Protokoll); Standard: der Benutzername.")
                   ] = None,
) -> None:
    """Über eine Bewerbung entscheiden (wird mit Person und Zeit protokolliert)."""
    try:
        changes = decide_now(office(ctx), aktenzeichen, entscheidung.lower(),
                             actor=von or user(), rank=rang, reason=grund, override=ausnahme)
    except SelectionError as exc:
        errors.print(f"[red]Nicht möglich:[/] {exc.worded(selection.CLI_FIELDS)}")
        raise typer.Exit(2) from exc
    _print_changes(changes)


def _print_changes(changes: list[Any]) -> None:
    for change in changes:
        moved = " – rückt von der Warteliste nach" if change.moved_up else ""
        console.print(f"{change.az} {change.kommune}: {change.before or 'offen'} → "
                      f"{change.after}{moved}")


def _refuse_sheet(target: Path) -> None:
    refuse_existing(target, f"Darin eingetragene Entscheidungen zuerst mit „ews auswahl import "
                            f"{target}“ übernehmen, oder")


@auswahl_app.command("export")
def export(
    ctx: typer.Context,
    ziel: Annotated[Path, typer.Argument(help="Zieldatei, z. B. register.xlsx")],
    ueberschreiben: Annotated[bool, typer.Option(
        "--ueberschreiben", help="Eine vorhandene Datei ersetzen (darin eingetragene, noch "
        "nicht importierte Entscheidungen gehen verloren).")] = False,
) -> None:
    """Das Register als Excel-Datei (.xlsx) schreiben; das erste Blatt „Entscheidungen“ kann
    bearbeitet und mit „ews auswahl import“ wieder eingelesen werden. Eine vorhandene Datei
    wird nur mit --ueberschreiben ersetzt."""
    if ziel.suffix.lower() != ".xlsx":
        errors.print(f"„{ziel}“ endet nicht auf .xlsx; bitte eine Excel-Datei angeben, "
                     "z. B. register.xlsx.")
        raise typer.Exit(2)
    if not ueberschreiben and ziel.exists() and not ziel.is_dir():
        _refuse_sheet(ziel)
    settings = office(ctx)
    try:
        export_register(settings, ziel, overwrite=ueberschreiben)
    except OSError as exc:
        if isinstance(exc, FileExistsError) and not ziel.is_dir():
            _refuse_sheet(ziel)
        errors.print(f"Die Datei {ziel} konnte nicht geschrieben werden: "
                     f"{_write_failure(exc, ziel)}.")
        raise typer.Exit(1) from exc
    note_export(settings, "register", ziel, actor=user(), now=datetime.now(UTC))
    count = len(application_records(settings))
    console.print(f"Register mit {count} {'Bewerbung' if count == 1 else 'Bewerbungen'} nach "
                  f"{ziel} geschrieben. Entscheidungen im Blatt „Entscheidungen“ eintragen "
                  f"und mit „ews auswahl import {ziel}“ übernehmen.")


def _write_failure(exc: OSError, target: Path) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"das Verzeichnis {target.parent} gibt es nicht"
    if isinstance(exc, PermissionError):
        return "keine Schreibrechte (oder die Datei ist noch geöffnet)"
    if isinstance(exc, IsADirectoryError) or target.is_dir():
        return "das ist ein Verzeichnis"
    return exc.strerror or str(exc)


@auswahl_app.command("import")
def import_sheet(
    ctx: typer.Context,
    datei: Annotated[Path, typer.Argument(help="Die bearbeitete Datei aus „ews auswahl export“.")],
    von: Annotated[str | None, typer.Option("--von", help="Wer entscheidet (Protokoll).")
                   ] = None,
) -> None:
    """Die Entscheidungen aus dem Blatt „Entscheidungen“ übernehmen: alle oder keine – bei
    einem Fehler bleibt das Register unverändert."""
    settings = office(ctx)
    try:
        rows = read_decision_sheet(datei, round_name=settings.round.name)
        with transaction(settings.db_url) as session:
            report = import_decisions(session, rows, round_name=settings.round.name,
                                      seats=settings.round.seats, actor=von or user(),
                                      now=datetime.now(UTC))
    except DecisionSheetError as exc:
        errors.print(f"[red]Die Tabelle wurde nicht übernommen[/] ({len(exc.problems)} "
                     "Problem(e)); das Register ist unverändert:")
        for problem in exc.problems:
            errors.print(f"  • {problem}")
        raise typer.Exit(2) from exc
    _print_changes(report.changes)
    console.print(f"{report.applied} Entscheidung(en) übernommen, {report.unchanged} Zeile(n) "
                  "unverändert. Bescheide versenden: ews auswahl bescheide")


@auswahl_app.command("bescheide")
def bescheide(
    ctx: typer.Context,
    von: Annotated[str | None, typer.Option("--von", help="Wer versendet (Protokoll).")] = None,
) -> None:
    """Alle ausstehenden Bescheide der laufenden Runde schreiben (Word und PDF/A) und, wo
    E-Mail eingerichtet ist, versenden – jeden genau einmal, auch nach einem Abbruch."""
    settings = office(ctx)
    try:
        with console.status("Schreibe und versende Bescheide …"):
            report = send_notices(settings, datetime.now(UTC), actor=von or user())
    except (EwsError, OSError, SQLAlchemyError) as exc:
        errors.print(f"[red]Versand unterbrochen:[/] {exc}\nNichts ist doppelt: der nächste "
                     "Aufruf setzt an dieser Stelle fort.")
        raise typer.Exit(1) from exc
    _print_notice_report(report, settings)


def _print_notice_report(report: NoticeReport, settings: Settings) -> None:
    if not report.planned:
        console.print("Keine neuen Bescheide: jede Entscheidung hat ihr Schreiben schon.")
    else:
        table = folding_table(f"Neue Schreiben ({len(report.planned)})",
                              ("Aktenzeichen", "Kommune", "Schreiben"))
        for az, kommune, title in report.planned:
            table.add_row(az, kommune, title)
        console.print(table)
    console.print(f"Schreiben liegen in [bold]{settings.output_root}[/].")
    if settings.smtp.host:
        console.print(f"E-Mails: {report.queued} vorbereitet, {report.sent} gesendet, "
                      f"{report.retrying} warten auf erneuten Versuch, {report.failed} "
                      "gescheitert (Übersicht: ews postausgang).")
    else:
        console.print("Kein E-Mail-Versand eingerichtet (EWS_SMTP__HOST): bitte die Schreiben "
                      "per Post oder selbst per E-Mail versenden.")
    for az, title in report.by_post:
        console.print(f"  {az} {title}: keine E-Mail-Adresse im Bewerbungsbogen – per Post "
                      "versenden.")
