"""One case (Akte) gathered from the register by its Az., in time order (I/O: database read).

A case is a municipality's applications of one round (the replacement chain) with their
inputs, letters, mails in and out, correspondence, decisions, declarations, follow-ups and
events; or, for a municipality that only signed the Gemeinsame Erklärung, its declaration.
The rows are read in a fixed number of queries, however long the case is, and returned as
plain entries with German titles; times stay aware UTC datetimes (the caller formats them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ews.register.case_entries import (
    CaseEntry,
    correspondence_entry,
    decision_entry,
    declaration_entries,
    event_entry,
    follow_up_entries,
    input_entries,
    letter_entry,
    mail_entry,
    outgoing_entry,
)
from ews.register.case_keys import case_outgoing_and_events
from ews.register.schema import (
    ApplicationRow,
    CorrespondenceRow,
    DecisionRow,
    DeclarationRow,
    EventRow,
    FollowUpRow,
    Input,
    LetterRow,
    MailInput,
    MailRow,
    OutgoingMail,
)


@dataclass(frozen=True)
class CaseFile:
    """A case: the Az. asked for, the municipality, and its entries in time order."""

    az: str
    kommune: str
    ags: str
    round_name: str | None
    azs: tuple[str, ...]  # every Az. of the case (the chain's and the declarations')
    entries: tuple[CaseEntry, ...] = field(default=())


@dataclass
class _Rows:
    applications: list[ApplicationRow]
    declarations: list[DeclarationRow]
    correspondence: list[CorrespondenceRow]
    inputs: list[Input]
    letters: list[LetterRow]
    mails: list[MailRow]
    decisions: list[DecisionRow]
    follow_ups: list[FollowUpRow]
    outgoing: list[OutgoingMail]
    events: list[EventRow]


def case_file(session: Session, az: str) -> CaseFile | None:
    """The case with exactly this Az., or None. Twelve queries at most, however long the
    case."""
    start = session.scalars(select(ApplicationRow).where(ApplicationRow.az == az)).first()
    declaration = None
    if start is None:
        declaration = session.scalars(select(DeclarationRow)
                                      .where(DeclarationRow.az == az)).first()
        if declaration is None:
            return None
    rows = _rows(session, start, declaration)
    head = start or declaration
    assert head is not None
    azs = tuple(sorted({row.az for row in rows.applications}
                       | {row.az for row in rows.declarations}))
    return CaseFile(az=az, kommune=head.kommune_name, ags=head.ags,
                    round_name=start.round_name if start else None, azs=azs,
                    entries=tuple(sorted(_entries(rows), key=lambda entry: entry.at)))


def _rows(session: Session, start: ApplicationRow | None,
          declaration: DeclarationRow | None) -> _Rows:
    """The case's rows: what names the case (applications, declarations, correspondence,
    follow-ups), then what hangs on those (inputs, letters, mails, decisions, the outbox and
    the journal)."""
    applications = [] if start is None else list(session.scalars(
        select(ApplicationRow).where(ApplicationRow.round_name == start.round_name,
                                     ApplicationRow.ags == start.ags)))
    app_ids = [row.id for row in applications]
    declarations = [declaration] if declaration is not None else list(session.scalars(
        select(DeclarationRow).where(DeclarationRow.application_id.in_(app_ids))))
    azs = {row.az for row in applications} | {row.az for row in declarations}
    correspondence = list(session.scalars(select(CorrespondenceRow).where(or_(
        CorrespondenceRow.az.in_(azs), CorrespondenceRow.application_id.in_(app_ids)))))
    follow_ups = list(session.scalars(select(FollowUpRow).where(or_(
        FollowUpRow.az.in_(azs), FollowUpRow.application_id.in_(app_ids)))))
    rows = _Rows(applications, declarations, correspondence, [], [], [], [], follow_ups, [], [])
    _add_documents(session, rows)
    _add_history(session, rows, azs)
    return rows


def _add_documents(session: Session, rows: _Rows) -> None:
    """Inputs and letters of the case; a letter a follow-up waits on brings its input (a
    Mängelschreiben's form, which has no Az.)."""
    app_ids = [row.id for row in rows.applications]
    input_ids = {row.input_id for row in rows.applications} | {
        row.returned_input_id for row in rows.declarations} | {
        row.input_id for row in rows.correspondence}
    rows.inputs = list(session.scalars(select(Input).where(or_(
        Input.id.in_(_known(input_ids)), Input.application_id.in_(app_ids),
        Input.declaration_id.in_([row.id for row in rows.declarations])))))
    rows.letters = list(session.scalars(select(LetterRow).where(or_(
        LetterRow.application_id.in_(app_ids),
        LetterRow.input_id.in_([row.id for row in rows.inputs]),
        LetterRow.id.in_(_known(row.letter_id for row in rows.follow_ups))))))
    loaded = {row.id for row in rows.inputs}
    more = {row.input_id for row in rows.letters} - loaded
    if more:
        rows.inputs += session.scalars(select(Input).where(Input.id.in_(more)))


def _add_history(session: Session, rows: _Rows, azs: set[str]) -> None:
    """Mails in and out, decisions and the journal's events of the case."""
    rows.mails = list(session.scalars(select(MailRow).where(or_(
        MailRow.id.in_(select(MailInput.mail_id).where(
            MailInput.input_id.in_([row.id for row in rows.inputs]))),
        MailRow.id.in_(_known(row.mail_id for row in rows.correspondence))))))
    rows.decisions = list(session.scalars(select(DecisionRow).where(
        DecisionRow.application_id.in_([row.id for row in rows.applications]))))
    rows.outgoing, rows.events = case_outgoing_and_events(
        session, mails=[row.id for row in rows.mails], inputs=rows.inputs,
        letters=[row.id for row in rows.letters], correspondence=rows.correspondence,
        follow_ups=[row.id for row in rows.follow_ups], azs=set(azs))


def _known(ids: Iterable[int | None]) -> list[int]:
    return [row_id for row_id in ids if row_id is not None]


def _entries(rows: _Rows) -> list[CaseEntry]:
    by_input = {row.input_id: row.az for row in rows.applications}
    filed_mails = {row.mail_id for row in rows.correspondence}
    entries = [entry for row in rows.inputs for entry in input_entries(row, by_input)]
    entries += [letter_entry(row) for row in rows.letters]
    entries += [mail_entry(row) for row in rows.mails if row.id not in filed_mails]
    entries += [correspondence_entry(row) for row in rows.correspondence]
    entries += [outgoing_entry(row) for row in rows.outgoing]
    entries += [decision_entry(row) for row in rows.decisions]
    letter_files = {row.docx_path for row in rows.letters}
    entries += [entry for row in rows.declarations
                for entry in declaration_entries(row, letter_files)]
    entries += [entry for row in rows.follow_ups for entry in follow_up_entries(row)]
    entries += [event_entry(row) for row in rows.events]
    return entries
