"""The ``ews`` command line (German messages; a table by default, JSON on request)."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from ews import intake, selection
from ews.database import session_factory
from ews.deadlines import BERLIN
from ews.errors import EwsError
from ews.mail_out import outgoing_records
from ews.models import OUTCOME_LABELS
from ews.pipeline import InputResult, restamp
from ews.reports import application_records, input_id_for, journal_records, record_stamp
from ews.selection import REJECTION_REASONS
from ews.settings import Settings

app = typer.Typer(help="EWS-Aktenführung: Posteingang, Register und Briefe.",
                  no_args_is_help=True, add_completion=False)
console = Console()
errors = Console(stderr=True)



@app.command()
def process(
    ohne_prefect: Annotated[bool, typer.Option(
        "--ohne-prefect", help="Direkt verarbeiten, ohne Prefect-Lauf.")] = False,
) -> None:
    """Einen Durchlauf machen: alle fertig abgelegten Dateien im Posteingang und alle neuen
    E-Mails im Postfach verarbeiten, fällige Antworten senden."""
    settings = Settings()
    console.print(f"Posteingang: [bold]{settings.inbox_dir}[/] – Runde {settings.round.name}")
    try:
        with console.status("Verarbeite Eingänge …"):
            results = _run_pass(settings, ohne_prefect)
    except (EwsError, OSError, SQLAlchemyError, RuntimeError) as exc:
        # bad inputs never get here (they are outcomes); this is the service itself failing
        errors.print(f"[red]Der Dienst ist gestört:[/] {exc}\nNichts ist verloren: der "
                     "nächste Durchlauf setzt an dieser Stelle fort.")
        raise typer.Exit(1) from exc
    if not results:
        console.print("Keine neuen Dateien im Posteingang.")
        return
    _print_results_table([r.model_dump(mode="json") for r in results])


def _run_pass(settings: Settings, ohne_prefect: bool) -> list[InputResult]:
    if ohne_prefect:
        return intake.run_pass(settings, progress=_print_progress)
    from flows.server import use_running_server
    use_running_server(settings)
    from flows.intake import run_posteingang
    return run_posteingang(settings)


def _print_progress(result: Any) -> None:
    console.print(f"  {result.source_name}: {OUTCOME_LABELS[result.outcome.value]} "
                  f"{result.az or ''}")


def _print_results_table(rows: list[dict[str, Any]]) -> None:
    table = Table(title="Ergebnis dieses Durchlaufs")
    for header in ("Datei", "Ergebnis", "Aktenzeichen", "Kommune", "Gründe"):
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(row["source_name"], OUTCOME_LABELS[row["outcome"]], row["az"] or "–",
                      row["kommune_name"] or "–", "\n".join(row["reasons"]))
    console.print(table)


@app.command()
def serve() -> None:
    """Dauerbetrieb: Prefect-Server starten, Posteingang überwachen, Läufe in der Oberfläche."""
    import faulthandler
    import os
    import signal

    settings = Settings()
    # before anything imports Prefect: its settings are read once, at import
    os.environ["PREFECT_API_URL"] = (f"http://{settings.prefect.host}:{settings.prefect.port}"
                                     "/api")
    from flows.server import serve_office

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1`: where it hangs
    serve_office(settings, console)


@app.command()
def journal(json_lines: Annotated[bool, typer.Option("--json", help="JSON-Zeilen.")] = False
            ) -> None:
    """Alle jemals gesehenen Eingangsdateien mit ihrem Ergebnis."""
    settings = Settings()
    intake.prepare(settings)
    records = journal_records(settings)
    if json_lines:
        _print_json_lines(records)
        return
    table = Table(title="Eingangsjournal")
    for header in ("Nr.", "Datei", "Eingang", "Ergebnis", "Aktenzeichen", "Kommune", "Gründe"):
        table.add_column(header, overflow="fold")
    for r in records:
        table.add_row(str(r["eingangsnummer"]), r["source"], _local(r["received_at"]),
                      OUTCOME_LABELS[r["outcome"]], r["az"] or "–", r["kommune_name"] or "–",
                      "\n".join(r["reasons"]))
    console.print(table)


@app.command()
def decide(
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
    settings = Settings()
    intake.prepare(settings)
    try:
        with session_factory(settings.db_url).begin() as session:
            changes = selection.decide(
                session, aktenzeichen, entscheidung.lower(), seats=settings.round.seats,
                actor=von or _user(), now=datetime.now(UTC), rank=rang, reason=grund,
                override=ausnahme)
    except selection.SelectionError as exc:
        errors.print(f"[red]Nicht möglich:[/] {exc}")
        raise typer.Exit(2) from exc
    for change in changes:
        moved = " – rückt von der Warteliste nach" if change.moved_up else ""
        console.print(f"{change.az} {change.kommune}: {change.before or 'offen'} → "
                      f"{change.after}{moved}")


@app.command()
def auswahl(json_lines: Annotated[bool, typer.Option("--json", help="JSON-Zeilen.")] = False
            ) -> None:
    """Stand der Auswahl der laufenden Runde: jede Bewerbung mit ihrer Entscheidung."""
    settings = Settings()
    intake.prepare(settings)
    with session_factory(settings.db_url).begin() as session:
        records = selection.round_overview(session, settings.round.name)
        taken = len(selection.accepted(session, settings.round.name))
    if json_lines:
        _print_json_lines(records)
        return
    table = Table(title=f"Auswahl {settings.round.name}: {taken} von {settings.round.seats} "
                        "Plätzen vergeben")
    for header in ("Aktenzeichen", "Kommune", "Eingang", "Entscheidung", "Rang", "Grund",
                   "Ausnahme", "von", "am"):
        table.add_column(header, overflow="fold")
    for r in records:
        table.add_row(str(r["az"]), str(r["kommune_name"]),
                      {"registered": "fristgerecht", "late": "verspätet"}.get(
                          str(r["status"]), str(r["status"])),
                      str(r["entscheidung"] or "offen") + (" (nachgerückt)"
                                                           if r["nachgerueckt"] else ""),
                      str(r["rang"] or ""), str(r["grund"] or ""), str(r["ausnahme"] or ""),
                      str(r["von"] or ""), _local(r["am"] if isinstance(r["am"], str) else None))
    console.print(table)


@app.command()
def postausgang(
    json_lines: Annotated[bool, typer.Option("--json", help="JSON-Zeilen.")] = False,
) -> None:
    """Alle ausgehenden E-Mails (Antworten) mit ihrem Versandstand."""
    settings = Settings()
    intake.prepare(settings)
    records = outgoing_records(settings)
    if json_lines:
        _print_json_lines(records)
        return
    table = Table(title=f"Postausgang ({len(records)})")
    for header in ("Nr.", "Bezug", "Empfänger", "Status", "Versuche", "Gesendet", "Hinweis"):
        table.add_column(header, overflow="fold")
    status_de = {"queued": "wartet", "sending": "wird gesendet", "sent": "gesendet",
                 "failed": "gescheitert"}
    for r in records:
        table.add_row(str(r["id"]), r["bezug"], "\n".join(r["empfaenger"]),
                      status_de.get(r["status"], r["status"]), str(r["versuche"]),
                      _local(r["gesendet"]), r["fehler"] or "")
    console.print(table)


@app.command()
def applications(
    json_lines: Annotated[bool, typer.Option("--json", help="JSON-Zeilen.")] = False,
) -> None:
    """Alle Bewerbungen im Register."""
    settings = Settings()
    intake.prepare(settings)
    records = application_records(settings)
    if json_lines:
        _print_json_lines(records)
        return
    table = Table(title=f"Bewerbungen ({len(records)})")
    for header in ("Aktenzeichen", "Kommune", "AGS", "Status", "Eingang", "Briefe"):
        table.add_column(header, overflow="fold")
    status_de = {"registered": "registriert", "late": "verspätet", "replaced": "ersetzt"}
    for r in records:
        table.add_row(r["az"], r["kommune_name"], r["ags"], status_de.get(r["status"],
                      r["status"]), _local(r["received_at"]),
                      "\n".join(Path(p).name for p in r["letters"]))
    console.print(table)


@app.command()
def eingangsstempel(
    eingang: Annotated[str, typer.Argument(
        help="Datei im Posteingang, Eingangsnummer oder Aktenzeichen")],
    zeitpunkt: Annotated[str, typer.Argument(help="z. B. \"28.02.2027 14:30\"")],
    von: Annotated[str, typer.Option(help="Wer den Stempel erfasst")] = "Poststelle",
) -> None:
    """Eingangsstempel einer Papierbewerbung erfassen; er gilt statt der Zeit des ersten
    Sehens. Für schon registrierte Eingänge wird die Frist neu geprüft."""
    settings = Settings()
    intake.prepare(settings)
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


@app.command()
def demo() -> None:
    """Beispielbewerbungen in den Posteingang legen und einen Durchlauf machen."""
    from ews.folders import safe_name, write_atomic
    from ews.samples import demo_inbox_files

    settings = Settings()
    intake.prepare(settings)
    files = demo_inbox_files(settings.round.name)
    for name, data in files:
        write_atomic(settings.inbox_dir / safe_name(name), data)
    console.print(f"{len(files)} Beispieldateien in {settings.inbox_dir} gelegt.")
    process(ohne_prefect=False)
    console.print("Briefe liegen in "
                  f"[bold]{settings.outbox_dir}[/]; Übersicht: [bold]ews journal[/].")


@app.command()
def formular(ziel: Annotated[Path, typer.Argument()] = Path("templates/bewerbungsbogen.pdf")
             ) -> None:
    """Den leeren Bewerbungsbogen der laufenden Runde erzeugen."""
    from ews.blank_form import build_blank_form
    from ews.folders import write_atomic

    settings = Settings()
    write_atomic(ziel, build_blank_form(settings.round.name))
    console.print(f"Bewerbungsbogen für {settings.round.name} geschrieben: {ziel}")


@app.command()
def export(
    ziel: Annotated[Path, typer.Argument(help="Zieldatei, z. B. register.xlsx")],
) -> None:
    """Das Register als Excel-Datei (.xlsx) schreiben."""
    from ews.export_xlsx import write_register

    if ziel.suffix.lower() != ".xlsx":
        errors.print(f"„{ziel}“ endet nicht auf .xlsx; bitte eine Excel-Datei angeben, "
                     "z. B. register.xlsx.")
        raise typer.Exit(2)
    settings = Settings()
    intake.prepare(settings)
    records = application_records(settings)
    try:
        write_register(ziel, records, journal_records(settings), round_name=settings.round.name)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            reason = f"das Verzeichnis {ziel.parent} gibt es nicht"
        elif isinstance(exc, PermissionError):
            reason = "keine Schreibrechte (oder die Datei ist noch geöffnet)"
        elif isinstance(exc, IsADirectoryError) or ziel.is_dir():
            reason = "das ist ein Verzeichnis"
        else:
            reason = exc.strerror or str(exc)
        errors.print(f"Die Datei {ziel} konnte nicht geschrieben werden: {reason}.")
        raise typer.Exit(1) from exc
    count = len(records)
    console.print(f"Register mit {count} {'Bewerbung' if count == 1 else 'Bewerbungen'} nach "
                  f"{ziel} geschrieben.")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unbekannt"


def _print_json_lines(records: list[dict[str, Any]]) -> None:
    for record in records:
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


def _local(iso: str | None) -> str:
    if not iso:
        return "–"
    return datetime.fromisoformat(iso).astimezone(BERLIN).strftime("%d.%m.%Y %H:%M:%S")


if __name__ == "__main__":
    app()
