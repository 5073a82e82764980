"""``ews posteingang …`` (verarbeiten, journal, stempel) and ``ews bewerbungen``: the inbox and
what it registered. Reads and writes the register through the intake and reports modules."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.exc import SQLAlchemyError

from ews.core.deadlines import BERLIN
from ews.core.errors import EwsError
from ews.core.models import OUTCOME_LABELS
from ews.core.names import safe_name
from ews.intake import passes as intake
from ews.intake.pipeline import InputResult, restamp
from ews.letters.samples import demo_inbox_files
from ews.register.reports import application_records, input_id_for, journal_records, record_stamp
from ews.runtime.folders import write_atomic
from ews.runtime.redaction import redact, secret_values
from ews.runtime.settings import Settings
from flows.cli.office import office
from flows.cli.output import AsJson, console, errors, folding_table, local, print_json_lines
from flows.server import use_running_server

posteingang_app = typer.Typer(
    help="Posteingang: Eingänge verarbeiten, Eingangsjournal, Eingangsstempel.",
    no_args_is_help=True)


@posteingang_app.command("verarbeiten")
def verarbeiten(
    ctx: typer.Context,
    ohne_prefect: Annotated[bool, typer.Option(
        "--ohne-prefect", help="Direkt verarbeiten, ohne Prefect-Lauf.")] = False,
) -> None:
    """Einen Durchlauf machen: alle fertig abgelegten Dateien im Posteingang und alle neuen
    E-Mails im Postfach verarbeiten, fällige Antworten senden."""
    run_and_report(office(ctx), ohne_prefect)


def run_and_report(settings: Settings, ohne_prefect: bool) -> None:
    console.print(f"Posteingang: [bold]{settings.inbox_dir}[/] – Runde {settings.round.name}")
    try:
        with console.status("Verarbeite Eingänge …"):
            results = _run_pass(settings, ohne_prefect)
    except (EwsError, OSError, SQLAlchemyError, RuntimeError) as exc:
        # bad inputs never get here (they are outcomes); this is the service itself failing
        reason = redact(str(exc), secret_values(settings))
        errors.print(f"[red]Der Dienst ist gestört:[/] {reason}\nNichts ist verloren: der "
                     "nächste Durchlauf setzt an dieser Stelle fort.")
        raise typer.Exit(1) from exc
    if not results:
        console.print("Keine neuen Dateien im Posteingang.")
        return
    _print_results_table([r.model_dump(mode="json") for r in results])


def _run_pass(settings: Settings, ohne_prefect: bool) -> list[InputResult]:
    if ohne_prefect:
        return intake.run_pass(settings, progress=_print_progress)
    use_running_server(settings)
    # Prefect is imported only now: it reads its settings (the server's URL) at import
    from flows.intake import run_posteingang  # deferred: Prefect reads the server URL at import

    return run_posteingang()  # builds the same settings from this process's environment


def _print_progress(result: Any) -> None:
    console.print(f"  {result.source_name}: {OUTCOME_LABELS[result.outcome.value]} "
                  f"{result.az or ''}")


def _print_results_table(rows: list[dict[str, Any]]) -> None:
    table = folding_table("Ergebnis dieses Durchlaufs",
                          ("Datei", "Ergebnis", "Aktenzeichen", "Kommune", "Gründe"))
    for row in rows:
        table.add_row(row["source_name"], OUTCOME_LABELS[row["outcome"]], row["az"] or "–",
                      row["kommune_name"] or "–", "\n".join(row["reasons"]))
    console.print(table)


@posteingang_app.command("journal")
def journal(ctx: typer.Context, json_lines: AsJson = False) -> None:
    """Alle jemals gesehenen Eingangsdateien mit ihrem Ergebnis."""
    records = journal_records(office(ctx))
    if json_lines:
        print_json_lines(records)
        return
    table = folding_table("Eingangsjournal", ("Nr.", "Datei", "Eingang", "Ergebnis",
                                              "Aktenzeichen", "Kommune", "Gründe"))
    for r in records:
        table.add_row(str(r["eingangsnummer"]), r["source"], local(r["received_at"]),
                      OUTCOME_LABELS[r["outcome"]], r["az"] or "–", r["kommune_name"] or "–",
                      "\n".join(r["reasons"] + r["notes"]))
    console.print(table)


@posteingang_app.command("stempel")
def stempel(
    ctx: typer.Context,
    eingang: Annotated[str, typer.Argument(
        help="Datei im Posteingang, Eingangsnummer oder Aktenzeichen")],
    zeitpunkt: Annotated[str, typer.Argument(help="z. B. \"28.02.2027 14:30\"")],
    von: Annotated[str, typer.Option(help="Wer den Stempel erfasst")] = "Poststelle",
) -> None:
    """Eingangsstempel einer Papierbewerbung erfassen; er gilt statt der Zeit des ersten
    Sehens. Für schon registrierte Eingänge wird die Frist neu geprüft."""
    settings = office(ctx)
    try:
        stamped = datetime.strptime(zeitpunkt.strip(), "%d.%m.%Y %H:%M").replace(tzinfo=BERLIN)
    except ValueError:
        errors.print(f"„{zeitpunkt}“ ist kein Zeitpunkt im Format TT.MM.JJJJ HH:MM.")
        raise typer.Exit(2) from None
    now = datetime.now(BERLIN)
    if Path(eingang).is_file():
        console.print(record_stamp(settings, Path(eingang), stamped, actor=von, now=now))
        return
    input_id = input_id_for(settings, eingang)
    if input_id is None:
        errors.print(f"Kein Eingang mit Nummer oder Aktenzeichen „{eingang}“ gefunden.")
        raise typer.Exit(2)
    result = restamp(input_id, stamped, settings, now, actor=von)
    console.print(f"Eingangsstempel {stamped:%d.%m.%Y %H:%M} Uhr erfasst für Eingang "
                  f"{input_id}: {OUTCOME_LABELS[result.outcome.value]} {result.az or ''}")


posteingang_app.command("eingangsstempel", hidden=True)(stempel)  # the word on the stamp


def bewerbungen(ctx: typer.Context, json_lines: AsJson = False) -> None:
    """Alle Bewerbungen im Register."""
    records = application_records(office(ctx))
    if json_lines:
        print_json_lines(records)
        return
    table = folding_table(f"Bewerbungen ({len(records)})",
                          ("Aktenzeichen", "Kommune", "AGS", "Status", "Eingang", "Briefe"))
    status_de = {"registered": "registriert", "late": "verspätet", "replaced": "ersetzt"}
    for r in records:
        table.add_row(r["az"], r["kommune_name"], r["ags"], status_de.get(r["status"],
                      r["status"]), local(r["received_at"]),
                      "\n".join(Path(p).name for p in r["letters"]))
    console.print(table)


def demo(ctx: typer.Context) -> None:
    """Beispielbewerbungen in den Posteingang legen und einen Durchlauf machen."""
    settings = office(ctx)
    files = demo_inbox_files(settings.round.name)
    for name, data in files:
        write_atomic(settings.inbox_dir / safe_name(name), data)
    console.print(f"{len(files)} Beispieldateien in {settings.inbox_dir} gelegt.")
    run_and_report(settings, ohne_prefect=False)
    console.print("Briefe liegen in "
                  f"[bold]{settings.output_root}[/]; Übersicht: [bold]ews posteingang journal[/].")
