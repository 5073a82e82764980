"""What the register says about the service's state, for ``ews status``: counts of waiting
and failed work and the watchers' heartbeats (adapter: database reads via SQLAlchemy; the
caller's transaction, writes nothing).

Holds no rules: ``ews.operations.health`` judges what needs a person.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session

from ews.core.models import InputState, LetterState, MailState, OutboxState, Outcome
from ews.register.schema import Input, LetterRow, MailRow, OutgoingMail, WatcherRow


def open_inputs(session: Session, cutoff: datetime) -> tuple[int, datetime | None, int]:
    """Inputs not done: how many, the oldest receipt, and how many were claimed before
    ``cutoff``."""
    count, oldest, stuck = session.execute(
        select(func.count(), func.min(Input.received_at),
               func.count(case((Input.created_at < cutoff, 1))))
        .where(Input.state != InputState.DONE)).one()
    return int(count), oldest, int(stuck)


def letter_counts(session: Session) -> dict[str, int]:
    """Letters planned and rendered (PDF/A pending), by state."""
    return dict(session.execute(
        select(LetterRow.state, func.count()).where(LetterRow.state.in_((LetterState.PLANNED,
                                                                         LetterState.RENDERED)))
        .group_by(LetterRow.state)).tuples().all())


def mails_taken(session: Session) -> int:
    """Mails taken from the mailbox and not yet handled."""
    return session.scalar(select(func.count()).where(MailRow.state == MailState.TAKEN)) or 0


def outgoing_counts(session: Session) -> dict[str, tuple[int, int]]:
    """Per state (queued, sending): mails, and of those how many were tried before."""
    rows = session.execute(
        select(OutgoingMail.state, func.count(), func.count(case((OutgoingMail.attempts > 0, 1))))
        .where(OutgoingMail.state.in_((OutboxState.QUEUED, OutboxState.SENDING))).group_by(
            OutgoingMail.state))
    return {"queued": (0, 0), "sending": (0, 0)} | {s: (n, tried) for s, n, tried in rows}


def failed_mails(session: Session, since: datetime, last: int
                 ) -> tuple[int, list[OutgoingMail]]:
    """Outbox mails failed for good, created since ``since``: how many, the ``last`` latest."""
    failed = (OutgoingMail.state == OutboxState.FAILED) & (OutgoingMail.created_at >= since)
    count = session.scalar(select(func.count()).where(failed)) or 0
    rows = session.scalars(select(OutgoingMail).where(failed)
                           .order_by(OutgoingMail.id.desc()).limit(last))
    return count, list(rows)


def quarantined_inputs(session: Session, since: datetime, last: int) -> tuple[int, list[Input]]:
    """Inputs finished as invalid since ``since``: how many, the ``last`` latest."""
    invalid = (Input.outcome == Outcome.INVALID.value) & (Input.finished_at >= since)
    count = session.scalar(select(func.count()).where(invalid)) or 0
    rows = session.scalars(select(Input).where(invalid)
                           .order_by(Input.finished_at.desc()).limit(last))
    return count, list(rows)


def inputs_with_unwritten_letters(session: Session, cutoff: datetime) -> int:
    """Inputs with a letter planned before ``cutoff`` and still not written."""
    return session.scalar(select(func.count(distinct(LetterRow.input_id))).where(
        LetterRow.state == LetterState.PLANNED, LetterRow.created_at < cutoff)) or 0


def withheld_answers(session: Session, since: datetime, last: int
                     ) -> tuple[int, list[OutgoingMail]]:
    """Automatic answers withheld since ``since``: how many, the ``last`` latest."""
    withheld = (OutgoingMail.purpose == "antwort") & (
        OutgoingMail.state == OutboxState.WITHHELD) & (
        OutgoingMail.created_at >= since)
    count = session.scalar(select(func.count()).where(withheld)) or 0
    rows = session.scalars(select(OutgoingMail).where(withheld)
                           .order_by(OutgoingMail.id.desc()).limit(last))
    return count, list(rows)


def watchers(session: Session) -> list[WatcherRow]:
    """Every watcher's last heartbeat, by kind and name."""
    return list(session.scalars(select(WatcherRow).order_by(WatcherRow.kind, WatcherRow.name)))
