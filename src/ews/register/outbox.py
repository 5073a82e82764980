"""The outbox ledger (``outgoing_mails``) and what answering a mail needs (I/O: database).

The only place that reads or writes the ledger. Plain data goes in and comes out; the rules
(who is answered, when a mail is retried) live in ``ews.outbox``. Functions that take a
``Session`` work in the caller's transaction, opened with ``transaction``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, exists, literal, select
from sqlalchemy.orm import Session

from ews.core.models import InputState, OutboxState
from ews.register.cases import letters_by_input, log_event
from ews.register.schema import (
    ApplicationRow,
    DeclarationRow,
    Input,
    MailInput,
    MailRow,
    OutgoingMail,
)

ACTOR = "postausgang"


# --- what an answer needs -------------------------------------------------------------------


@dataclass(frozen=True)
class LetterFile:
    """A letter of an input: its kind, state and file (the PDF, else the .docx)."""

    kind: str
    state: str
    location: str


@dataclass(frozen=True)
class ApplicationFacts:
    """What an answer says about an application, and the form's fields (team addresses)."""

    az: str
    ags: str
    kommune_name: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class AnswerInput:
    """One input of a mail to answer, with its application, returned declaration and letters."""

    id: int
    outcome: str | None
    reasons: tuple[str, ...]
    claim_path: str
    received_at: datetime
    kommune_name: str | None
    application: ApplicationFacts | None
    declaration_az: str | None
    letters: tuple[LetterFile, ...]


@dataclass(frozen=True)
class MailToAnswer:
    """A mail whose inputs are all done and which has no answer yet (nor a withheld one)."""

    id: int
    kind: str
    sender: str | None
    message_id: str | None
    internaldate: datetime
    reasons: tuple[str, ...]
    inputs: tuple[AnswerInput, ...]


def mails_to_answer(session: Session, kinds: tuple[str, ...], purpose: str
                    ) -> list[MailToAnswer]:
    """Mails of these kinds without an answer (``purpose``) whose inputs are all done, with
    those inputs; inputs answered one by one before answers were per mail are left out.
    Four queries, however many mails."""
    mail_key = literal("mail:") + cast(MailRow.id, String)
    input_key = literal("eingang:") + cast(Input.id, String)
    answered = (OutgoingMail.purpose == purpose)
    rows = session.execute(
        select(MailRow, Input).join(MailInput, MailInput.mail_id == MailRow.id)
        .join(Input, Input.id == MailInput.input_id)
        .where(MailRow.kind.in_(kinds),
               ~exists().where(answered, OutgoingMail.subject_key == mail_key),
               ~exists().where(answered, OutgoingMail.subject_key == input_key))
        .order_by(MailRow.id, Input.id)).tuples().all()
    grouped: dict[int, tuple[MailRow, list[Input]]] = {}
    for mail, item in rows:
        grouped.setdefault(mail.id, (mail, []))[1].append(item)
    done = [(mail, items) for mail, items in grouped.values()
            if all(item.state == InputState.DONE for item in items)]
    inputs = _answer_inputs(session, [item for _mail, items in done for item in items])
    return [MailToAnswer(id=mail.id, kind=mail.kind, sender=mail.sender,
                         message_id=mail.message_id, internaldate=mail.internaldate,
                         reasons=tuple(mail.reasons),
                         inputs=tuple(inputs[item.id] for item in items))
            for mail, items in done]


def _answer_inputs(session: Session, items: list[Input]) -> dict[int, AnswerInput]:
    """The inputs with their applications, declarations and letters, in three queries."""
    ids = [item.id for item in items]
    letters = letters_by_input(session, ids)
    applications = _by_id(session, ApplicationRow, {item.application_id for item in items})
    declarations = _by_id(session, DeclarationRow, {item.declaration_id for item in items})
    answer_inputs = {}
    for item in items:
        application = applications.get(item.application_id)
        declaration = declarations.get(item.declaration_id)
        answer_inputs[item.id] = AnswerInput(
            id=item.id, outcome=item.outcome, reasons=tuple(item.reasons),
            claim_path=item.claim_path, received_at=item.received_at,
            kommune_name=item.kommune_name,
            application=None if application is None else ApplicationFacts(
                az=application.az, ags=application.ags,
                kommune_name=application.kommune_name, fields=dict(application.fields)),
            declaration_az=None if declaration is None else declaration.az,
            letters=tuple(LetterFile(kind=letter.kind, state=letter.state,
                                     location=letter.pdf_path or letter.docx_path)
                          for letter in letters[item.id]))
    return answer_inputs


def _by_id(session: Session, table: type[Any], ids: set[int | None]) -> dict[int | None, Any]:
    wanted = [row_id for row_id in ids if row_id is not None]
    if not wanted:
        return {}
    return {row.id: row for row in session.scalars(select(table).where(table.id.in_(wanted)))}


def recipients_since(session: Session, purpose: str, since: datetime, until: datetime,
                     excluded_state: str) -> list[list[str]]:
    """The recipient lists of the mails of ``purpose`` created in ``(since, until]``, except
    those in ``excluded_state``."""
    return [list(recipients) for recipients in session.scalars(
        select(OutgoingMail.recipients).where(
            OutgoingMail.purpose == purpose, OutgoingMail.state != excluded_state,
            OutgoingMail.created_at > since, OutgoingMail.created_at <= until))]


