"""Queries of the Löschkonzept: a case's records across the tables, the candidates of each
retention class, legal holds, recorded exports and the deletion log (adapter: database)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ews.register.case_keys import case_outgoing_and_events
from ews.register.database import engine_for
from ews.register.retention_tables import DeletionLogRow, ExportRow, LegalHold
from ews.register.schema import (
    ApplicationRow,
    Base,
    BounceRow,
    CircularRow,
    CircularSend,
    CorrespondenceRow,
    DecisionRow,
    DeclarationRow,
    EventRow,
    FollowUpRow,
    Input,
    LetterRow,
    MailInput,
    MailRow,
    NetworkMember,
    OutgoingMail,
)

Row = TypeVar("Row", bound=Base)

#: letters that tell a municipality it was not selected (or too late)
NOTICE_KINDS = ("absage", "wartelistenbescheid", "verspaetungsschreiben")


@dataclass
class CaseRecords:
    """Every row that belongs to one case (an Az.): its application and the ones it
    replaced, their inputs, letters, mails, answers, correspondence and events."""

    az: str
    applications: list[ApplicationRow]
    inputs: list[Input] = field(default_factory=list)
    letters: list[LetterRow] = field(default_factory=list)
    mails: list[MailRow] = field(default_factory=list)
    outgoing: list[OutgoingMail] = field(default_factory=list)
    correspondence: list[CorrespondenceRow] = field(default_factory=list)
    follow_ups: list[FollowUpRow] = field(default_factory=list)
    decisions: list[DecisionRow] = field(default_factory=list)
    declarations: list[DeclarationRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    bounces: list[BounceRow] = field(default_factory=list)

    @property
    def azs(self) -> set[str]:
        """The case's Aktenzeichen: its application's and its declarations'."""
        return {self.az} | {row.az for row in self.declarations}


def current_applications(session: Session) -> list[tuple[ApplicationRow, DecisionRow | None]]:
    """Every application not replaced, with its decision (None: none taken)."""
    query = (select(ApplicationRow, DecisionRow)
             .outerjoin(DecisionRow, DecisionRow.application_id == ApplicationRow.id)
             .where(ApplicationRow.status != "replaced").order_by(ApplicationRow.id))
    return [(app, decision) for app, decision in session.execute(query)]


def notice_times(session: Session, application_ids: Collection[int] | None = None
                 ) -> dict[int, datetime]:
    """The latest notice of non-selection (or lateness) per application id (of every
    application, or of ``application_ids``)."""
    query = (select(LetterRow.application_id, func.max(LetterRow.created_at))
             .where(LetterRow.kind.in_(NOTICE_KINDS), LetterRow.application_id.is_not(None))
             .group_by(LetterRow.application_id))
    if application_ids is not None:
        query = query.where(LetterRow.application_id.in_(application_ids))
    return {application_id: at for application_id, at in session.execute(query)}


def case_records(session: Session, application: ApplicationRow) -> CaseRecords:
    """The rows of ``application``'s case (one query per table)."""
    apps = [application] + _replaced(session, application.id)
    app_ids = [app.id for app in apps]
    case = CaseRecords(az=application.az, applications=apps)
    case.correspondence = list(session.scalars(select(CorrespondenceRow).where(or_(
        CorrespondenceRow.application_id.in_(app_ids), CorrespondenceRow.az == application.az))))
    input_ids = {app.input_id for app in apps} | {
        row.input_id for row in case.correspondence if row.input_id is not None}
    case.inputs = list(session.scalars(select(Input).where(or_(
        Input.id.in_(input_ids), Input.application_id.in_(app_ids)))))
    input_ids |= {row.id for row in case.inputs}
    case.letters = list(session.scalars(select(LetterRow).where(or_(
        LetterRow.application_id.in_(app_ids), LetterRow.input_id.in_(input_ids)))))
    mail_ids = set(session.scalars(select(MailInput.mail_id).where(
        MailInput.input_id.in_(input_ids)))) | {
        row.mail_id for row in case.correspondence if row.mail_id is not None}
    case.mails = list(session.scalars(select(MailRow).where(MailRow.id.in_(mail_ids))))
    case.follow_ups = list(session.scalars(select(FollowUpRow).where(or_(
        FollowUpRow.az == application.az, FollowUpRow.application_id.in_(app_ids)))))
    case.decisions = list(session.scalars(select(DecisionRow).where(
        DecisionRow.application_id.in_(app_ids))))
    case.declarations = list(session.scalars(select(DeclarationRow).where(or_(
        DeclarationRow.application_id.in_(app_ids), DeclarationRow.az == application.az))))
    case.outgoing, case.events = case_outgoing_and_events(
        session, mails=mail_ids, inputs=case.inputs, letters=[row.id for row in case.letters],
        correspondence=case.correspondence, follow_ups=[row.id for row in case.follow_ups],
        azs=case.azs)
    outgoing_ids = [row.id for row in case.outgoing]
    case.bounces = list(session.scalars(select(BounceRow).where(or_(
        BounceRow.mail_id.in_(mail_ids), BounceRow.outgoing_mail_id.in_(outgoing_ids)))))
    return case


