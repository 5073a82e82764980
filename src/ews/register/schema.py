"""Database tables of the register (SQLAlchemy ORM declarations; no I/O).

Longer than 300 lines because it is one declaration per table and nothing else, and the
tables refer to each other (foreign keys, the one-current-application index), so one file
shows the whole schema the migrations build, table by table, as Alembic compares it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UtcDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and returns them aware (SQLite keeps no offset)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the register")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON, list[str]: JSON}


class Sighting(Base):
    """First time the service saw a file in the inbox (its receipt time)."""

    __tablename__ = "sightings"
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    first_seen_at: Mapped[datetime]
    stamped_at: Mapped[datetime | None]  # paper receipt stamp recorded by staff


class Input(Base):
    """One input file: the journal. ``state``: claimed → decided → done."""

    __tablename__ = "inputs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_name: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16), default="ordner")
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime]
    stamped_at: Mapped[datetime | None]
    claim_path: Mapped[str] = mapped_column(String(1024), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="claimed", index=True)
    outcome: Mapped[str | None] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(default=list)
    read_method: Mapped[str | None] = mapped_column(String(16))
    kommune_name: Mapped[str | None] = mapped_column(Text)
    ags: Mapped[str | None] = mapped_column(String(8))
    # no foreign key: applications.input_id points back here, and a cycle would stop PostgreSQL
    application_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: a returned Gemeinsame Erklärung: the declaration it belongs to
    declaration_id: Mapped[int | None] = mapped_column(Integer)
    stored_path: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    #: passes in which handling this input failed, and the last failure (German); after
    #: ``intake.max_attempts`` of them the input is decided invalid with that reason
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)


class AzCounter(Base):
    """Last Az. serial issued per year; incremented in the transaction that issues one."""

    __tablename__ = "az_counters"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_serial: Mapped[int] = mapped_column(Integer, default=0)


class ApplicationRow(Base):
    """One registered application with its Aktenzeichen."""

    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("az_year", "az_serial"),
        # at most one current application per municipality and round
        Index("uq_current_application", "round_name", "ags", unique=True,
              sqlite_where=text("status != 'replaced'"),
              postgresql_where=text("status != 'replaced'")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    az: Mapped[str] = mapped_column(String(64), unique=True)
    az_year: Mapped[int] = mapped_column(Integer)
    az_serial: Mapped[int] = mapped_column(Integer)
    round_name: Mapped[str] = mapped_column(String(64))
    ags: Mapped[str] = mapped_column(String(8))
    kommune_name: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime]
    deadline_last_day: Mapped[str] = mapped_column(String(10))
    fields: Mapped[dict[str, Any]]
    input_id: Mapped[int] = mapped_column(ForeignKey("inputs.id"), unique=True)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LetterRow(Base):
    """A letter written for an input; at most one per kind and input."""

    __tablename__ = "letters"
    __table_args__ = (UniqueConstraint("input_id", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    input_id: Mapped[int] = mapped_column(ForeignKey("inputs.id"))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    kind: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(64))
    docx_path: Mapped[str] = mapped_column(String(1024))
    pdf_path: Mapped[str | None] = mapped_column(String(1024))
    data: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16), default="planned")  # planned|rendered|done
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: never set or read: it tells the flush to insert an application before the letters
    #: that name it when both wait in one flush (without it, the mappers' names decide)
    application: Mapped[ApplicationRow | None] = relationship(viewonly=False, lazy="raise")


class EventRow(Base):
    """Audit log: who changed what and when (staff actions such as an Eingangsstempel)."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]]


