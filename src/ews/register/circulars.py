"""Circulars and their send ledger in the register (adapter: database via SQLAlchemy; the
caller's transaction).

Holds no rules: ``ews.circulars`` decides what is issued, queued and withdrawn; this module
numbers, finds, records and lists the rows.
"""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ews.core.models import CircularSendState, CircularState
from ews.register.schema import (
    BounceRow,
    CircularCounter,
    CircularRow,
    CircularSend,
    OutgoingMail,
)

_NEXT_NUMBER = text(
    "INSERT INTO circular_counters (year, last_number) VALUES (:year, 1) "
    "ON CONFLICT (year) DO UPDATE SET last_number = circular_counters.last_number + 1 "
    "RETURNING last_number")


def next_number(session: Session, year: int) -> int:
    """The next circular number of ``year`` (an upsert: two workers queue on the counter's
    row; the counter moves in the caller's transaction)."""
    return int(session.execute(_NEXT_NUMBER, {"year": year}).scalar_one())


def last_number(session: Session, year: int) -> int:
    """The last circular number issued in ``year`` (0: none yet); moves nothing."""
    found = session.scalar(select(CircularCounter.last_number)
                           .where(CircularCounter.year == year))
    return int(found or 0)


def circular_by_number(session: Session, number: int, year: int) -> CircularRow | None:
    return session.scalars(select(CircularRow).where(CircularRow.number == number,
                                                     CircularRow.year == year)).first()


def circular_by_slot(session: Session, slot: str) -> CircularRow | None:
    return session.scalars(select(CircularRow).where(CircularRow.slot == slot)).first()


def circular_of(session: Session, circular_id: int) -> CircularRow | None:
    return session.get(CircularRow, circular_id)


def add_circular(session: Session, row: CircularRow) -> CircularRow:
    """Record a new circular; its ``id`` is set at once."""
    session.add(row)
    session.flush()
    return row


def add_sends(session: Session, sends: list[CircularSend]) -> None:
    session.add_all(sends)


def circulars(session: Session, year: int | None = None) -> list[CircularRow]:
    """The archive (of ``year``), newest first."""
    query = select(CircularRow).order_by(CircularRow.year.desc(), CircularRow.number.desc())
    if year is not None:
        query = query.where(CircularRow.year == year)
    return list(session.scalars(query))


def to_send(session: Session) -> list[int]:
    """Issued circulars with ledger rows still planned or without their document, by id."""
    return list(session.scalars(
        select(CircularRow.id).where(CircularRow.state == CircularState.ISSUED)
        .where(CircularRow.id.in_(select(CircularSend.circular_id)
                                  .where(CircularSend.state == CircularSendState.PLANNED))
               | CircularRow.docx_path.is_(None))
        .order_by(CircularRow.id)))


def planned_sends(session: Session, circular_id: int, limit: int) -> list[CircularSend]:
    """The next ``limit`` planned ledger rows of a circular, in ledger order."""
    return list(session.scalars(
        select(CircularSend).where(CircularSend.circular_id == circular_id,
                                   CircularSend.state == CircularSendState.PLANNED)
        .order_by(CircularSend.id).limit(limit)))


def sends_with_mails(session: Session, circular_id: int
                     ) -> list[tuple[CircularSend, OutgoingMail | None]]:
    """Every ledger row of a circular with its outbox mail (if queued), by municipality."""
    return list(session.execute(
        select(CircularSend, OutgoingMail)
        .outerjoin(OutgoingMail, OutgoingMail.id == CircularSend.outgoing_mail_id)
        .where(CircularSend.circular_id == circular_id)
        .order_by(CircularSend.kommune)).tuples())


def bounces_of(session: Session, mail_ids: list[int]) -> dict[int, list[BounceRow]]:
    """The bounces of these outbox mails, by mail id, oldest first."""
    bounces: dict[int, list[BounceRow]] = {}
    for bounce in session.scalars(select(BounceRow).where(
            BounceRow.outgoing_mail_id.in_(mail_ids)).order_by(BounceRow.id)):
        bounces.setdefault(bounce.outgoing_mail_id or 0, []).append(bounce)
    return bounces
