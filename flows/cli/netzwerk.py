"""``ews netzwerk …``: the network of municipalities (engagiert in NRW) — the members, the
Gemeinsame Erklärung, entries by hand, assigning a signed return, the Excel roster. Reads and
writes the register through ``ews.network``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from ews.core.errors import EwsError, NetworkError
from ews.core.municipalities import by_key_or_name
from ews.intake.declaration_returns import file_return_by_hand
from ews.network.declarations import issue_declaration_document
from ews.network.roster import roster, update_member
from ews.network.rules import EHRENAMTSKARTE
from ews.register.database import transaction
from ews.register.reports import input_id_for
from ews.retention.records import note_export
from ews.selection.export_xlsx import write_roster
from flows.cli.office import office
from flows.cli.output import (
    AsJson,
    console,
    date_de,
    errors,
    folding_table,
    print_json_lines,
    refuse_existing,
    user,
    yes_no,
)

netzwerk_app = typer.Typer(help="Das Kommunen-Netzwerk: engagiert in NRW.",
                           invoke_without_command=True)


@netzwerk_app.command("erklaerung")
def erklaerung(
    ctx: typer.Context,
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
    settings = office(ctx)
    municipality = _municipality(kommune)
    try:
        path, az, is_new = issue_declaration_document(
            settings, municipality, datetime.now(UTC), actor=von or user(), hvb_name=name,
            hvb_function=funktion, contact_person=ansprechperson)
    except EwsError as exc:
        errors.print(f"[red]Nicht möglich:[/] {exc}")
        raise typer.Exit(1) from exc
    state = "erstellt" if is_new else "erneut erstellt (noch nicht unterschrieben zurück)"
    console.print(f"Gemeinsame Erklärung für {municipality.letter_name} {state}: {path}\n"
                  f"Aktenzeichen {az}; die unterschriebene Rücksendung wird im Posteingang "
                  "erkannt.")


def _municipality(text: str) -> Any:
    match = by_key_or_name(text)
    if match.municipality is None:
        errors.print(f"[red]Kommune nicht gefunden:[/] {match.reason}")
        raise typer.Exit(2)
    return match.municipality


@netzwerk_app.callback()
def netzwerk(
    ctx: typer.Context,
    json_lines: AsJson = False,
) -> None:
    """Die Mitglieder des Netzwerks mit Beitritt, Ansprechperson und Kriterien."""
    if ctx.invoked_subcommand is not None:
        return
    settings = office(ctx)
    with transaction(settings.db_url) as session:
        records = roster(session)
    if json_lines:
        print_json_lines(records)
        return
    table = folding_table(f"Kommunen-Netzwerk: engagiert in NRW ({len(records)} Mitglieder)",
                          ("AGS", "Kommune", "Beitritt", "Unterzeichnet von", "Ansprechperson",
                           "Ehrenamtskarte", "Querschnitt", "Mitarbeit"))
    for r in records:
        signed = ", ".join(v for v in (r["unterzeichnet_von"], r["funktion"]) if v)
        table.add_row(r["ags"], r["kommune"], date_de(r["beitritt"]),
                      f"{signed} ({date_de(r['unterzeichnet_am'])})" if signed else "–",
                      r["ansprechperson"] or "–", EHRENAMTSKARTE[r["ehrenamtskarte"]],
                      yes_no(r["querschnittsaufgabe"]), yes_no(r["kontinuierliche_mitarbeit"]))
    console.print(table)


@netzwerk_app.command("setzen")
def netzwerk_setzen(
    ctx: typer.Context,
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
    settings = office(ctx)
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
        with transaction(settings.db_url) as session:
            update_member(session, municipality, actor=von or user(), now=datetime.now(UTC),
                          changes=changes)
    except NetworkError as exc:
        errors.print(f"[red]Nicht möglich:[/] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"{municipality.letter_name}: Eintrag im Netzwerkverzeichnis gespeichert.")


@netzwerk_app.command("zuordnen")
def netzwerk_zuordnen(
    ctx: typer.Context,
    eingang: Annotated[str, typer.Argument(help="Eingangsnummer (ews posteingang journal).")],
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
    settings = office(ctx)
    signed_on = None
    if datum:
        try:
            signed_on = datetime.strptime(datum.strip(), "%d.%m.%Y").date()
        except ValueError:
            errors.print(f"„{datum}“ ist kein Datum im Format TT.MM.JJJJ.")
            raise typer.Exit(2) from None
    input_id = input_id_for(settings, eingang)
    if input_id is None:
        errors.print(f"Kein Eingang mit Nummer „{eingang}“ gefunden (ews posteingang journal).")
        raise typer.Exit(2)
    try:
        result = file_return_by_hand(settings, input_id, aktenzeichen, actor=von or user(),
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
    ctx: typer.Context,
    ziel: Annotated[Path, typer.Argument(help="z. B. netzwerk.xlsx")],
    ueberschreiben: Annotated[bool, typer.Option(
        "--ueberschreiben", help="Eine vorhandene Datei ersetzen.")] = False,
) -> None:
    """Das Netzwerkverzeichnis als Excel-Datei (.xlsx) schreiben; eine vorhandene Datei nur
    mit --ueberschreiben."""
    if ziel.suffix.lower() != ".xlsx":
        errors.print(f"„{ziel}“ endet nicht auf .xlsx.")
        raise typer.Exit(2)
    if not ueberschreiben and ziel.exists() and not ziel.is_dir():
        refuse_existing(ziel, "Bitte")
    settings = office(ctx)
    with transaction(settings.db_url) as session:
        records = roster(session)
    try:
        write_roster(ziel, records, overwrite=ueberschreiben)
    except FileExistsError as exc:
        if ziel.is_dir():
            errors.print(f"Die Datei {ziel} konnte nicht geschrieben werden: das ist ein "
                         "Verzeichnis.")
            raise typer.Exit(1) from exc
        refuse_existing(ziel, "Bitte")
    except OSError as exc:
        errors.print(f"Die Datei {ziel} konnte nicht geschrieben werden: {exc.strerror or exc}.")
        raise typer.Exit(1) from exc
    note_export(settings, "netzwerk", ziel, actor=user(), now=datetime.now(UTC))
    console.print(f"Netzwerkverzeichnis mit {len(records)} Mitgliedern nach {ziel} geschrieben.")
