"""The selection's decisions in the register, with the applications they decide (adapter:
database via SQLAlchemy; the caller's transaction).

Holds no rules: ``ews.selection`` decides; this module finds, records and lists the rows.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ews.core.models import ApplicationStatus
from ews.register.schema import ApplicationRow, DecisionRow


def decision_of(session: Session, application_id: int) -> DecisionRow | None:
    return session.scalars(select(DecisionRow).where(
        DecisionRow.application_id == application_id)).first()


def decided(session: Session, round_name: str, decision: str) -> list[DecisionRow]:
    """The round's decisions that say ``decision``."""
    return list(session.scalars(select(DecisionRow).where(
        DecisionRow.round_name == round_name, DecisionRow.decision == decision)))


def first_ranked(session: Session, round_name: str, decision: str) -> DecisionRow | None:
    """The round's decision saying ``decision`` with the best rank (then the oldest)."""
    return session.scalars(select(DecisionRow).where(
        DecisionRow.round_name == round_name, DecisionRow.decision == decision)
        .order_by(DecisionRow.rank, DecisionRow.id)).first()


def save_decision(session: Session, row: DecisionRow) -> DecisionRow:
    """Record a new or changed decision now (inside the transaction)."""
    session.add(row)
    session.flush()
    return row


def current_with_decisions(session: Session, round_name: str
                           ) -> list[tuple[ApplicationRow, DecisionRow | None]]:
    """Every current (not replaced) application of the round with its decision, by Az."""
    rows = session.execute(
        select(ApplicationRow, DecisionRow)
        .outerjoin(DecisionRow, DecisionRow.application_id == ApplicationRow.id)
        .where(ApplicationRow.round_name == round_name,
               ApplicationRow.status != ApplicationStatus.REPLACED.value)
        .order_by(ApplicationRow.az_year, ApplicationRow.az_serial)).tuples()
    return list(rows)


def decisions_with_applications(session: Session, round_name: str
                                ) -> list[tuple[DecisionRow, ApplicationRow]]:
    """Every decision of the round with its application, by Az."""
    rows = session.execute(
        select(DecisionRow, ApplicationRow)
        .join(ApplicationRow, ApplicationRow.id == DecisionRow.application_id)
        .where(DecisionRow.round_name == round_name)
        .order_by(ApplicationRow.az_year, ApplicationRow.az_serial)).tuples()
    return list(rows)


def applications_of_round(session: Session, round_name: str, *, decision: str | None = None
                          ) -> list[ApplicationRow]:
    """The round's applications whose decision says ``decision``, or (None) every current
    one; by id."""
    query = select(ApplicationRow).where(ApplicationRow.round_name == round_name)
    if decision is not None:
        query = query.join(DecisionRow, DecisionRow.application_id == ApplicationRow.id) \
            .where(DecisionRow.decision == decision)
    else:
        query = query.where(ApplicationRow.status != ApplicationStatus.REPLACED.value)
    return list(session.scalars(query.order_by(ApplicationRow.id)))