# --- the ledger ------------------------------------------------------------------------------


def record_withheld(session: Session, *, purpose: str, key: str, state: str,
                    recipients: list[str], reason: str, now: datetime) -> None:
    """One row saying the mail for ``key`` is not sent, and why (so it is decided once), and
    the event in the journal."""
    session.add(OutgoingMail(purpose=purpose, subject_key=key, message_id=f"{state}:{key}",
                             recipients=recipients, eml_path="", state=state, attempts=0,
                             next_attempt_at=now, last_error=reason[:2000], refused={},
                             created_at=now))
    log_event(session, actor=ACTOR, action="antwort-zurueckgehalten", subject=key,
              detail={"grund": reason, "empfaenger": recipients})


def has_key(session: Session, purpose: str, key: str) -> bool:
    """Whether the outbox holds a mail (or a withheld one) for ``purpose`` and ``key``."""
    return session.scalars(select(OutgoingMail.id).where(
        OutgoingMail.purpose == purpose, OutgoingMail.subject_key == key)).first() is not None


def add_queued(session: Session, *, purpose: str, key: str, message_id: str,
               recipients: list[str], now: datetime) -> int:
    """A new ``queued`` row (its file is recorded with ``set_file``); its id."""
    row = OutgoingMail(purpose=purpose, subject_key=key, message_id=message_id,
                       recipients=recipients, eml_path="", state="queued", attempts=0,
                       next_attempt_at=now, refused={}, created_at=now)
    session.add(row)
    session.flush()
    return row.id


def set_file(session: Session, mail_id: int, eml_path: str) -> None:
    _outgoing(session, mail_id).eml_path = eml_path


@dataclass(frozen=True)
class DueMail:
    id: int
    state: str
    message_id: str


def due_mails(session: Session, now: datetime) -> list[DueMail]:
    """Mails left ``sending`` (by a crash) and ``queued`` ones whose time has come, in order."""
    return [DueMail(row.id, row.state, row.message_id) for row in session.scalars(
        select(OutgoingMail).where(
            (OutgoingMail.state == OutboxState.SENDING)
            | ((OutgoingMail.state == OutboxState.QUEUED) & (OutgoingMail.next_attempt_at <= now)))
        .order_by(OutgoingMail.id))]


@dataclass(frozen=True)
class Sending:
    """A mail just marked ``sending``: to whom, its attempt number, its file."""

    recipients: list[str]
    attempts: int
    eml_path: str


def mark_sending(session: Session, mail_id: int) -> Sending:
    row = _outgoing(session, mail_id)
    row.state, row.attempts = OutboxState.SENDING, row.attempts + 1
    return Sending(list(row.recipients), row.attempts, row.eml_path)


def requeue(session: Session, mail_id: int, next_attempt_at: datetime, error: str) -> None:
    row = _outgoing(session, mail_id)
    row.state, row.next_attempt_at = OutboxState.QUEUED, next_attempt_at
    row.last_error = error[:2000]


def requeue_failed(session: Session, mail_id: int, now: datetime) -> str | None:
    """Put a failed mail back in the queue, due ``now``; its outbox key, or None when there is
    no such mail or it did not fail."""
    row = session.get(OutgoingMail, mail_id)
    if row is None or row.state != OutboxState.FAILED:
        return None
    requeue(session, mail_id, now, row.last_error or "")  # the last reason stays shown
    return row.subject_key


def mark_failed(session: Session, mail_id: int, error: str) -> None:
    """``failed`` with the reason, and the event in the journal."""
    row = _outgoing(session, mail_id)
    row.state, row.last_error = OutboxState.FAILED, error[:2000]
    log_event(session, actor=ACTOR, action="mail-fehlgeschlagen", subject=row.subject_key,
              detail={"grund": row.last_error, "empfaenger": row.recipients})


def mark_sent(session: Session, mail_id: int, now: datetime, *, copied: bool,
              refused: dict[str, str], error: str | None) -> None:
    """``sent`` at ``now``; ``refused`` recipients and their ``error`` noted if any."""
    row = _outgoing(session, mail_id)
    row.state, row.sent_at, row.copied_to_sent = OutboxState.SENT, now, copied
    row.refused = refused
    if error is not None:
        row.last_error = error


@dataclass(frozen=True)
class LedgerEntry:
    """One outgoing mail as staff see it (``ews postausgang``)."""

    id: int
    purpose: str
    subject_key: str
    recipients: list[str]
    state: str
    attempts: int
    last_error: str | None
    sent_at: datetime | None


def ledger(session: Session) -> list[LedgerEntry]:
    return [LedgerEntry(row.id, row.purpose, row.subject_key, list(row.recipients), row.state,
                        row.attempts, row.last_error, row.sent_at)
            for row in session.scalars(select(OutgoingMail).order_by(OutgoingMail.id))]


def _outgoing(session: Session, mail_id: int) -> OutgoingMail:
    row = session.get(OutgoingMail, mail_id)
    if row is None:
        raise LookupError(f"outgoing mail {mail_id} is not in the register")
    return row
