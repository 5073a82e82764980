"""Follow-ups (Wiedervorlagen) in the register: opened by the letter that asks for an answer,
closed by the answer or by staff, extended, added by hand, and reminded once per due date
(adapter: database via SQLAlchemy; the caller's transaction).

Every change is written to ``events`` with who and when (actions ``wiedervorlage-…``, subject
the Az., ``detail["wiedervorlage"]`` the id). Holds no rules: ``ews.casefile`` decides what is
refused and when a reminder is due; the intake, the selection and the network open and close
follow-ups in the transactions that plan the letter or register the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ews.core.deadlines import BERLIN
from ews.core.form_contract import LABELS
from ews.core.models import FollowUpKind, FollowUpState
from ews.register.schema import (
    ApplicationRow,
    DeclarationRow,
    EventRow,
    FollowUpRow,
    Input,
    LetterRow,
    MailInput,
    MailRow,
    OutgoingMail,
)

#: the events a follow-up writes (``events.action``)
OPENED, CLOSED, EXTENDED, REMINDED = ("wiedervorlage-angelegt", "wiedervorlage-erledigt",
                                      "wiedervorlage-verlaengert", "wiedervorlage-erinnert")


def open_follow_up(session: Session, *, az: str, kind: FollowUpKind, due_on: date,
                   actor: str, now: datetime, application_id: int | None = None,
                   letter_id: int | None = None, declaration_id: int | None = None,
                   note: str = "") -> FollowUpRow:
    """A new open follow-up, logged; the existing one when the letter (``letter_id``) or the
    declaration (``declaration_id``) already has one (idempotent)."""
    existing = _by_source(session, letter_id, declaration_id)
    if existing is not None:
        return existing
    row = FollowUpRow(az=az, application_id=application_id, kind=kind.value,
                      letter_id=letter_id, declaration_id=declaration_id,
                      due_on=due_on.isoformat(), state=FollowUpState.OPEN.value, note=note,
                      created_by=actor, created_at=now)
    session.add(row)
    session.flush()
    _log(session, row, OPENED, actor, now, {"art": row.kind, "faellig": row.due_on,
                                            "notiz": note})
    return row


def _by_source(session: Session, letter_id: int | None, declaration_id: int | None
               ) -> FollowUpRow | None:
    if letter_id is not None:
        return session.scalars(select(FollowUpRow).where(
            FollowUpRow.letter_id == letter_id)).first()
    if declaration_id is not None:
        return session.scalars(select(FollowUpRow).where(
            FollowUpRow.declaration_id == declaration_id)).first()
    return None


def follow_up(session: Session, follow_up_id: int) -> FollowUpRow | None:
    return session.get(FollowUpRow, follow_up_id)


def close(session: Session, row: FollowUpRow, *, actor: str, now: datetime, note: str
          ) -> FollowUpRow:
    """Close an open follow-up (the answer came, or staff closed it), logged; a closed one
    stays as it is."""
    if row.state == FollowUpState.CLOSED:
        return row
    row.state, row.closed_by, row.closed_at, row.close_note = (
        FollowUpState.CLOSED.value, actor, now, note)
    _log(session, row, CLOSED, actor, now, {"notiz": note})
    return row


def extend(session: Session, row: FollowUpRow, *, due_on: date, actor: str, now: datetime,
           note: str) -> FollowUpRow:
    """Move the due date of a follow-up (a reminder may go again once the new date passed),
    logged with the old and the new date."""
    previous, row.due_on = row.due_on, due_on.isoformat()
    if note:
        row.note = f"{row.note}\n{note}".strip()
    _log(session, row, EXTENDED, actor, now, {"vorher": previous, "neu": row.due_on,
                                              "notiz": note})
    return row


def mark_reminded(session: Session, row: FollowUpRow, *, actor: str, now: datetime,
                  outbox_key: str) -> None:
    """A reminder for the current due date is queued (``outbox_key``), logged."""
    row.reminded_on = row.due_on
    _log(session, row, REMINDED, actor, now, {"faellig": row.due_on, "postausgang": outbox_key})


def close_for_declaration(session: Session, declaration_id: int, *, actor: str, now: datetime,
                          note: str) -> list[FollowUpRow]:
    """The declaration came back: its open follow-up is closed."""
    rows = session.scalars(select(FollowUpRow).where(
        FollowUpRow.declaration_id == declaration_id,
        FollowUpRow.state == FollowUpState.OPEN.value))
    return [close(session, row, actor=actor, now=now, note=note) for row in rows]


def close_open(session: Session, application_id: int, kind: FollowUpKind, *, actor: str,
               now: datetime, note: str) -> list[FollowUpRow]:
    """Close the open follow-ups of ``kind`` of an application (e.g. the release once the
    acceptance is withdrawn, or once staff filed the confirmation to the case)."""
    rows = session.scalars(select(FollowUpRow).where(
        FollowUpRow.application_id == application_id, FollowUpRow.kind == kind.value,
        FollowUpRow.state == FollowUpState.OPEN.value))
    return [close(session, row, actor=actor, now=now, note=note) for row in rows]


def close_corrections(session: Session, application: ApplicationRow, *, actor: str,
                      now: datetime, note: str) -> list[FollowUpRow]:
    """A corrected application is registered: the open correction follow-ups of the same
    municipality and round (their Mängelschreiben's input names the municipality) are closed
    and linked to the new application (``application_id``, so that its Akte shows them)."""
    rows = session.execute(
        select(FollowUpRow, LetterRow.data).join(LetterRow, LetterRow.id == FollowUpRow.letter_id)
        .join(Input, Input.id == LetterRow.input_id)
        .where(FollowUpRow.kind == FollowUpKind.CORRECTION.value,
               FollowUpRow.state == FollowUpState.OPEN.value,
               Input.ags == application.ags)).tuples().all()
    closed = []
    for row, data in rows:
        if (data or {}).get("round_name", application.round_name) != application.round_name:
            continue
        row.application_id = row.application_id or application.id
        closed.append(close(session, row, actor=actor, now=now, note=note))
    return closed


def open_follow_ups(session: Session) -> list[FollowUpRow]:
    """Every open follow-up, the earliest due first."""
    return list(session.scalars(select(FollowUpRow).where(
        FollowUpRow.state == FollowUpState.OPEN.value)
        .order_by(FollowUpRow.due_on, FollowUpRow.id)))


def overdue(session: Session, today: date) -> list[FollowUpRow]:
    """The open follow-ups whose due date lies before ``today`` (Europe/Berlin)."""
    return list(session.scalars(select(FollowUpRow).where(
        FollowUpRow.state == FollowUpState.OPEN.value, FollowUpRow.due_on < today.isoformat())
        .order_by(FollowUpRow.due_on, FollowUpRow.id)))


def all_follow_ups(session: Session) -> list[FollowUpRow]:
    """Every follow-up, open or closed, by due date."""
    return list(session.scalars(select(FollowUpRow).order_by(FollowUpRow.due_on,
                                                             FollowUpRow.id)))


def follow_ups_of(session: Session, az: str) -> list[FollowUpRow]:
    """The follow-ups of one case: by its Az. or linked to its application, in order."""
    application = session.scalars(select(ApplicationRow.id).where(
        ApplicationRow.az == az)).first()
    condition = FollowUpRow.az == az
    if application is not None:
        condition = condition | (FollowUpRow.application_id == application)
    return list(session.scalars(select(FollowUpRow).where(condition).order_by(FollowUpRow.id)))


def counts(session: Session, today: date, stale_before: date) -> tuple[int, int, int]:
    """Open follow-ups: how many, how many are overdue (due before ``today``), and how many
    were due before ``stale_before`` and got no reminder for that date (one query)."""
    overdue_now = FollowUpRow.due_on < today.isoformat()
    unreminded = (FollowUpRow.due_on < stale_before.isoformat()) & (
        FollowUpRow.reminded_on.is_(None) | (FollowUpRow.reminded_on != FollowUpRow.due_on))
    open_count, overdue_count, stale = session.execute(
        select(func.count(), func.count(case((overdue_now, 1))),
               func.count(case((unreminded, 1))))
        .where(FollowUpRow.state == FollowUpState.OPEN.value)).one()
    return int(open_count), int(overdue_count), int(stale)


@dataclass(frozen=True)
class FollowUpFacts:
    """A follow-up with what listing and reminding need: the municipality, the day the answer
    was asked for, the form's fields (team addresses) and the senders the case came from."""

    row: FollowUpRow
    kommune: str
    asked_on: date
    fields: dict[str, Any]
    senders: list[str]


def facts_of(session: Session, rows: list[FollowUpRow]) -> list[FollowUpFacts]:
    """``FollowUpFacts`` of these follow-ups, in their order."""
    return [_facts(session, row) for row in rows]


def _facts(session: Session, row: FollowUpRow) -> FollowUpFacts:
    application = None if row.application_id is None else \
        session.get(ApplicationRow, row.application_id)
    letter = None if row.letter_id is None else session.get(LetterRow, row.letter_id)
    declaration = None if row.declaration_id is None else \
        session.get(DeclarationRow, row.declaration_id)
    data = letter.data if letter is not None else {}
    asked_on = _asked_on(row, data, declaration)
    kommune = (application.kommune_name if application is not None else
               declaration.kommune_name if declaration is not None else
               str(data.get("kommune_name") or ""))
    input_ids = {application.input_id} if application is not None else set()
    if letter is not None:
        input_ids.add(letter.input_id)
    senders = list(session.scalars(
        select(MailRow.sender).join(MailInput, MailInput.mail_id == MailRow.id)
        .where(MailInput.input_id.in_(input_ids), MailRow.sender.is_not(None))
        .order_by(MailRow.id)).all()) if input_ids else []
    return FollowUpFacts(row=row, kommune=kommune, asked_on=asked_on,
                         fields=dict(application.fields) if application is not None
                         else _summary_fields(data),
                         senders=[sender for sender in senders if sender])


_FIELD_OF_LABEL = {label: name for name, label in LABELS.items()}


def _summary_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The form's fields as far as a letter's summary shows them (a Mängelschreiben's input
    has no application, its letter keeps what the form said)."""
    return {_FIELD_OF_LABEL[pair[0]]: pair[1] for pair in data.get("summary") or ()
            if len(pair) == 2 and pair[0] in _FIELD_OF_LABEL}


def _asked_on(row: FollowUpRow, data: dict[str, Any], declaration: DeclarationRow | None
              ) -> date:
    if data.get("letter_date"):
        return date.fromisoformat(str(data["letter_date"]))
    if declaration is not None and declaration.issued_at is not None:
        return declaration.issued_at.astimezone(BERLIN).date()
    return row.created_at.astimezone(BERLIN).date()


def reminder_mails(session: Session, purpose: str, keys: list[str]
                   ) -> dict[str, tuple[str, datetime | None]]:
    """State and sending time of the outbox mails of ``purpose`` with these keys, by key."""
    if not keys:
        return {}
    return {key: (state, sent_at) for key, state, sent_at in session.execute(
        select(OutgoingMail.subject_key, OutgoingMail.state, OutgoingMail.sent_at).where(
            OutgoingMail.purpose == purpose, OutgoingMail.subject_key.in_(keys))).tuples()}


def events_of(session: Session, follow_up_id: int) -> list[EventRow]:
    """The logged changes of one follow-up, in order."""
    return [event for event in session.scalars(select(EventRow).where(
        EventRow.action.like("wiedervorlage-%")).order_by(EventRow.id))
        if event.detail.get("wiedervorlage") == follow_up_id]


def _log(session: Session, row: FollowUpRow, action: str, actor: str, now: datetime,
         detail: dict[str, Any]) -> None:
    session.add(EventRow(at=now, actor=actor, action=action, subject=row.az,
                         detail={"wiedervorlage": row.id, **detail}))
