"""The ``ews`` command line (German messages; a table by default, JSON on request)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from sqlalchemy.exc import SQLAlchemyError

from ews.core.deadlines import BERLIN
from ews.core.errors import EwsError, SelectionError
from ews.core.models import OUTCOME_LABELS
from ews.intake import passes as intake
from ews.intake.pipeline import InputResult, restamp
from ews.outbox.queue import outgoing_records
from ews.register.database import session_factory
from ews.register.reports import application_records, input_id_for, journal_records, record_stamp
from ews.runtime.redaction import redact, secret_values
from ews.runtime.settings import Settings
from ews.selection import decisions as selection
from ews.selection.decisions import REJECTION_REASONS
from flows import prepare_prefect_environment
from flows.cli_output import console, errors, folding_table
from flows.cli_output import date_de as _date_de
from flows.cli_output import local as _local
from flows.cli_output import print_json_lines as _print_json_lines
from flows.cli_output import user as _user
from flows.cli_output import yes_no as _yes_no

app = typer.Typer(help="EWS-Aktenführung: Posteingang, Register und Briefe.",
                  no_args_is_help=True, add_completion=False)


@app.callback()
def prepare() -> None:
    """EWS-Aktenführung: Posteingang, Register und Briefe."""
    # before any command imports Prefect: its settings are read once, at import
    prepare_prefect_environment(Settings())


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
    from flows.server import use_running_server
    use_running_server(settings)
    from flows.intake import run_posteingang
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
    try:
        serve_office(settings, console)
    except RuntimeError as exc:  # the Prefect server did not start or must not
        errors.print(f"[red]Nicht gestartet:[/] {redact(str(exc), secret_values(settings))}")
        raise typer.Exit(1) from exc


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
    table = folding_table("Eingangsjournal", ("Nr.", "Datei", "Eingang", "Ergebnis",
                                              "Aktenzeichen", "Kommune", "Gründe"))
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
    except SelectionError as exc:
        errors.print(f"[red]Nicht möglich:[/] {exc.worded(selection.CLI_FIELDS)}")
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
    table = folding_table(f"Postausgang ({len(records)})", ("Nr.", "Bezug", "Empfänger", "Status",
                                                           "Versuche", "Gesendet", "Hinweis"))
    status_de = {"queued": "wartet", "sending": "wird gesendet", "sent": "gesendet",
                 "failed": "gescheitert", "withheld": "zurückgehalten"}
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
    table = folding_table(f"Bewerbungen ({len(records)})",
                          ("Aktenzeichen", "Kommune", "AGS", "Status", "Eingang", "Briefe"))
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
    from ews.core.names import safe_name
    from ews.letters.samples import demo_inbox_files
    from ews.runtime.folders import write_atomic

    settings = Settings()
    intake.prepare(settings)
    files = demo_inbox_files(settings.round.name)
    for name, data in files:
        write_atomic(settings.inbox_dir / safe_name(name), data)
    console.print(f"{len(files)} Beispieldateien in {settings.inbox_dir} gelegt.")
    process(ohne_prefect=False)
    console.print("Briefe liegen in "
                  f"[bold]{settings.output_root}[/]; Übersicht: [bold]ews journal[/].")


@app.command()
def formular(ziel: Annotated[Path, typer.Argument()] = Path("templates/bewerbungsbogen.pdf")
             ) -> None:
    """Den leeren Bewerbungsbogen der laufenden Runde erzeugen."""
    from ews.letters.blank_form import build_blank_form
    from ews.runtime.folders import write_atomic

    settings = Settings()
    write_atomic(ziel, build_blank_form(settings.round.name))
    console.print(f"Bewerbungsbogen für {settings.round.name} geschrieben: {ziel}")


@app.command()
def export(
    ziel: Annotated[Path, typer.Argument(help="Zieldatei, z. B. register.xlsx")],
    ueberschreiben: Annotated[bool, typer.Option(
        "--ueberschreiben", help="Eine vorhandene Datei ersetzen (darin eingetragene, noch "
        "nicht importierte Entscheidungen gehen verloren).")] = False,
) -> None:
    """Das Register als Excel-Datei (.xlsx) schreiben; das erste Blatt „Entscheidungen“ kann
    bearbeitet und mit „ews import“ wieder eingelesen werden. Eine vorhandene Datei wird nur
    mit --ueberschreiben ersetzt."""
    from ews.selection.export_xlsx import export_register

    if ziel.suffix.lower() != ".xlsx":
        errors.print(f"„{ziel}“ endet nicht auf .xlsx; bitte eine Excel-Datei angeben, "
                     "z. B. register.xlsx.")
        raise typer.Exit(2)
    if not ueberschreiben and ziel.exists() and not ziel.is_dir():
        _refuse_existing(ziel, f"Darin eingetragene Entscheidungen zuerst mit „ews import "
                               f"{ziel}“ übernehmen, oder")
    settings = Settings()
    intake.prepare(settings)
    try:
        export_register(settings, ziel, overwrite=ueberschreiben)
    except OSError as exc:
        if isinstance(exc, FileExistsError) and not ziel.is_dir():
            _refuse_existing(ziel, f"Darin eingetragene Entscheidungen zuerst mit „ews import "
                                   f"{ziel}“ übernehmen, oder")
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
    count = len(application_records(settings))
    console.print(f"Register mit {count} {'Bewerbung' if count == 1 else 'Bewerbungen'} nach "
                  f"{ziel} geschrieben. Entscheidungen im Blatt „Entscheidungen“ eintragen "
                  f"und mit „ews import {ziel}“ übernehmen.")


def _refuse_existing(target: Path, advice: str) -> NoReturn:
    errors.print(f"[red]Nicht geschrieben:[/] Die Datei {target} gibt es schon; sie wird nicht "
                 f"überschrieben, denn sie kann bearbeitet worden sein. {advice} einen anderen "
                 f"Dateinamen wählen, oder mit der Option --ueberschreiben ersetzen.")
    raise typer.Exit(2)


@app.command("import")
def import_sheet(
    datei: Annotated[Path, typer.Argument(help="Die bearbeitete Datei aus „ews export“.")],
    von: Annotated[str | None, typer.Option("--von", help="Wer entscheidet (Protokoll).")
                   ] = None,
) -> None:
    """Die Entscheidungen aus dem Blatt „Entscheidungen“ übernehmen: alle oder keine – bei
    einem Fehler bleibt das Register unverändert."""
    from ews.core.errors import DecisionSheetError
    from ews.selection.decision_sheet import read_decision_sheet
    from ews.selection.sheet_import import import_decisions

    settings = Settings()
    intake.prepare(settings)
    try:
        rows = read_decision_sheet(datei, round_name=settings.round.name)
        with session_factory(settings.db_url).begin() as session:
            report = import_decisions(session, rows, round_name=settings.round.name,
                                      seats=settings.round.seats, actor=von or _user(),
                                      now=datetime.now(UTC))
    except DecisionSheetError as exc:
        errors.print(f"[red]Die Tabelle wurde nicht übernommen[/] ({len(exc.problems)} "
                     "Problem(e)); das Register ist unverändert:")
        for problem in exc.problems:
            errors.print(f"  • {problem}")
        raise typer.Exit(2) from exc
    for change in report.changes:
        moved = " – rückt von der Warteliste nach" if change.moved_up else ""
        console.print(f"{change.az} {change.kommune}: {change.before or 'offen'} → "
                      f"{change.after}{moved}")
    console.print(f"{report.applied} Entscheidung(en) übernommen, {report.unchanged} Zeile(n) "
                  "unverändert. Bescheide versenden: ews letters send")


letters_app = typer.Typer(help="Bescheide zur Auswahl (Zusage, Absage, Warteliste, "
                          "Nachrücken).", no_args_is_help=True)
app.add_typer(letters_app, name="letters")


@letters_app.command("send")
def letters_send(
    von: Annotated[str | None, typer.Option("--von", help="Wer versendet (Protokoll).")] = None,
) -> None:
    """Alle ausstehenden Bescheide der laufenden Runde schreiben (Word und PDF/A) und, wo
    E-Mail eingerichtet ist, versenden – jeden genau einmal, auch nach einem Abbruch."""
    from ews.selection.notices import send_notices

    settings = Settings()
    intake.prepare(settings)
    try:
        with console.status("Schreibe und versende Bescheide …"):
            report = send_notices(settings, datetime.now(UTC), actor=von or _user())
    except (EwsError, OSError, SQLAlchemyError) as exc:
        errors.print(f"[red]Versand unterbrochen:[/] {exc}\nNichts ist doppelt: der nächste "
                     "Aufruf setzt an dieser Stelle fort.")
        raise typer.Exit(1) from exc
    _print_notice_report(report, settings)


def _print_notice_report(report: Any, settings: Settings) -> None:
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


@app.command()
def erklaerung(
    kommune: Annotated[str, typer.Argument(
        help="Gemeindeschlüssel oder Name, z. B. 05914000 oder \"Stadt Hagen\".")],
    name: Annotated[str, typer.Option("--name", help="Hauptverwaltungsbeamtin/-beamter.")
                    ] = "",
    funktion: Annotated[str, typer.Option("--funktion", help="z. B. Bürgermeisterin.")] = "",
    ansprechperson: Annotated[str, typer.Option(
        "--ansprechperson", help="Kommunale Ansprechperson für Engagement.")] = "",
    von: Annotated[str | None, typer.Option("--von", help="Wer ausstellt (Protokoll).")
                   ] = None,
) -> None:
    """Die Gemeinsame Erklärung für eine NRW-Kommune zum Unterzeichnen erstellen (mit
    Aktenzeichen und QR-Code, an dem die unterschriebene Rücksendung erkannt wird)."""
    from ews.network.declarations import issue_declaration_document

    settings = Settings()
    intake.prepare(settings)
    municipality = _municipality(kommune)
    try:
        path, az, is_new = issue_declaration_document(
            settings, municipality, datetime.now(UTC), actor=von or _user(), hvb_name=name,
            hvb_function=funktion, contact_person=ansprechperson)
    except EwsError as exc:
        errors.print(f"[red]Nicht möglich:[/] {exc}")
        raise typer.Exit(1) from exc
    state = "erstellt" if is_new else "erneut erstellt (noch nicht unterschrieben zurück)"
    console.print(f"Gemeinsame Erklärung für {municipality.letter_name} {state}: {path}\n"
                  f"Aktenzeichen {az}; die unterschriebene Rücksendung wird im Posteingang "
                  "erkannt.")


def _municipality(text: str) -> Any:
    from ews.core.municipalities import by_key, by_name

    compact = text.replace(" ", "")
    match = by_key(compact) if compact.isdigit() else by_name(text.strip())
    if match.municipality is None:
        errors.print(f"[red]Kommune nicht gefunden:[/] {match.reason}")
        raise typer.Exit(2)
    return match.municipality


netzwerk_app = typer.Typer(help="Das Kommunen-Netzwerk: engagiert in NRW.",
                           invoke_without_command=True)
app.add_typer(netzwerk_app, name="netzwerk")


@netzwerk_app.callback()
def netzwerk(
    ctx: typer.Context,
    json_lines: Annotated[bool, typer.Option("--json", help="JSON-Zeilen.")] = False,
) -> None:
    """Die Mitglieder des Netzwerks mit Beitritt, Ansprechperson und Kriterien."""
    if ctx.invoked_subcommand is not None:
        return
    from ews.network.roster import roster
    from ews.network.rules import EHRENAMTSKARTE

    settings = Settings()
    intake.prepare(settings)
    with session_factory(settings.db_url).begin() as session:
        records = roster(session)
    if json_lines:
        _print_json_lines(records)
        return
    table = folding_table(f"Kommunen-Netzwerk: engagiert in NRW ({len(records)} Mitglieder)",
                          ("AGS", "Kommune", "Beitritt", "Unterzeichnet von", "Ansprechperson",
                           "Ehrenamtskarte", "Querschnitt", "Mitarbeit"))
    for r in records:
        signed = ", ".join(v for v in (r["unterzeichnet_von"], r["funktion"]) if v)
        table.add_row(r["ags"], r["kommune"], _date_de(r["beitritt"]),
                      f"{signed} ({_date_de(r['unterzeichnet_am'])})" if signed else "–",
                      r["ansprechperson"] or "–", EHRENAMTSKARTE[r["ehrenamtskarte"]],
                      _yes_no(r["querschnittsaufgabe"]), _yes_no(r["kontinuierliche_mitarbeit"]))
    console.print(table)


@netzwerk_app.command("setzen")
def netzwerk_setzen(
    kommune: Annotated[str, typer.Argument(help="Gemeindeschlüssel oder Name.")],
    beitritt: Annotated[str | None, typer.Option(
        "--beitritt", help="Beitrittsdatum TT.MM.JJJJ (für Mitglieder ohne Erklärung hier).")
                        ] = None,
    ehrenamtskarte: Annotated[str | None, typer.Option(
        "--ehrenamtskarte", help="teilnahme, geplant, vergleichbar, nein oder unbekannt.")
                              ] = None,
    ansprechperson: Annotated[str | None, typer.Option("--ansprechperson")] = None,
    email: Annotated[str | None, typer.Option("--email")] = None,
    querschnitt: Annotated[bool | None, typer.Option(
        "--querschnitt/--kein-querschnitt",
        help="Engagementförderung als Querschnittsaufgabe verankert.")] = None,
    mitarbeit: Annotated[bool | None, typer.Option(
        "--mitarbeit/--keine-mitarbeit", help="Zur kontinuierlichen Mitarbeit verpflichtet.")
                         ] = None,
    notiz: Annotated[str | None, typer.Option("--notiz")] = None,
    von: Annotated[str | None, typer.Option("--von")] = None,
) -> None:
    """Ein Mitglied eintragen oder seine Angaben ändern (wird protokolliert)."""
    from ews.core.errors import NetworkError
    from ews.network.roster import update_member

    settings = Settings()
    intake.prepare(settings)
    municipality = _municipality(kommune)
    changes: dict[str, Any] = {key: value for key, value in {
        "ehrenamtskarte": ehrenamtskarte, "contact_person": ansprechperson,
        "contact_email": email, "cross_cutting_task": querschnitt,
        "continuous_cooperation": mitarbeit, "note": notiz}.items() if value is not None}
    if beitritt:
        try:
            changes["joined_on"] = datetime.strptime(beitritt.strip(), "%d.%m.%Y").date()
        except ValueError:
            errors.print(f"„{beitritt}“ ist kein Datum im Format TT.MM.JJJJ.")
            raise typer.Exit(2) from None
    try:
        with session_factory(settings.db_url).begin() as session:
            update_member(session, municipality, actor=von or _user(), now=datetime.now(UTC),
                          changes=changes)
    except NetworkError as exc:
        errors.print(f"[red]Nicht möglich:[/] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"{municipality.letter_name}: Eintrag im Netzwerkverzeichnis gespeichert.")


@netzwerk_app.command("zuordnen")
def netzwerk_zuordnen(
    eingang: Annotated[str, typer.Argument(help="Eingangsnummer (ews journal).")],
    aktenzeichen: Annotated[str, typer.Argument(help="Aktenzeichen der Erklärung.")],
    name: Annotated[str, typer.Option("--name", help="Wer unterschrieben hat.")] = "",
    funktion: Annotated[str, typer.Option("--funktion", help="z. B. Bürgermeisterin.")] = "",
    datum: Annotated[str | None, typer.Option(
        "--datum", help="Datum der Unterschrift TT.MM.JJJJ (sonst das Eingangsdatum).")
                     ] = None,
    von: Annotated[str | None, typer.Option("--von", help="Wer zuordnet (Protokoll).")] = None,
) -> None:
    """Einen abgewiesenen Eingang nach Prüfung als unterschriebene Gemeinsame Erklärung
    zuordnen (z. B. QR-Code ohne oder mit falscher Prüfsumme): Beitritt eintragen und
    Beitrittsbestätigung schreiben. Wird mit Person und Zeit protokolliert."""
    from ews.core.errors import NetworkError
    from ews.intake.declaration_returns import file_return_by_hand

    settings = Settings()
    intake.prepare(settings)
    signed_on = None
    if datum:
        try:
            signed_on = datetime.strptime(datum.strip(), "%d.%m.%Y").date()
        except ValueError:
            errors.print(f"„{datum}“ ist kein Datum im Format TT.MM.JJJJ.")
            raise typer.Exit(2) from None
    input_id = input_id_for(settings, eingang)
    if input_id is None:
        errors.print(f"Kein Eingang mit Nummer „{eingang}“ gefunden (ews journal).")
        raise typer.Exit(2)
    try:
        result = file_return_by_hand(settings, input_id, aktenzeichen, actor=von or _user(),
                                     now=datetime.now(UTC), signatory=name, function=funktion,
                                     signed_on=signed_on)
    except NetworkError as exc:
        errors.print(f"[red]Nicht möglich:[/] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"Eingang {input_id} als Gemeinsame Erklärung {result.az} von "
                  f"{result.kommune_name} zugeordnet.")
    for reason in result.reasons[1:]:
        console.print(f"  {reason}")


@netzwerk_app.command("export")
def netzwerk_export(
    ziel: Annotated[Path, typer.Argument(help="z. B. netzwerk.xlsx")],
    ueberschreiben: Annotated[bool, typer.Option(
        "--ueberschreiben", help="Eine vorhandene Datei ersetzen.")] = False,
) -> None:
    """Das Netzwerkverzeichnis als Excel-Datei (.xlsx) schreiben; eine vorhandene Datei nur
    mit --ueberschreiben."""
    from ews.network.roster import roster
    from ews.selection.export_xlsx import write_roster

    if ziel.suffix.lower() != ".xlsx":
        errors.print(f"„{ziel}“ endet nicht auf .xlsx.")
        raise typer.Exit(2)
    if not ueberschreiben and ziel.exists() and not ziel.is_dir():
        _refuse_existing(ziel, "Bitte")
    settings = Settings()
    intake.prepare(settings)
    with session_factory(settings.db_url).begin() as session:
        records = roster(session)
    try:
        write_roster(ziel, records, overwrite=ueberschreiben)
    except FileExistsError as exc:
        if ziel.is_dir():
            errors.print(f"Die Datei {ziel} konnte nicht geschrieben werden: das ist ein "
                         "Verzeichnis.")
            raise typer.Exit(1) from exc
        _refuse_existing(ziel, "Bitte")
    except OSError as exc:
        errors.print(f"Die Datei {ziel} konnte nicht geschrieben werden: {exc.strerror or exc}.")
        raise typer.Exit(1) from exc
    console.print(f"Netzwerkverzeichnis mit {len(records)} Mitgliedern nach {ziel} geschrieben.")


templates_app = typer.Typer(help="Briefvorlagen prüfen.", no_args_is_help=True)
app.add_typer(templates_app, name="templates")


@templates_app.command("check")
def templates_check() -> None:
    """Jede Vorlage (Briefe, Erklärung, E-Mails) mit Beispieldaten ausfüllen; Fehler nennen
    die Vorlage, den Platzhalter und das Problem."""
    from ews.circulars.mailing import check_circular_templates
    from ews.letters.templates import check_templates
    from ews.outbox.queue import check_mail_templates

    settings = Settings()
    problems = check_templates(settings.templates_dir, settings.office) + \
        check_mail_templates(settings) + check_circular_templates(settings, datetime.now(UTC))
    if not problems:
        console.print(f"Alle Vorlagen in {settings.templates_dir} sind in Ordnung.")
        return
    for problem in problems:
        errors.print(f"[red]✗[/] {problem}")
    errors.print(f"{len(problems)} Problem(e) gefunden. Nach dem Korrigieren bitte erneut "
                 "prüfen: ews templates check")
    raise typer.Exit(1)


from flows.cli_circulars import rundschreiben_app  # noqa: E402 - uses this module's app
from flows.cli_cluster import cluster_app  # noqa: E402
from flows.cli_status import register as register_status  # noqa: E402

app.add_typer(rundschreiben_app, name="rundschreiben")
app.add_typer(cluster_app, name="cluster")
register_status(app)


if __name__ == "__main__":
    app()
