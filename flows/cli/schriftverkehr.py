"""``ews schriftverkehr …``: the incoming correspondence staff deal with — the list of new
pieces (``--alle``, ``--json``), marking one as dealt with (``--freistellung`` closes the
case's release follow-up), filing one to a case by hand (logged with the person). Reads and
writes the register through ``ews.casefile``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape

from ews.casefile.correspondence import (
    assign_by_staff,
    correspondence_records,
    handle_by_staff,
)
from ews.core.errors import CorrespondenceError
from flows.cli.office import office
from flows.cli.output import (
    Alle,
    AsJson,
    Von,
    console,
    folding_table,
    local,
    print_json_lines,
    refused_or,
    user,
)

schriftverkehr_app = typer.Typer(
    help="Schriftverkehr: E-Mails und Dateien, die keine neue Bewerbung sind (Fragen, "
         "Antworten, Bestätigungen).", invoke_without_command=True)

Nummer = Annotated[int, typer.Argument(help="Nr. des Eingangs (ews schriftverkehr).")]


@schriftverkehr_app.callback()
def schriftverkehr(
    ctx: typer.Context,
    alle: Alle = False,
    json_lines: AsJson = False,
) -> None:
    """Der Schriftverkehr, der noch zu bearbeiten ist: Eingang, Absender, Betreff, Fall."""
    if ctx.invoked_subcommand is not None:
        return
    records = correspondence_records(office(ctx), everything=alle)
    if json_lines:
        print_json_lines(records)
        return
    title = "Schriftverkehr" if alle else "Schriftverkehr zu bearbeiten"
    table = folding_table(f"{title} ({len(records)})",
                          ("Nr.", "Eingang", "Absender", "Betreff", "Az.", "zugeordnet durch",
                           "Anhänge", "Stand"))
    for r in records:
        state = "neu" if r["status"] == "neu" else \
            f"erledigt {local(r['erledigt'])} ({r['erledigt_von'] or '–'})"
        table.add_row(str(r["id"]), local(r["eingang"]), escape(r["absender"] or "–"),
                      escape(r["betreff"] or "–"), r["aktenzeichen"] or "–",
                      r["zugeordnet_text"], escape(", ".join(r["anhaenge"]) or "–"), state)
    console.print(table if records else "Kein Schriftverkehr zu bearbeiten.")


@schriftverkehr_app.command("erledigt")
def erledigt(ctx: typer.Context, nummer: Nummer,
             notiz: Annotated[str, typer.Option("--notiz", help="Vermerk (protokolliert).")] = "",
             freistellung: Annotated[bool, typer.Option(
                 "--freistellung", help="Der Eingang bestätigt die Freistellung des Teams: "
                 "die Wiedervorlage dazu wird erledigt.")] = False,
             von: Von = None) -> None:
    """Einen Eingang als bearbeitet vermerken."""
    settings = office(ctx)
    row, closed = refused_or(lambda: handle_by_staff(
        settings, nummer, actor=von or user(), now=datetime.now(UTC), note=notiz,
        release=freistellung), CorrespondenceError)
    more = f"; Wiedervorlage „Freistellung“ zu {row.az} erledigt" if closed else ""
    console.print(f"Eingang {row.id} erledigt{more}.")


@schriftverkehr_app.command("zuordnen")
def zuordnen(ctx: typer.Context, nummer: Nummer,
             aktenzeichen: Annotated[str, typer.Argument(help="Aktenzeichen des Falls.")],
             von: Von = None) -> None:
    """Einen Eingang von Hand einer Akte zuordnen."""
    settings = office(ctx)
    row = refused_or(lambda: assign_by_staff(settings, nummer, aktenzeichen, actor=von or user(),
                                             now=datetime.now(UTC)), CorrespondenceError)
    console.print(f"Eingang {row.id} liegt jetzt in der Akte {row.az}.")
