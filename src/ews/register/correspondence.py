"""The case file's incoming correspondence (table ``correspondence``) and the look-ups that
file it to its case (I/O: database, in the caller's transaction).

A piece of correspondence is recorded once: per mail (``mail_id``), or per file (its bytes
and its archived path). The case is found by one of our outgoing Message-IDs (the outbox's
``purpose``/``subject_key`` name what the mail was about) or by an Az. the register knows.
Staff mark a piece handled or assign it to a case later; both go to the events log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ews.core.models import CorrespondenceMatch, CorrespondenceState, MailKind
from ews.register.case_keys import case_of_key
from ews.register.cases import log_event
from ews.register.schema import (
    ApplicationRow,
    CorrespondenceRow,
    DeclarationRow,
    MailInput,
    MailRow,
    OutgoingMail,
)


def record(session: Session, **fields: Any) -> CorrespondenceRow:
    """Insert a piece of correspondence, or return the one already recorded for the same mail
    (``mail_id``) or, for a file, the same bytes at the same archived path (``sha256``,
    ``raw_path``). ``application_id`` is looked up from ``az`` when not given."""
    existing = _recorded(session, fields.get("mail_id"), fields.get("sha256"),
                         fields.get("raw_path"))
    if existing is not None:
        return existing
    if fields.get("az") and fields.get("application_id") is None:
        fields["application_id"] = application_id_of(session, fields["az"])
    row = CorrespondenceRow(state=CorrespondenceState.NEW.value, **fields)
    session.add(row)
    session.flush()
    return row


def _recorded(session: Session, mail_id: int | None, sha256: str | None,
              raw_path: str | None) -> CorrespondenceRow | None:
    if mail_id is not None:
        return session.scalars(select(CorrespondenceRow).where(
            CorrespondenceRow.mail_id == mail_id)).first()
    if sha256 is None:
        return None
    return session.scalars(select(CorrespondenceRow).where(
        CorrespondenceRow.mail_id.is_(None), CorrespondenceRow.sha256 == sha256,
        CorrespondenceRow.raw_path == raw_path)).first()


def of_mail(session: Session, mail_id: int) -> CorrespondenceRow | None:
    return _recorded(session, mail_id, None, None)


def by_az(session: Session, az: str) -> list[CorrespondenceRow]:
    """The correspondence filed to ``az``, in the order it was received."""
    return list(session.scalars(select(CorrespondenceRow).where(CorrespondenceRow.az == az)
                                .order_by(CorrespondenceRow.received_at,
                                          CorrespondenceRow.id)))


def unassigned(session: Session, *, only_new: bool = True) -> list[CorrespondenceRow]:
    """Correspondence without a case (``neu`` only, unless ``only_new`` is False)."""
    query = select(CorrespondenceRow).where(CorrespondenceRow.az.is_(None))
    if only_new:
        query = query.where(CorrespondenceRow.state == CorrespondenceState.NEW.value)
    return list(session.scalars(query.order_by(CorrespondenceRow.received_at,
                                               CorrespondenceRow.id)))


def all_pieces(session: Session) -> list[CorrespondenceRow]:
    """Every piece of correspondence, oldest first."""
    return list(session.scalars(select(CorrespondenceRow).order_by(
        CorrespondenceRow.received_at, CorrespondenceRow.id)))


def pieces_in_state(session: Session, state: CorrespondenceState) -> list[CorrespondenceRow]:
    """The pieces in ``state`` (e.g. ``neu``: still for staff), oldest first."""
    return list(session.scalars(select(CorrespondenceRow).where(
        CorrespondenceRow.state == state.value).order_by(CorrespondenceRow.received_at,
                                                         CorrespondenceRow.id)))


def mark_handled(session: Session, correspondence_id: int, *, actor: str, now: datetime,
                 note: str = "") -> CorrespondenceRow:
    """Staff dealt with a piece (``erledigt``), logged with who and when."""
    row = _row(session, correspondence_id)
    row.state, row.handled_by, row.handled_at = CorrespondenceState.DONE.value, actor, now
    log_event(session, actor=actor, action="schriftverkehr-erledigt",
              subject=f"Schriftverkehr {row.id}", detail={"az": row.az, "notiz": note})
    return row


def assign(session: Session, correspondence_id: int, az: str, *, actor: str,
           now: datetime) -> CorrespondenceRow:
    """Staff file a piece to the case ``az`` (LookupError when the register does not know
    the Az.), logged with who and when."""
    if not az_exists(session, az):
        raise LookupError(az)
    row = _row(session, correspondence_id)
    previous = row.az
    row.az, row.application_id = az, application_id_of(session, az)
    log_event(session, actor=actor, action="schriftverkehr-zugeordnet",
              subject=f"Schriftverkehr {row.id}",
              detail={"az": az, "vorher": previous, "am": now.isoformat()})
    return row


def link_input(session: Session, correspondence_id: int, input_id: int) -> None:
    """The corrected application (or returned declaration) that came with the piece."""
    row = _row(session, correspondence_id)
    if row.input_id is None:
        row.input_id = input_id


@dataclass(frozen=True)
class ToAcknowledge:
    """A piece of correspondence by mail that may get the neutral acknowledgment."""

    id: int
    az: str | None
    sender: str | None
    subject: str
    received_at: datetime
    message_id: str | None  # of the mail, to answer it


def awaiting_acknowledgment(session: Session, since: datetime) -> list[ToAcknowledge]:
    """Correspondence recorded after ``since`` from mails of kind ``schriftverkehr`` (not
    automatic, sender not failing DMARC) that is not acknowledged and brought no input (an
    input's mail is answered with its letters)."""
    rows = session.execute(
        select(CorrespondenceRow, MailRow.message_id)
        .join(MailRow, MailRow.id == CorrespondenceRow.mail_id)
        .where(MailRow.kind == MailKind.CORRESPONDENCE.value,
               CorrespondenceRow.acknowledged_at.is_(None),
               CorrespondenceRow.input_id.is_(None), CorrespondenceRow.created_at > since)
        .order_by(CorrespondenceRow.id)).tuples().all()
    return [ToAcknowledge(row.id, row.az, row.sender, row.subject, row.received_at, message_id)
            for row, message_id in rows]


def mark_acknowledged(session: Session, correspondence_id: int, now: datetime) -> None:
    _row(session, correspondence_id).acknowledged_at = now


def for_staff(session: Session, mail_ids: Sequence[int]) -> set[int]:
    """Those of the mails that are correspondence staff must see: all but declarations the
    intake recognised by their QR code (those are filed and answered in full)."""
    if not mail_ids:
        return set()
    return {mail_id for mail_id in session.scalars(select(CorrespondenceRow.mail_id).where(
        CorrespondenceRow.mail_id.in_(list(mail_ids)),
        CorrespondenceRow.matched_by != CorrespondenceMatch.QR.value)) if mail_id is not None}


def file_declaration_mail(session: Session, input_id: int, az: str) -> None:
    """A returned declaration (``input_id``) that came by mail: the mail is filed to ``az``
    as correspondence recognised by its QR code, or, already filed, linked to the input."""
    mail = session.scalars(select(MailRow).join(MailInput, MailInput.mail_id == MailRow.id)
                           .where(MailInput.input_id == input_id)).first()
    if mail is None:
        return
    existing = of_mail(session, mail.id)
    if existing is not None:
        link_input(session, existing.id, input_id)
        return
    record(session, az=az, channel="postfach", mail_id=mail.id,
           matched_by=CorrespondenceMatch.QR.value, sender=mail.sender, subject=mail.subject,
           received_at=mail.internaldate, raw_path=mail.raw_path, sha256=mail.sha256,
           input_id=input_id)


def piece(session: Session, correspondence_id: int) -> CorrespondenceRow | None:
    return session.get(CorrespondenceRow, correspondence_id)


def _row(session: Session, correspondence_id: int) -> CorrespondenceRow:
    row = piece(session, correspondence_id)
    if row is None:
        raise LookupError(f"correspondence {correspondence_id} is not in the register")
    return row


# --- which case --------------------------------------------------------------------------


def az_exists(session: Session, az: str) -> bool:
    """Whether ``az`` is an application's or a declaration's Az."""
    return (session.scalars(select(ApplicationRow.id).where(ApplicationRow.az == az)).first()
            is not None or session.scalars(select(DeclarationRow.id).where(
                DeclarationRow.az == az)).first() is not None)


def application_id_of(session: Session, az: str) -> int | None:
    """The application of an Az. (a declaration's Az. leads to its application, if any)."""
    found = session.scalars(select(ApplicationRow.id).where(ApplicationRow.az == az)).first()
    if found is not None:
        return found
    return session.scalars(select(DeclarationRow.application_id).where(
        DeclarationRow.az == az)).first()


def case_of_message_ids(session: Session, message_ids: Sequence[str]) -> str | None:
    """The Az. of the case the first of ``message_ids`` that is one of our outgoing mails
    was about; None when none is ours or ours was about no case."""
    for message_id in message_ids:
        bare = message_id.strip().strip("<>")
        outgoing = session.scalars(select(OutgoingMail).where(or_(
            OutgoingMail.message_id == f"<{bare}>", OutgoingMail.message_id == bare))).first()
        if outgoing is None:
            continue
        az = case_of_key(session, outgoing.subject_key)
        if az is not None:
            return az
    return None


def current_application_id(session: Session, application_id: int) -> int:
    """The application that is current in the replacement chain of ``application_id`` (a
    reply may name the Az. of an application a corrected one replaced since)."""
    seen = {application_id}
    row = session.get(ApplicationRow, application_id)
    while row is not None and row.replaced_by_id is not None and row.replaced_by_id not in seen:
        seen.add(row.replaced_by_id)
        row = session.get(ApplicationRow, row.replaced_by_id)
    return row.id if row is not None else application_id
