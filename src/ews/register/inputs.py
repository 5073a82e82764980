"""The inputs of the journal in the register: loading them and writing their outcome and
filing (I/O: database, in the caller's transaction).

``set_outcome`` is the one place an input's outcome is written; which outcome it is, the
pure rules of ``ews.core.outcomes`` decide.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ews.core.models import ApplicationStatus, InputState, LetterState, Outcome
from ews.register import cases
from ews.register.schema import ApplicationRow, DeclarationRow, Input, LetterRow


def set_outcome(row: Input, outcome: Outcome, reasons: list[str] | None = None) -> None:
    """Write an input's outcome, and its German reasons unless None (they stay as they are)."""
    row.outcome = outcome.value
    if reasons is not None:
        row.reasons = list(reasons)


def add_reasons(row: Input, *reasons: str) -> None:
    row.reasons = [*row.reasons, *reasons]


def ids_of(session: Session, rows: list[Input]) -> list[int]:
    """The ids of inputs just opened (``cases.open_input``): they are inserted now."""
    session.flush()
    return [row.id for row in rows]


def input_row(session: Session, input_id: int) -> Input:
    """An input; LookupError when the register has none under the id."""
    row = session.get(Input, input_id)
    if row is None:
        raise LookupError(f"input {input_id} is not in the register")
    return row


def input_rows(session: Session, input_ids: Iterable[int]) -> dict[int, Input]:
    """The inputs by id (one query); LookupError naming the lowest id the register lacks."""
    ids = list(input_ids)
    rows = {row.id: row for row in session.scalars(select(Input).where(Input.id.in_(ids)))}
    missing = set(ids) - set(rows)
    if missing:
        raise LookupError(f"input {min(missing)} is not in the register")
    return rows


def mark_decided(row: Input, *, read_method: str | None, kommune_name: str | None,
                 ags: str | None, application_id: int | None = None) -> None:
    row.read_method, row.kommune_name, row.ags = read_method, kommune_name, ags
    if application_id is not None:
        row.application_id = application_id
    row.state = InputState.DECIDED


def mark_rendered(letters: list[LetterRow], rendered: list[int]) -> None:
    """The letters among ``letters`` whose .docx was written."""
    for letter in letters:
        if letter.id in rendered:
            letter.state = LetterState.RENDERED


def mark_done(row: Input, stored_path: str | None, now: datetime) -> None:
    """The input is finished: its original filed at ``stored_path`` (None: not filed)."""
    row.stored_path, row.state, row.finished_at = stored_path, "done", now


def add_application(session: Session, row: Input, basis: cases.DecisionBasis, **fields: object
                    ) -> tuple[ApplicationRow, ApplicationRow | None]:
    """A new application of input ``row`` (``cases.add_application``: the replacement rule)."""
    new = ApplicationRow(input_id=row.id, **fields)
    return cases.add_application(session, new, basis)


def declaration_az(session: Session, declaration_id: int | None) -> str | None:
    """The Az. of a declaration, if there is one under the id."""
    if declaration_id is None:
        return None
    declaration = session.get(DeclarationRow, declaration_id)
    return declaration.az if declaration else None


def set_application(row: Input, application_id: int) -> None:
    row.application_id = application_id


def restamp(row: Input, stamped: datetime) -> None:
    """An Eingangsstempel for the input: its receipt is judged by it from now on."""
    row.stamped_at = stamped


def restamp_application(application: ApplicationRow, stamped: datetime) -> None:
    application.received_at = stamped


def rejudge_application(application: ApplicationRow, *, on_time: bool) -> None:
    """An application's status after its receipt was judged again (a replaced one stays)."""
    if application.status != ApplicationStatus.REPLACED.value:
        application.status = (ApplicationStatus.REGISTERED if on_time
                              else ApplicationStatus.LATE).value