def _replaced(session: Session, application_id: int) -> list[ApplicationRow]:
    """The applications ``application_id`` replaced, and the ones those replaced (bounded by
    the register: every application replaces at most one chain)."""
    found: list[ApplicationRow] = []
    frontier = [application_id]
    while frontier:
        rows = list(session.scalars(select(ApplicationRow).where(
            ApplicationRow.replaced_by_id.in_(frontier))))
        found += rows
        frontier = [row.id for row in rows]
    return found


def quarantined_inputs(session: Session, before: datetime) -> list[Input]:
    """Inputs that led to no application and were finished before ``before`` (quarantine)."""
    return list(session.scalars(select(Input).where(
        Input.application_id.is_(None), Input.declaration_id.is_(None),
        Input.outcome == "invalid", Input.finished_at < before).order_by(Input.id)))


def unlinked_mails(session: Session, before: datetime) -> list[MailRow]:
    """Mails that brought no input and no correspondence (automatic, no PDF, bounces …),
    looked at before ``before``."""
    linked = select(MailInput.mail_id)
    filed = select(CorrespondenceRow.mail_id).where(CorrespondenceRow.mail_id.is_not(None))
    return list(session.scalars(select(MailRow).where(
        MailRow.id.not_in(linked), MailRow.id.not_in(filed), MailRow.created_at < before)))


def network_events(session: Session) -> list[EventRow]:
    return list(session.scalars(select(EventRow).where(EventRow.action == "netzwerk")))


def members_by_ags(session: Session) -> dict[str, NetworkMember]:
    return {row.ags: row for row in session.scalars(select(NetworkMember))}


def held_azs(session: Session) -> set[str]:
    return set(session.scalars(select(LegalHold.az).where(LegalHold.lifted_at.is_(None))))


def active_hold(session: Session, az: str) -> LegalHold | None:
    return session.scalars(select(LegalHold).where(
        LegalHold.az == az, LegalHold.lifted_at.is_(None))).first()


def add_hold(session: Session, row: LegalHold) -> LegalHold:
    session.add(row)
    session.flush()
    return row


def record_export(session: Session, *, kind: str, location: str, actor: str, now: datetime
                  ) -> None:
    """Note an export with personal data, so that the deletion run finds it."""
    session.add(ExportRow(kind=kind, location=location, created_by=actor, created_at=now))


def exports_before(session: Session, before: datetime) -> list[ExportRow]:
    return list(session.scalars(select(ExportRow).where(
        ExportRow.deleted_at.is_(None), ExportRow.created_at < before).order_by(ExportRow.id)))


def add_log(session: Session, **values: Any) -> DeletionLogRow:
    row = DeletionLogRow(**values)
    session.add(row)
    session.flush()
    return row


def log_rows(session: Session) -> list[DeletionLogRow]:
    return list(session.scalars(select(DeletionLogRow).order_by(DeletionLogRow.id)))


def outgoing_by_keys(session: Session, keys: set[str]) -> list[OutgoingMail]:
    return list(session.scalars(select(OutgoingMail).where(OutgoingMail.subject_key.in_(keys))))


def bounces_of_mails(session: Session, mail_ids: list[int]) -> list[BounceRow]:
    return list(session.scalars(select(BounceRow).where(BounceRow.mail_id.in_(mail_ids))))


def compact(url: str) -> None:
    """After a deletion on SQLite: rebuild the file without the freed pages and empty the
    write-ahead log, so that no deleted value lingers in the database files. PostgreSQL
    reclaims dead rows by its own (auto)vacuum."""
    engine = engine_for(url)
    if engine.dialect.name != "sqlite":
        return
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("VACUUM")
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.close()
    finally:
        connection.close()


def rows_of(session: Session, table: type[Row]) -> list[Row]:
    """Every row of one table, in id order (the access search reads them all)."""
    return list(session.scalars(select(table).order_by(*table.__mapper__.primary_key)))


def found_row(session: Session, table: str, row_id: int) -> Base:
    """The row an access finding names (``table``: its table's name in the register)."""
    kind = next((mapper.class_ for mapper in Base.registry.mappers
                 if getattr(mapper.class_, "__tablename__", None) == table), None)
    if kind is None:
        raise LookupError(f"the register has no table {table!r}")
    found: Base = session.get_one(kind, row_id)
    return found


def input_row_of(session: Session, input_id: int) -> Input | None:
    return session.get(Input, input_id)


def case_of_mail(session: Session, mail_id: int) -> str | None:
    """The Az. of the case a mail belongs to (through its inputs or as correspondence)."""
    via_input = session.scalars(
        select(ApplicationRow.az).join(MailInput, MailInput.input_id == ApplicationRow.input_id)
        .where(MailInput.mail_id == mail_id)).first()
    if via_input is not None:
        return via_input
    return session.scalars(select(CorrespondenceRow.az).where(
        CorrespondenceRow.mail_id == mail_id)).first()


def old_circular_sends(session: Session, before: datetime
                       ) -> list[tuple[CircularSend, OutgoingMail | None]]:
    """The send ledger of circulars issued before ``before``, with the mail each went by."""
    query = (select(CircularSend, OutgoingMail)
             .join(CircularRow, CircularRow.id == CircularSend.circular_id)
             .outerjoin(OutgoingMail, OutgoingMail.id == CircularSend.outgoing_mail_id)
             .where(CircularRow.issued_at < before).order_by(CircularSend.id))
    return [(send, mail) for send, mail in session.execute(query)]
