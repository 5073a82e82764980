"""The letters of the selection and the network in the register, and which of them have a
mail in the outbox (adapter: database via SQLAlchemy; the caller's transaction).

Holds no rules: ``ews.selection.notices`` decides which letter is written and mailed.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ews.core.models import LetterState
from ews.register.schema import LetterRow, OutgoingMail


def kinds_written(session: Session, application_ids: list[int]) -> set[tuple[int, str]]:
    """(application id, letter kind) of every letter of these applications (one query)."""
    query = select(LetterRow.application_id, LetterRow.kind).where(
        LetterRow.application_id.in_(application_ids))
    return {(int(app_id), kind) for app_id, kind in session.execute(query).tuples()
            if app_id is not None}


def planned_of_kinds(session: Session, kinds: list[str]) -> list[LetterRow]:
    """The letters of these kinds still to be written."""
    return list(session.scalars(select(LetterRow).where(LetterRow.state == LetterState.PLANNED,
                                                        LetterRow.kind.in_(kinds))))


def mark_rendered(session: Session, letter_ids: list[int]) -> None:
    """Those of these letters still planned are written now (their .docx exists)."""
    for letter_id in letter_ids:
        row = session.get(LetterRow, letter_id)
        if row is not None and row.state == LetterState.PLANNED:
            row.state = LetterState.RENDERED


def of_kinds(session: Session, kinds: list[str]) -> list[LetterRow]:
    """Every letter of these kinds, in the order they were planned."""
    return list(session.scalars(select(LetterRow).where(LetterRow.kind.in_(kinds))
                                .order_by(LetterRow.id)))


def mail_keys(session: Session, purpose: str) -> set[str]:
    """The outbox keys of every mail queued for ``purpose`` (e.g. ``brief:12``)."""
    return set(session.scalars(select(OutgoingMail.subject_key)
                               .where(OutgoingMail.purpose == purpose)))


def record_pdf(session: Session, letter_id: int, pdf_path: str) -> None:
    """A letter's PDF/A is written: the letter is done."""
    letter = session.get(LetterRow, letter_id)
    if letter is not None:
        letter.pdf_path, letter.state = pdf_path, LetterState.DONE
