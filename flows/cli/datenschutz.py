"""``ews datenschutz …``: the Löschkonzept and the rights of the persons concerned —
protokoll (the deletion log), sperre / sperre-aufheben (legal holds), auskunft (Art. 15),
loeschen (Art. 17); and ``ews betrieb loeschen`` (the deletion run). Prints; I/O through
ews.retention."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from ews.core.errors import EwsError
from ews.register.database import Session, transaction
from ews.retention.access_export import export_access
from ews.retention.deletion import RunReport
from ews.retention.erasure import erase_person
from ews.retention.holds import lift_hold, set_hold
from ews.retention.records import protocol
from flows.cli.office import office
from flows.cli.output import console, errors, folding_table, local, print_json_lines, user
from flows.deletion import delete_due

datenschutz_app = typer.Typer(help="Datenschutz: Löschprotokoll, Sperren, Auskunft und "
                              "Löschung für eine Person.", no_args_is_help=True)

#: set_hold or lift_hold
HoldChange = Callable[[Session, str, str, str, datetime], object]

WAYS = {"geloescht": "gelöscht", "anonymisiert": "anonymisiert", "auskunft": "Auskunft",
        "sperre": "gesperrt", "sperre-aufgehoben": "Sperre aufgehoben"}


def _umfang(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in counts.items()) \
        or "–"


@datenschutz_app.command("protokoll")
def protokoll(ctx: typer.Context, json_: Annotated[bool, typer.Option(
        "--json", help="Eine JSON-Zeile je Eintrag.")] = False) -> None:
    """Das Löschprotokoll: wann, durch wen, nach welcher Regel, in welcher Weise und in
    welchem Umfang gelöscht wurde (nie die gelöschten Inhalte)."""
    records = protocol(office(ctx))
    if json_:
        print_json_lines(records)
        return
    table = folding_table("Löschprotokoll", ("Nr.", "Zeit", "Durch", "Regel", "Art", "Az.",
                                             "Umfang", "Grund"))
    for r in records:
        table.add_row(str(r["nr"]), local(r["zeit"]), r["durch"], r["regel"],
                      WAYS.get(r["art"], r["art"]), r["az"] or "–", _umfang(r["umfang"]),
                      r["grund"] or "–")
    console.print(table if records else "Das Löschprotokoll ist leer.")


@datenschutz_app.command("sperre")
def sperre(ctx: typer.Context, az: Annotated[str, typer.Argument(help="Aktenzeichen")],
           grund: Annotated[str, typer.Option("--grund", help="Warum der Vorgang nicht "
                                              "gelöscht werden darf")]) -> None:
    """Einen Vorgang sperren: er wird nicht gelöscht, bis die Sperre aufgehoben ist."""
    _change_hold(ctx, set_hold, az, grund, "Nicht gesperrt",
                 f"{az} ist gesperrt und wird nicht gelöscht, bis die Sperre aufgehoben ist.")


@datenschutz_app.command("sperre-aufheben")
def sperre_aufheben(ctx: typer.Context,
                    az: Annotated[str, typer.Argument(help="Aktenzeichen")],
                    grund: Annotated[str, typer.Option("--grund")]) -> None:
    """Die Sperre eines Vorgangs aufheben; seine Fristen gelten ab dem nächsten Löschlauf."""
    _change_hold(ctx, lift_hold, az, grund, "Nicht aufgehoben",
                 f"Die Sperre von {az} ist aufgehoben.")


def _change_hold(ctx: typer.Context, change: HoldChange, az: str, grund: str, failed: str,
                 done: str) -> None:
    """Set or lift a hold (``change``: set_hold or lift_hold) in one transaction."""
    settings = office(ctx)
    try:
        with transaction(settings.db_url) as session:
            change(session, az, grund, user(), datetime.now(UTC))
    except EwsError as exc:
        errors.print(f"[red]{failed}:[/] {exc}")
        raise typer.Exit(1) from exc
    console.print(done)


@datenschutz_app.command("auskunft")
def auskunft(ctx: typer.Context,
             person: Annotated[str, typer.Argument(help="Name oder E-Mail-Adresse")],
             ziel: Annotated[Path | None, typer.Option(
                 "--ziel", help="Leerer Ordner für die Auskunft (Standard: "
                 "data/auskunft/<Zeitpunkt>)")] = None) -> None:
    """Alles, was über eine Person gespeichert ist, als PDF/A-Übersicht mit den Dokumenten."""
    settings = office(ctx)
    now = datetime.now(UTC)
    target = ziel or settings.data_dir / "auskunft" / f"{now:%Y%m%d-%H%M%S}"
    try:
        result = export_access(settings, person, target, actor=user(), now=now)
    except (EwsError, FileExistsError) as exc:
        errors.print(f"[red]Keine Auskunft geschrieben:[/] {exc}")
        raise typer.Exit(1) from exc
    for finding in result.findings:
        console.print(f"{finding.source}: {finding.reference}")
    console.print(f"{len(result.findings)} Fundstellen, {len(result.documents)} Dokumente; "
                  f"Auskunft in {result.summary}.")


@datenschutz_app.command("loeschen")
def loeschen_person(
        ctx: typer.Context,
        person: Annotated[str, typer.Argument(help="Name oder E-Mail-Adresse")],
        grund: Annotated[str, typer.Option("--grund", help="z. B. „Antrag vom 01.12.2026“")],
        probelauf: Annotated[bool, typer.Option("--probelauf", help="Nur zeigen, was "
                                                "gelöscht würde und was bleibt.")] = False,
) -> None:
    """Die Daten einer Person löschen, soweit keine Aufbewahrungspflicht entgegensteht;
    zeigt, was bleibt und warum."""
    settings = office(ctx)
    try:
        report = erase_person(settings, person, reason=grund, actor=user(),
                              now=datetime.now(UTC), dry_run=probelauf)
    except EwsError as exc:
        errors.print(f"[red]Nicht gelöscht:[/] {exc}")
        raise typer.Exit(1) from exc
    verb = "würde gelöscht" if probelauf else "gelöscht"
    for finding in report.erased:
        console.print(f"{verb}: {finding.source} {finding.reference}")
    for finding, why in report.stays:
        console.print(f"bleibt: {finding.source} {finding.reference} – {why}")
    console.print(f"{len(report.erased)} Fundstellen {verb}, {len(report.stays)} bleiben.")


def loeschen(ctx: typer.Context,
             probelauf: Annotated[bool, typer.Option(
                 "--probelauf", help="Nur auflisten, was fällig ist; nichts ändern.")] = False,
             sicherungen: Annotated[Path | None, typer.Option(
                 "--sicherungen", help="Ordner der Sicherungen: ältere als die längste Frist "
                 "werden mit gelöscht (sonst der Ordner aus config/sicherung.toml).")] = None,
             ohne_prefect: Annotated[bool, typer.Option(
                 "--ohne-prefect", help="Prefect-Läufe nicht löschen (etwa wenn der "
                 "Prefect-Server nicht erreichbar ist).")] = False) -> None:
    """Löschlauf nach dem Löschkonzept (config/aufbewahrung.toml): Fälliges löschen oder
    anonymisieren und im Löschprotokoll festhalten."""
    settings = office(ctx)
    try:
        report, counts = delete_due(settings, now=datetime.now(UTC), actor=user(),
                                    dry_run=probelauf, backups=sicherungen,
                                    prefect=not ohne_prefect)
    except EwsError as exc:
        errors.print(f"[red]Löschlauf abgebrochen:[/] {exc}")
        raise typer.Exit(1) from exc
    _print_run(report, counts)


def _print_run(report: RunReport, counts: dict[str, int]) -> None:
    verb = "würde" if report.dry_run else "wurde"
    for entry in report.entries:
        console.print(f"{entry.az or entry.rule}: {verb} {WAYS.get(entry.way, entry.way)} "
                      f"({entry.rule}; {_umfang(entry.counts)})")
    for stay in report.stays:
        console.print(f"bleibt: {stay.az} – {stay.reason}")
    extra = _umfang({k: v for k, v in counts.items() if v})
    probe = " (Probelauf, nichts geändert)" if report.dry_run else ""
    console.print(f"{len(report.entries)} Löschungen{probe}; außerhalb des Registers: {extra}.")
