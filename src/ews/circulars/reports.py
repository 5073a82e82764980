"""The archive of circulars and each one's send ledger, for the command line and the Prefect
UI; withdrawing a circular (I/O: database)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from ews.circulars.distribution import ListSpec
from ews.circulars.issuing import circular_by_label, label
from ews.core.models import CircularSendState, CircularState, OutboxState
from ews.register import cases as register
from ews.register import circulars as circulars_register
from ews.register.database import Session, transaction
from ews.register.schema import BounceRow, CircularRow, CircularSend, OutgoingMail
from ews.runtime.settings import Settings

#: German words for the states of a ledger row, in the order tables count them
STATES = {
    "gesendet": "gesendet", "wartet": "wartet auf Versand", "geplant": "geplant",
    "wird_gesendet": "wird gesendet", "unzustellbar": "unzustellbar",
    "verzoegert": "Zustellung verzögert", "fehlgeschlagen": "fehlgeschlagen",
    "ohne_adresse": "ohne Adresse", "entfallen": "entfallen (aufgehoben)",
}
_OUTBOX = {"queued": "wartet", "sending": "wird_gesendet", "sent": "gesendet",
           "failed": "fehlgeschlagen", "storniert": "entfallen"}


def send_state(send: CircularSend, mail: OutgoingMail | None, bounces: list[BounceRow]
               ) -> tuple[str, str]:
    """The state of one ledger row and its German detail (reason, server message)."""
    if mail is None:
        return send.state, send.problem or ""
    permanent = [b for b in bounces if b.permanent]
    if permanent:
        return "unzustellbar", " ".join(b.reason for b in permanent)
    if bounces and mail.state == OutboxState.SENT:
        return "verzoegert", " ".join(b.reason for b in bounces)
    state = _OUTBOX.get(mail.state, mail.state)
    return state, mail.last_error or ""


def ledger(session: Session, circular_id: int) -> list[dict[str, Any]]:
    """Every ledger row of a circular with its state, by municipality."""
    rows = circulars_register.sends_with_mails(session, circular_id)
    bounces = circulars_register.bounces_of(
        session, [mail.id for _send, mail in rows if mail is not None])
    records = []
    for send, mail in rows:
        state, detail = send_state(send, mail, bounces.get(mail.id, []) if mail else [])
        records.append({"ags": send.ags, "kommune": send.kommune, "empfaenger": send.emails,
                        "anrede": send.salutation, "quelle": send.source, "status": state,
                        "status_text": STATES.get(state, state), "hinweis": detail,
                        "gesendet": mail.sent_at.isoformat() if mail and mail.sent_at
                        else None})
    return records


def circular_record(session: Session, row: CircularRow, settings: Settings) -> dict[str, Any]:
    counts = Counter(entry["status"] for entry in ledger(session, row.id))
    return {
        "nummer": label(row), "datum": row.issued_on, "aktenzeichen": row.az,
        "titel": row.title, "verteiler": row.list_spec,
        "verteiler_text": ListSpec.parse(row.list_spec, settings.round.name).label(),
        "status": row.state, "empfaenger": sum(counts.values()), "versand": dict(counts),
        "dokument": row.pdf_path or row.docx_path, "slot": row.slot, "entwurf": row.draft,
        "aufgehoben_grund": row.withdrawn_reason,
    }


def circular_records(settings: Settings, year: int | None = None) -> list[dict[str, Any]]:
    """The archive, newest first."""
    with transaction(settings.db_url) as session:
        return [circular_record(session, row, settings)
                for row in circulars_register.circulars(session, year)]


def circular_details(settings: Settings, value: str) -> tuple[dict[str, Any],
                                                               list[dict[str, Any]]]:
    with transaction(settings.db_url) as session:
        row = circular_by_label(session, value)
        return circular_record(session, row, settings), ledger(session, row.id)


def send_summary(counts: dict[str, int]) -> str:
    """``12 gesendet, 3 ohne Adresse`` for a table cell."""
    return ", ".join(f"{counts[state]} {text}" for state, text in STATES.items()
                     if counts.get(state)) or "–"


def withdraw(settings: Settings, value: str, *, reason: str, actor: str, now: datetime
             ) -> tuple[str, int]:
    """Mark a circular ``aufgehoben`` (it keeps its number); mails not yet sent are dropped.
    Returns its label and how many mails were stopped."""
    with transaction(settings.db_url) as session:
        row = circular_by_label(session, value)
        if row.state == CircularState.WITHDRAWN:
            return label(row), 0
        row.state, row.withdrawn_by = "aufgehoben", actor
        row.withdrawn_at, row.withdrawn_reason = now, reason
        stopped = 0
        for send, mail in circulars_register.sends_with_mails(session, row.id):
            if send.state == CircularSendState.PLANNED:
                send.state, stopped = "entfallen", stopped + 1
            elif mail is not None and mail.state == OutboxState.QUEUED:
                mail.state, stopped = "storniert", stopped + 1
                mail.last_error = f"Rundschreiben aufgehoben: {reason}"[:2000]
        register.log_event(session, actor=actor, action="rundschreiben-aufgehoben",
                           subject=f"Mitteilung {label(row)}",
                           detail={"grund": reason, "gestoppt": stopped})
        return label(row), stopped
