"""``ews wiedervorlagen …``: the follow-ups — the list of open ones (``--alle``, ``--json``),
closing, extending and adding one by hand (logged with the person), and the reminder check
run now (``erinnern [--probelauf]``). Reads and writes the register through ``ews.casefile``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import typer

from ews.casefile.follow_ups import (
    add_by_hand,
    close_by_staff,
    extend_by_staff,
    follow_up_records,
)
from ews.casefile.reminders import ReminderReport, remind_overdue, report_text
from ews.core.errors import EwsError, FollowUpError
from ews.core.models import OUTBOX_STATE_LABELS
from ews.register.case_titles import FOLLOW_UP_TITLES
from flows.cli.office import office
from flows.cli.output import (
    Alle,
    AsJson,
    Von,
    console,
    date_de,
    errors,
    folding_table,
    print_json_lines,
    refused_or,
    user,
)

wiedervorlagen_app = typer.Typer(help="Wiedervorlagen: erwartete Antworten und Erinnerungen.",
                                 invoke_without_command=True)

Notiz = Annotated[str, typer.Option("--notiz", help="Vermerk (wird protokolliert).")]
Bis = Annotated[str, typer.Option("--bis", help="Neues Fälligkeitsdatum TT.MM.JJJJ.")]


@wiedervorlagen_app.callback()
def wiedervorlagen(
    ctx: typer.Context,
    alle: Alle = False,
    json_lines: AsJson = False,
) -> None:
    """Die offenen Wiedervorlagen: Az., Kommune, Art, fällig am, überfällig seit, Erinnerung."""
    if ctx.invoked_subcommand is not None:
        return
    records = follow_up_records(office(ctx), datetime.now(UTC), everything=alle)
    if json_lines:
        print_json_lines(records)
        return
    title = "Wiedervorlagen" if alle else "Offene Wiedervorlagen"
    table = folding_table(f"{title} ({len(records)})",
                          ("Nr.", "Az.", "Kommune", "Art", "fällig am", "überfällig seit",
                           "Erinnerung gesendet", *(("Stand",) if alle else ())))
    for r in records:
        days = r["ueberfaellig_tage"]
        late = f"{date_de(r['ueberfaellig_seit'])} ({days} {'Tag' if days == 1 else 'Tage'})" \
            if r["ueberfaellig_seit"] else "–"
        row = [str(r["id"]), r["aktenzeichen"], r["kommune"] or "–", r["art_text"],
               date_de(r["faellig_am"]), late, _reminder(r)]
        if alle:
            row.append("offen" if r["status"] == "offen" else
                       f"erledigt {date_de(r['erledigt'])} ({r['erledigt_von']})")
        table.add_row(*row)
    console.print(table)


def _reminder(record: dict[str, object]) -> str:
    if not record["erinnerung_fuer"]:
        return "–"
    state = OUTBOX_STATE_LABELS.get(str(record["erinnerung_status"]), "eingereiht")
    sent = record["erinnerung_gesendet"]
    when = f" {date_de(str(sent))}" if sent else ""
    return f"{state}{when} (Frist {date_de(str(record['erinnerung_fuer']))})"


@wiedervorlagen_app.command("erledigen")
def erledigen(ctx: typer.Context,
              nummer: Annotated[int, typer.Argument(help="Nr. der Wiedervorlage.")],
              notiz: Notiz, von: Von = None) -> None:
    """Eine Wiedervorlage als erledigt vermerken, z. B. „Freistellung bestätigt (E-Mail vom
    …)“."""
    settings = office(ctx)
    row = refused_or(lambda: close_by_staff(settings, nummer, actor=von or user(),
                                            now=datetime.now(UTC), note=notiz), FollowUpError)
    console.print(f"Wiedervorlage {row.id} ({row.az}, {FOLLOW_UP_TITLES[row.kind]}) erledigt.")


@wiedervorlagen_app.command("verlaengern")
def verlaengern(ctx: typer.Context,
                nummer: Annotated[int, typer.Argument(help="Nr. der Wiedervorlage.")],
                bis: Bis, notiz: Notiz = "", von: Von = None) -> None:
    """Die Frist einer offenen Wiedervorlage verlängern; nach Ablauf kann erneut erinnert
    werden."""
    due = _date(bis)
    settings = office(ctx)
    row = refused_or(lambda: extend_by_staff(settings, nummer, due_on=due,
                                             actor=von or user(), now=datetime.now(UTC),
                                             note=notiz), FollowUpError)
    console.print(f"Wiedervorlage {row.id} ({row.az}) jetzt fällig am {due:%d.%m.%Y}.")


@wiedervorlagen_app.command("neu")
def neu(ctx: typer.Context,
        aktenzeichen: Annotated[str, typer.Argument(help="Aktenzeichen des Falls.")],
        bis: Bis, notiz: Notiz, von: Von = None) -> None:
    """Eine Wiedervorlage von Hand anlegen (Art „Von Hand“)."""
    due = _date(bis)
    settings = office(ctx)
    row = refused_or(lambda: add_by_hand(settings, aktenzeichen, due_on=due,
                                         actor=von or user(), now=datetime.now(UTC),
                                         note=notiz), FollowUpError)
    console.print(f"Wiedervorlage {row.id} zu {row.az} angelegt, fällig am {due:%d.%m.%Y}.")


@wiedervorlagen_app.command("erinnern")
def erinnern(ctx: typer.Context,
             probelauf: Annotated[bool, typer.Option(
                 "--probelauf", help="Nur zeigen, wer erinnert würde; nichts senden.")] = False,
             ) -> None:
    """Überfällige Wiedervorlagen jetzt prüfen und erinnern (wie der tägliche Lauf)."""
    settings = office(ctx)
    try:
        report = remind_overdue(settings, datetime.now(UTC), dry_run=probelauf)
    except EwsError as exc:
        errors.print(f"[red]Nicht möglich:[/] {exc}")
        raise typer.Exit(1) from exc
    _print_report(report, probelauf)


def _print_report(report: ReminderReport, probelauf: bool) -> None:
    verb = "würde erinnert" if probelauf else "erinnert"
    for item in report.reminders:
        console.print(f"{item.az} ({item.kommune or '–'}): {FOLLOW_UP_TITLES[item.kind]} {verb} – "
                      f"an {', '.join(item.recipients)}")
    for item in report.without_address:
        console.print(f"[yellow]{item.az} ({item.kommune or '–'}): {FOLLOW_UP_TITLES[item.kind]} "
                      "überfällig, aber keine E-Mail-Adresse bekannt – bitte per Post oder "
                      "Telefon erinnern.[/]")
    if probelauf:
        count = len(report.reminders)
        words = "Erinnerung würde" if count == 1 else "Erinnerungen würden"
        console.print(f"Probelauf: {count} {words} gesendet; nichts wurde eingereiht.")
        return
    console.print(report_text(report))


def _date(text: str) -> date:
    try:
        return datetime.strptime(text.strip(), "%d.%m.%Y").date()
    except ValueError:
        errors.print(f"„{text}“ ist kein Datum im Format TT.MM.JJJJ.")
        raise typer.Exit(2) from None
