"""``ews postausgang``: every outgoing mail (answers, notices, circulars) with its sending
state. Reads the register."""

from __future__ import annotations

import typer

from ews.outbox.queue import outgoing_records
from flows.cli.office import office
from flows.cli.output import AsJson, console, folding_table, local, print_json_lines

STATUS_DE = {"queued": "wartet", "sending": "wird gesendet", "sent": "gesendet",
             "failed": "gescheitert", "withheld": "zurückgehalten"}


def postausgang(
    ctx: typer.Context,
    json_lines: AsJson = False,
) -> None:
    """Alle ausgehenden E-Mails (Antworten) mit ihrem Versandstand."""
    records = outgoing_records(office(ctx))
    if json_lines:
        print_json_lines(records)
        return
    table = folding_table(f"Postausgang ({len(records)})", ("Nr.", "Bezug", "Empfänger", "Status",
                                                           "Versuche", "Gesendet", "Hinweis"))
    for r in records:
        table.add_row(str(r["id"]), r["bezug"], "\n".join(r["empfaenger"]),
                      STATUS_DE.get(r["status"], r["status"]), str(r["versuche"]),
                      local(r["gesendet"]), r["fehler"] or "")
    console.print(table)