class MailRow(Base):
    """The mail ledger: every mail looked at in the office mailbox, once.

    ``state``: taken (its inputs are in the register) → done (post-action applied); ``kind``:
    application (PDFs taken), no_pdf, automatic, bounce (a delivery failure report, in
    ``bounces``), duplicate (same Message-ID seen before)."""

    __tablename__ = "mails"
    __table_args__ = (UniqueConstraint("account", "folder", "uidvalidity", "uid"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(320))
    folder: Mapped[str] = mapped_column(String(512))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    internaldate: Mapped[datetime]
    sender: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(default=list)
    raw_path: Mapped[str] = mapped_column(String(1024))
    state: Mapped[str] = mapped_column(String(16), default="taken", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]


class MailAttempt(Base):
    """A mail whose preparation (parsing, writing its files) failed in a pass: how often, and
    the last failure (German). After ``intake.max_attempts`` it is recorded as unreadable."""

    __tablename__ = "mail_attempts"
    __table_args__ = (UniqueConstraint("account", "folder", "uidvalidity", "uid"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(320))
    folder: Mapped[str] = mapped_column(String(512))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime]


class MailInput(Base):
    """Which inputs came from which mail."""

    __tablename__ = "mail_inputs"
    input_id: Mapped[int] = mapped_column(ForeignKey("inputs.id"), primary_key=True)
    mail_id: Mapped[int] = mapped_column(ForeignKey("mails.id"), index=True)


class OutgoingMail(Base):
    """The transactional outbox: a mail is written to ``eml_path`` and recorded as
    ``queued`` before it is sent. ``state``: queued → sending → sent | failed."""

    __tablename__ = "outgoing_mails"
    __table_args__ = (UniqueConstraint("purpose", "subject_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: what the mail is for, e.g. "antwort"; with ``subject_key`` (e.g. "input:42") unique,
    #: so that nothing is answered twice
    purpose: Mapped[str] = mapped_column(String(32))
    subject_key: Mapped[str] = mapped_column(String(128))
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    recipients: Mapped[list[str]] = mapped_column()
    eml_path: Mapped[str] = mapped_column(String(1024))
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    refused: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sent_at: Mapped[datetime | None]
    copied_to_sent: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DecisionRow(Base):
    """The office's decision on one application of a round (one current row per application;
    every change is also written to ``events``)."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    round_name: Mapped[str] = mapped_column(String(64), index=True)
    #: angenommen | warteliste | abgelehnt | zurueckgezogen
    decision: Mapped[str] = mapped_column(String(16))
    rank: Mapped[int | None] = mapped_column(Integer)  # place on the waiting list
    reason_category: Mapped[str | None] = mapped_column(String(64))
    override_reason: Mapped[str | None] = mapped_column(Text)
    moved_up: Mapped[bool] = mapped_column(default=False)  # accepted from the waiting list
    decided_by: Mapped[str] = mapped_column(String(128))
    decided_at: Mapped[datetime]


class DeclarationRow(Base):
    """A sign-up document for the Gemeinsame Erklärung, issued under an Az. (the application's
    for a participant, a new one for any other municipality); ``state``: issued → returned
    once the signed copy came back (``returned_input_id``)."""

    __tablename__ = "declarations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    az: Mapped[str] = mapped_column(String(64), unique=True)
    ags: Mapped[str] = mapped_column(String(8), index=True)
    kommune_name: Mapped[str] = mapped_column(String(512))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"),
                                                       unique=True)
    hvb_name: Mapped[str] = mapped_column(Text, default="")
    hvb_function: Mapped[str] = mapped_column(Text, default="")
    contact_person: Mapped[str] = mapped_column(Text, default="")
    #: the document in the case folder (its PDF/A lies beside it)
    docx_path: Mapped[str | None] = mapped_column(String(1024))
    state: Mapped[str] = mapped_column(String(16), default="issued")
    issued_by: Mapped[str] = mapped_column(String(128))
    issued_at: Mapped[datetime]
    returned_input_id: Mapped[int | None] = mapped_column(ForeignKey("inputs.id"))
    returned_at: Mapped[datetime | None]


class NetworkMember(Base):
    """The roster of the Kommunen-Netzwerk: engagiert in NRW, one row per municipality.

    The membership criteria (domain facts 4.2) are kept as recorded by staff or read from
    the application; ``None`` means not known yet."""

    __tablename__ = "network_members"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ags: Mapped[str] = mapped_column(String(8), unique=True)
    kommune_name: Mapped[str] = mapped_column(String(512))
    joined_on: Mapped[str] = mapped_column(String(10))  # ISO date
    declaration_id: Mapped[int | None] = mapped_column(ForeignKey("declarations.id"))
    signed_by: Mapped[str] = mapped_column(Text, default="")
    signed_function: Mapped[str] = mapped_column(Text, default="")
    signed_on: Mapped[str | None] = mapped_column(String(10))  # ISO date
    contact_person: Mapped[str] = mapped_column(Text, default="")
    contact_email: Mapped[str] = mapped_column(Text, default="")
    #: teilnahme | geplant | vergleichbar | nein | unbekannt
    ehrenamtskarte: Mapped[str] = mapped_column(String(16), default="unbekannt")
    cross_cutting_task: Mapped[bool | None]  # Engagementförderung als Querschnittsaufgabe
    continuous_cooperation: Mapped[bool | None]  # Verpflichtung zur kontinuierlichen Mitarbeit
    source: Mapped[str] = mapped_column(String(128), default="")  # e.g. "EWS 6"
    note: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime]


class CircularCounter(Base):
    """Last circular number issued per year (``Mitteilung N/YYYY``); moved in the transaction
    that issues the circular, so numbers are gap-free and restart on 1 January."""

    __tablename__ = "circular_counters"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class CircularRow(Base):
    """An issued circular. Its text is frozen here at issue; ``state``: ausgegeben, or
    aufgehoben (withdrawn: it keeps its number)."""

    __tablename__ = "circulars"
    __table_args__ = (UniqueConstraint("year", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer)
    year: Mapped[int] = mapped_column(Integer)
    issued_on: Mapped[str] = mapped_column(String(10))  # ISO date, Europe/Berlin
    az: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(512))
    list_spec: Mapped[str] = mapped_column(String(128))
    address_to: Mapped[str] = mapped_column(String(16), default="ansprechperson")
    draft: Mapped[str] = mapped_column(String(256))  # the draft it was issued from
    #: a scheduled mailing's slot, e.g. "monatsinfo@2026-12-01": one circular per slot
    slot: Mapped[str | None] = mapped_column(String(256), unique=True)
    text: Mapped[str] = mapped_column(Text)
    #: the values the text is filled with besides the recipient's (number, date, deadline …)
    values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attachments: Mapped[list[str]] = mapped_column(default=list)  # file names in ``folder``
    folder: Mapped[str] = mapped_column(String(1024))
    docx_path: Mapped[str | None] = mapped_column(String(1024))
    pdf_path: Mapped[str | None] = mapped_column(String(1024))
    state: Mapped[str] = mapped_column(String(16), default="ausgegeben")
    issued_by: Mapped[str] = mapped_column(String(128))
    issued_at: Mapped[datetime]
    withdrawn_by: Mapped[str | None] = mapped_column(String(128))
    withdrawn_at: Mapped[datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)


class CircularSend(Base):
    """The send ledger: one row per circular and municipality, planned when the circular is
    issued. ``state``: geplant → eingereiht (in the outbox, ``outgoing_mail_id``); or
    ohne_adresse (reported with ``problem``), entfallen (circular withdrawn before it went).
    Whether it went out, failed or bounced is read from the outbox and ``bounces``."""

    __tablename__ = "circular_sends"
    __table_args__ = (UniqueConstraint("circular_id", "ags"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    circular_id: Mapped[int] = mapped_column(ForeignKey("circulars.id"), index=True)
    ags: Mapped[str] = mapped_column(String(8))
    kommune: Mapped[str] = mapped_column(Text)
    emails: Mapped[list[str]] = mapped_column(default=list)
    salutation: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(128), default="")
    state: Mapped[str] = mapped_column(String(16), default="geplant", index=True)
    problem: Mapped[str | None] = mapped_column(Text)
    outgoing_mail_id: Mapped[int | None] = mapped_column(ForeignKey("outgoing_mails.id"),
                                                         unique=True)


class BounceRow(Base):
    """A delivery failure report that arrived in the office mailbox, linked to the mail it
    reports on when that mail is in the outbox."""

    __tablename__ = "bounces"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mail_id: Mapped[int] = mapped_column(ForeignKey("mails.id"), index=True)
    outgoing_mail_id: Mapped[int | None] = mapped_column(ForeignKey("outgoing_mails.id"),
                                                         index=True)
    recipient: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    permanent: Mapped[bool]
    reason: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]


class WatcherRow(Base):
    """The heartbeat of a watcher (inbox folder or mailbox) of any worker; ``state``:
    laeuft, beendet, or gestoert (the watched place is not reachable, ``detail`` says why)."""

    __tablename__ = "watchers"
    name: Mapped[str] = mapped_column(String(512), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # ordner | postfach
    holder: Mapped[str] = mapped_column(String(256))  # host:pid of the watching process
    started_at: Mapped[datetime]
    beat_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")


class CorrespondenceRow(Base):
    """The case file's incoming correspondence: a mail or a file that is not a new
    application (a reply, a question, a release confirmation …). Filed to its case by
    ``az`` when one was recognised (``matched_by``); without one it waits for staff in the
    staff folder. ``attachments``: ``[{name, path, sha256, size}]`` as archived."""

    __tablename__ = "correspondence"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    az: Mapped[str | None] = mapped_column(String(64), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"),
                                                       index=True)
    channel: Mapped[str] = mapped_column(String(16))  # postfach | ordner
    mail_id: Mapped[int | None] = mapped_column(ForeignKey("mails.id"), unique=True)
    #: a corrected application or returned declaration that came with it
    input_id: Mapped[int | None] = mapped_column(ForeignKey("inputs.id"), index=True)
    matched_by: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text, default="")
    excerpt: Mapped[str] = mapped_column(Text, default="")  # the first lines, as plain text
    received_at: Mapped[datetime]
    raw_path: Mapped[str | None] = mapped_column(String(1024))
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16), default="neu", index=True)
    acknowledged_at: Mapped[datetime | None]
    handled_by: Mapped[str | None] = mapped_column(String(128))
    handled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FollowUpRow(Base):
    """A follow-up (Wiedervorlage): an answer the office waits for until ``due_on``. Set by
    the letter that asks for it (``letter_id``) or the declaration (``declaration_id``), or by
    staff; closed by the answer or by hand. A reminder is queued once per follow-up and due
    date through the outbox's unique key ``("erinnerung", "wiedervorlage:<id>:<due_on>")``;
    ``reminded_on`` records the due date it went for."""

    __tablename__ = "follow_ups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    az: Mapped[str] = mapped_column(String(64), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"),
                                                       index=True)
    kind: Mapped[str] = mapped_column(String(16))
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id"), unique=True)
    declaration_id: Mapped[int | None] = mapped_column(ForeignKey("declarations.id"),
                                                       unique=True)
    due_on: Mapped[str] = mapped_column(String(10), index=True)  # ISO date, Europe/Berlin
    state: Mapped[str] = mapped_column(String(16), default="offen", index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    reminded_on: Mapped[str | None] = mapped_column(String(10))
    closed_by: Mapped[str | None] = mapped_column(String(128))
    closed_at: Mapped[datetime | None]
    close_note: Mapped[str | None] = mapped_column(Text)
