"""``ews rundschreiben …``: write, try, issue, send, withdraw and look up circulars, and show
the plan of scheduled mailings."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from ews.circulars.distribution import ListSpec
from ews.circulars.drafts import draft_folder, read_draft
from ews.circulars.editing import new_draft
from ews.circulars.issuing import check_document, issue_circular
from ews.circulars.mailing import probelauf, send_circulars
from ews.circulars.preview import draft_recipients
from ews.circulars.reports import (
    circular_details,
    circular_records,
    send_summary,
    withdraw,
)
from ews.circulars.schedule import TIMEZONE, read_plan, reminder_day
from ews.core.deadlines import BERLIN
from ews.core.errors import CircularError, DistributionError, EwsError, PlanError, error_problems
from ews.runtime.settings import Settings
from flows.cli.office import office
from flows.cli.output import (
    console,
    date_de,
    errors,
    folding_table,
    local,
    print_json_lines,
    user,
)

rundschreiben_app = typer.Typer(
    help="Rundschreiben (Mitteilung N/JJJJ): schreiben, prüfen, ausgeben, versenden.",
    no_args_is_help=True)

Draft = Annotated[str, typer.Argument(help="Name des Entwurfs (Ordner) oder Pfad.")]
Number = Annotated[str, typer.Argument(help="Nummer, z. B. 12/2026.")]
AsJson = Annotated[bool, typer.Option("--json", help="JSON-Zeilen.")]


def _fail(exc: EwsError) -> typer.Exit:
    errors.print("[red]Nicht möglich:[/]\n"
                 + "\n".join(f"  – {p}" for p in error_problems(exc)))
    return typer.Exit(1)


@rundschreiben_app.command("neu")
def neu(
    ctx: typer.Context,
    titel: Annotated[str, typer.Argument(help="Titel, z. B. \"Monatsinfo Dezember\".")],
    verteiler: Annotated[str, typer.Option(
        "--verteiler", help="netzwerk | teilnehmende | bewerbende | alle | ohne-bewerbung "
                            "(mit Runde: teilnehmende:EWS 6).")] = "netzwerk",
    aktenzeichen: Annotated[str | None, typer.Option("--aktenzeichen")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Ordnername.")] = None,
) -> None:
    """Einen neuen Entwurf aus der Vorlage anlegen (Ordner mit rundschreiben.md)."""
    settings = office(ctx)
    try:
        spec = ListSpec.parse(verteiler, settings.round.name)
        path = new_draft(settings, title=titel, az=aktenzeichen or settings.rundschreiben.az,
                         list_spec=spec, actor=user(), name=name)
    except (DistributionError, CircularError) as exc:
        raise _fail(exc) from exc
    console.print(f"Entwurf angelegt: [bold]{path}[/]\nText und Kopf bearbeiten, Anlagen in "
                  f"den Ordner legen, dann: ews rundschreiben pruefen {path.parent.name}")


@rundschreiben_app.command("pruefen")
def pruefen(ctx: typer.Context, entwurf: Draft) -> None:
    """Einen Entwurf prüfen: Kopf, Platzhalter, Dokument und Empfänger (nichts wird
    versendet, keine Nummer vergeben)."""
    settings = office(ctx)
    try:
        draft = read_draft(draft_folder(settings.drafts_dir, entwurf), settings.round.name)
        check_document(settings, draft, datetime.now(UTC))
    except EwsError as exc:
        raise _fail(exc) from exc
    people, problems = draft_recipients(settings, draft.list_spec, draft.address_to)
    table = folding_table(f"Empfänger: {draft.list_spec.label()}",
                          ("Kommune", "E-Mail", "Anrede", "Hinweis"))
    for person in people:
        table.add_row(person.kommune, ", ".join(person.emails) or "–", person.salutation,
                      person.problem or "")
    console.print(table)
    missing = sum(1 for person in people if not person.emails)
    for problem in problems:
        errors.print(f"[yellow]Kontaktdatei:[/] {problem}")
    console.print(f"Entwurf „{draft.name}“ ist in Ordnung: „{draft.title}“, {len(people)} "
                  f"Empfänger, davon {missing} ohne E-Mail-Adresse.")


@rundschreiben_app.command("probelauf")
def probe(ctx: typer.Context, entwurf: Draft, an: Annotated[str | None, typer.Option(
        "--an", help="Statt an die Kommunen an diese Adresse.")] = None) -> None:
    """Jede E-Mail des Entwurfs an eine Adresse des Büros senden, als Probelauf markiert
    (keine Nummer, nichts an die Kommunen)."""
    settings = office(ctx)
    try:
        draft = read_draft(draft_folder(settings.drafts_dir, entwurf), settings.round.name)
        report = probelauf(settings, draft, datetime.now(UTC), actor=user(), to=an)
    except EwsError as exc:
        raise _fail(exc) from exc
    console.print(f"Probelauf: {report.queued} E-Mails an {report.to} vorbereitet, "
                  f"{report.sent} gesendet.")
    for kommune, problem in report.without_address:
        console.print(f"  ohne Adresse: {kommune} – {problem}")


@rundschreiben_app.command("ausgeben")
def ausgeben(ctx: typer.Context, entwurf: Draft, nicht_senden: Annotated[bool, typer.Option(
        "--nicht-senden", help="Nur ausgeben; später mit „ews rundschreiben senden“.")] = False
             ) -> None:
    """Den Entwurf als Rundschreiben ausgeben: nächste Nummer, Dokument (.docx und PDF/A),
    Versandliste; dann versenden."""
    settings = office(ctx)
    now = datetime.now(UTC)
    try:
        draft = read_draft(draft_folder(settings.drafts_dir, entwurf), settings.round.name)
        with console.status("Gebe aus …"):
            issued = issue_circular(settings, draft, actor=user(), now=now)
    except EwsError as exc:
        raise _fail(exc) from exc
    console.print(f"[bold]Mitteilung {issued.label}[/] ausgegeben: „{draft.title}“.")
    for kommune, problem in issued.without_address:
        errors.print(f"[yellow]Ohne Adresse, nicht versendet:[/] {kommune} – {problem}")
    for problem in issued.contact_problems:
        errors.print(f"[yellow]Kontaktdatei:[/] {problem}")
    if not nicht_senden:
        _send(settings, issued.id)


@rundschreiben_app.command("senden")
def senden(ctx: typer.Context) -> None:
    """Alles versenden, was bei ausgegebenen Rundschreiben noch offen ist (nach einer
    Unterbrechung setzt es genau dort fort)."""
    _send(office(ctx), None)


def _send(settings: Settings, only: int | None) -> None:
    with console.status("Versende …"):
        report = send_circulars(settings, datetime.now(UTC), only=only)
    console.print(report.summary(mail_server=bool(settings.smtp.host)))


@rundschreiben_app.command("aufheben")
def aufheben(ctx: typer.Context, nummer: Number, grund: Annotated[str, typer.Option(
        "--grund", help="Warum das Rundschreiben aufgehoben wird.")]) -> None:
    """Ein Rundschreiben aufheben: es behält seine Nummer; noch nicht gesendete E-Mails
    entfallen."""
    settings = office(ctx)
    try:
        number, stopped = withdraw(settings, nummer, reason=grund, actor=user(),
                                   now=datetime.now(UTC))
    except EwsError as exc:
        raise _fail(exc) from exc
    console.print(f"Mitteilung {number} ist aufgehoben; {stopped} E-Mails werden nicht mehr "
                  "gesendet.")


@rundschreiben_app.command("liste")
def liste(ctx: typer.Context, jahr: Annotated[int | None, typer.Option("--jahr")] = None,
          json_lines: AsJson = False) -> None:
    """Das Archiv: Nummer, Datum, Aktenzeichen, Verteiler und Stand des Versands."""
    records = circular_records(office(ctx), jahr)
    if json_lines:
        print_json_lines(records)
        return
    table = folding_table("Rundschreiben",
                          ("Nummer", "Datum", "Az.", "Titel", "Verteiler", "Stand", "Versand"))
    for r in records:
        table.add_row(r["nummer"], date_de(r["datum"]), r["aktenzeichen"], r["titel"],
                      r["verteiler_text"], r["status"], send_summary(r["versand"]))
    console.print(table if records else "Noch keine Rundschreiben ausgegeben.")


rundschreiben_app.command("list", hidden=True)(liste)  # the old name, for one release


@rundschreiben_app.command("zeigen")
def zeigen(ctx: typer.Context, nummer: Number, json_lines: AsJson = False) -> None:
    """Ein Rundschreiben mit jedem Empfänger und dem Stand seiner E-Mail."""
    try:
        record, entries = circular_details(office(ctx), nummer)
    except EwsError as exc:
        raise _fail(exc) from exc
    if json_lines:
        print_json_lines(entries)
        return
    table = folding_table(f"Mitteilung {record['nummer']} vom {date_de(record['datum'])}: "
                          f"{record['titel']} ({record['status']})",
                          ("Kommune", "E-Mail", "Stand", "gesendet", "Hinweis"))
    for e in entries:
        table.add_row(e["kommune"], ", ".join(e["empfaenger"]) or "–", e["status_text"],
                      local(e["gesendet"]), e["hinweis"])
    console.print(table)
    console.print(f"Dokument: {record['dokument'] or '–'}")


@rundschreiben_app.command("zeitplan")
def zeitplan(ctx: typer.Context) -> None:
    """Die geplanten Versände (config/versandplan.toml) mit ihren nächsten Terminen."""
    settings = office(ctx)
    try:
        plan = read_plan(settings.rundschreiben.plan_file)
    except PlanError as exc:
        raise _fail(exc) from exc
    table = folding_table(f"Versandplan {settings.rundschreiben.plan_file} ({TIMEZONE})",
                          ("Versand", "Entwurf", "Zeitplan", "Nächste Termine"))
    for mailing in plan:
        when = ", ".join(next_dates(mailing.cron, 3))
        if mailing.tage_vor_frist is not None:
            day = reminder_day(settings.round, mailing.tage_vor_frist)
            when = f"{day:%d.%m.%Y} um {mailing.uhrzeit} Uhr (Frist {settings.round.name})"
        table.add_row(mailing.name + ("" if mailing.aktiv else " (aus)")
                      + (" – Probelauf" if mailing.probelauf else ""),
                      mailing.entwurf, mailing.zeitplan or
                      f"{mailing.tage_vor_frist} Tage vor Fristende", when)
    console.print(table if plan else "Kein Versand geplant.")


def next_dates(cron: str, count: int) -> list[str]:
    """The next times a cron line fires, as Berlin dates and times."""
    return [f"{d.astimezone(BERLIN):%d.%m.%Y %H:%M}"
            for d in cron_times(cron, count, datetime.now(UTC))]


def cron_times(cron: str, count: int, start: datetime) -> list[datetime]:
    """The next times a cron line fires after ``start`` in Europe/Berlin, as Prefect's
    scheduler computes them (a day of the month and a weekday must both match)."""
    from prefect.server.schemas.schedules import CronSchedule

    schedule = CronSchedule(cron=cron, timezone=TIMEZONE, day_or=False)
    dates: Any = schedule.get_dates(n=count, start=start)
    if asyncio.iscoroutine(dates):
        dates = asyncio.run(dates)
    return [datetime.fromisoformat(d.isoformat()) for d in dates]
