"""How an outgoing mail belongs to a case, and the register's correspondence as one line per
mail in or out (the XLSX sheet „Schriftverkehr“) (I/O: database read).

The outbox's ``subject_key`` names what a mail is for: ``mail:<id>`` (the answer to a mail
of the office mailbox), ``eingang:<id>`` (an input, in the first releases), ``brief:<id>``
(a notice sent as mail), ``wiedervorlage:<id>:<due date>`` (a follow-up's reminder) and
``absender:<address>:<date>`` (the acknowledgment of correspondence, one per sender and Berlin
day: it belongs to the case of the piece from that sender on that day). Circulars and probes
go to every municipality and belong to no case.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from ews.core.deadlines import BERLIN
from ews.register.schema import (
    ApplicationRow,
    CorrespondenceRow,
    DeclarationRow,
    EventRow,
    FollowUpRow,
    Input,
    LetterRow,
    MailInput,
    OutgoingMail,
)

#: purposes of mails to many municipalities at once, not to one case
NOT_CASE_PURPOSES = ("rundschreiben", "probelauf")


#: the key prefix of acknowledgments (``absender:<address>:<Berlin day>``)
ACKNOWLEDGMENT = "absender:"


def case_outgoing_and_events(session: Session, *, mails: Iterable[int], inputs: list[Input],
                             letters: Iterable[int], correspondence: list[CorrespondenceRow],
                             follow_ups: Iterable[int], azs: set[str]
                             ) -> tuple[list[OutgoingMail], list[EventRow]]:
    """A case's outgoing mails and the journal's events about it (the Akte and the deletion
    run ask the same way)."""
    candidates = session.scalars(select(OutgoingMail).where(_case_outgoing(
        mails=mails, inputs=[row.id for row in inputs], letters=letters,
        correspondence=correspondence, follow_ups=follow_ups, azs=azs)))
    outgoing = [row for row in candidates if acknowledges(row, correspondence)]
    subjects = _case_event_subjects(azs, inputs, outgoing, correspondence)
    events = session.scalars(select(EventRow).where(EventRow.subject.in_(subjects)))
    return outgoing, list(events)


def _case_outgoing(*, mails: Iterable[int], inputs: Iterable[int], letters: Iterable[int],
                   correspondence: Iterable[CorrespondenceRow], follow_ups: Iterable[int],
                   azs: Iterable[str]) -> ColumnElement[bool]:
    """Which outgoing mails may belong to a case: by exact key, by a reminder's key prefix
    (it ends with the due date), and acknowledgments of the days a piece came in (check
    those with ``acknowledges``)."""
    exact = {f"mail:{row_id}" for row_id in mails} | {f"eingang:{row_id}" for row_id in inputs}
    exact |= {f"brief:{row_id}" for row_id in letters} | set(azs)
    days = {_day(piece.received_at) for piece in correspondence}
    return or_(OutgoingMail.subject_key.in_(exact),
               *(OutgoingMail.subject_key.startswith(f"wiedervorlage:{row_id}:")
                 for row_id in follow_ups),
               *(and_(OutgoingMail.subject_key.startswith(ACKNOWLEDGMENT),
                      OutgoingMail.subject_key.endswith(f":{day}")) for day in days))


def _case_event_subjects(azs: Iterable[str], inputs: Iterable[Input],
                         outgoing: Iterable[OutgoingMail],
                         correspondence: Iterable[CorrespondenceRow]) -> set[str]:
    """The journal subjects under which a case's events are logged: its Az. (decisions,
    notices, follow-ups, holds), ``Eingang <id>`` (a stamp on a decided input), the outbox keys
    of its mails (a failure, a resend, a bounce) and ``Schriftverkehr <id>``."""
    return (set(azs) | {f"Eingang {row.id}" for row in inputs}
            | {row.subject_key for row in outgoing}
            | {f"Schriftverkehr {row.id}" for row in correspondence})


def acknowledges(mail: OutgoingMail, correspondence: Iterable[CorrespondenceRow]) -> bool:
    """Whether ``mail`` belongs with these pieces: any mail but an acknowledgment, and an
    acknowledgment sent to one of their senders for the day it came in."""
    if not mail.subject_key.startswith(ACKNOWLEDGMENT):
        return True
    return any(_sender_day(piece) in _recipient_days(mail) for piece in correspondence)


def _sender_day(piece: CorrespondenceRow) -> tuple[str, str]:
    return parseaddr(piece.sender or "")[1].lower(), _day(piece.received_at)


def _recipient_days(mail: OutgoingMail) -> set[tuple[str, str]]:
    day = mail.subject_key.rsplit(":", 1)[-1]
    return {(parseaddr(recipient)[1].lower(), day) for recipient in mail.recipients}


def _day(moment: datetime) -> str:
    return f"{moment.astimezone(BERLIN):%Y-%m-%d}"


@dataclass(frozen=True)
class MailLine:
    """One mail in (a correspondence item) or out (an outgoing mail) of a case.
    ``direction``: Eingang or Ausgang; ``eml_path`` is the outgoing mail's file, whose
    subject the register does not keep."""

    az: str | None
    kommune: str | None
    at: datetime
    direction: str
    party: str
    subject: str
    matched_by: str
    state: str
    eml_path: str | None = None
    purpose: str | None = None


def mail_lines(session: Session) -> list[MailLine]:
    """Every correspondence item and every outgoing mail of a case, by Az. and time. Eight
    queries, however many mails."""
    kommunen = dict(session.execute(select(ApplicationRow.az, ApplicationRow.kommune_name))
                    .tuples().all())
    kommunen.update(session.execute(select(DeclarationRow.az, DeclarationRow.kommune_name))
                    .tuples().all())
    correspondence = list(session.scalars(select(CorrespondenceRow)))
    lines = [MailLine(row.az, kommunen.get(row.az or ""), row.received_at, "Eingang",
                      row.sender or "", row.subject, row.matched_by, row.state)
             for row in correspondence]
    outgoing = list(session.scalars(select(OutgoingMail).where(
        OutgoingMail.purpose.not_in(NOT_CASE_PURPOSES))))
    case_of = _case_of_keys(session, [row.subject_key for row in outgoing], correspondence,
                            set(kommunen))
    by_sender_day: dict[tuple[str, str], str | None] = {
        _sender_day(piece): piece.az for piece in correspondence if piece.az}
    for row in outgoing:
        az = (_acknowledged_case(row, by_sender_day)
              if row.subject_key.startswith(ACKNOWLEDGMENT) else case_of.get(row.subject_key))
        if az is not None:
            lines.append(MailLine(az, kommunen.get(az), row.sent_at or row.created_at,
                                  "Ausgang", ", ".join(row.recipients), "", "", row.state,
                                  row.eml_path or None, row.purpose))
    return sorted(lines, key=lambda line: (line.az or "", line.at))


def case_of_key(session: Session, subject_key: str) -> str | None:
    """The Az. of the case one outbox key names (``mail:``, ``eingang:``, ``brief:``,
    ``wiedervorlage:`` or an Az. itself); None for an acknowledgment, a circular, a probe or
    a key of no case."""
    azs: set[str] = set()
    if ":" not in subject_key:  # an Az. itself (the other keys are "<kind>:<id>…")
        azs |= set(session.scalars(select(ApplicationRow.az)
                                   .where(ApplicationRow.az == subject_key)))
        azs |= set(session.scalars(select(DeclarationRow.az)
                                   .where(DeclarationRow.az == subject_key)))
    return _case_of_keys(session, [subject_key], [], azs).get(subject_key)


def _acknowledged_case(mail: OutgoingMail, by_sender_day: dict[tuple[str, str], str | None]
                       ) -> str | None:
    return next((by_sender_day[pair] for pair in _recipient_days(mail)
                 if pair in by_sender_day), None)


def _case_of_keys(session: Session, keys: list[str], correspondence: list[CorrespondenceRow],
                  azs: set[str]) -> dict[str, str]:
    """The Az. each subject key belongs to, for those that belong to a case."""
    ids: dict[str, set[int]] = {}
    for key in keys:
        prefix, _, rest = key.partition(":")
        number = rest.split(":", 1)[0]
        if number.isdigit():
            ids.setdefault(prefix, set()).add(int(number))
    found: dict[str, str] = {key: key for key in keys if key in azs}
    by_mail: dict[int, str | None] = {row.mail_id: row.az for row in correspondence
                                       if row.mail_id and row.az}
    by_mail.update(_az_by_mail(session, ids.get("mail", set())))
    by_letter = _az_by_id(session, LetterRow.id, LetterRow.reference, ids.get("brief"))
    by_follow_up = _az_by_id(session, FollowUpRow.id, FollowUpRow.az, ids.get("wiedervorlage"))
    tables: dict[str, dict[int, str | None]] = {
        "mail": by_mail, "eingang": _az_by_input(session, ids.get("eingang", set())),
        "brief": by_letter, "wiedervorlage": by_follow_up}
    for key in keys:
        prefix, _, rest = key.partition(":")
        number = rest.split(":", 1)[0]
        if prefix in tables and number.isdigit():
            az = tables[prefix].get(int(number))
            if az:
                found[key] = az
    return found


def _az_by_id(session: Session, key: Any, az: Any, ids: set[int] | None
              ) -> dict[int, str | None]:
    if not ids:
        return {}
    return dict(session.execute(select(key, az).where(key.in_(ids))).tuples().all())


def _az_by_mail(session: Session, mail_ids: set[int]) -> dict[int, str | None]:
    return _first_az(session, select(MailInput.mail_id, ApplicationRow.az, DeclarationRow.az)
                     .join(Input, Input.id == MailInput.input_id), MailInput.mail_id, mail_ids)


def _az_by_input(session: Session, input_ids: set[int]) -> dict[int, str | None]:
    return _first_az(session, select(Input.id, ApplicationRow.az, DeclarationRow.az), Input.id,
                     input_ids)


def _first_az(session: Session, query: Select[Any], key: Any,
              ids: set[int]) -> dict[int, str | None]:
    """The Az. of each ``key`` through its inputs: a returned declaration belongs to the
    declaration, else the input's application; the first input with one wins."""
    if not ids:
        return {}
    query = (query.join(ApplicationRow, _application_of_input(), isouter=True)
             .join(DeclarationRow, DeclarationRow.id == Input.declaration_id, isouter=True)
             .where(key.in_(ids)).order_by(Input.id))
    found: dict[int, str | None] = {}
    for key_id, application_az, declaration_az in session.execute(query).tuples():
        if found.get(key_id) is None:
            found[key_id] = declaration_az or application_az
    return found


def _application_of_input() -> ColumnElement[bool]:
    """An input's application: the one it was decided into, or the one made from it (an
    input still being decided has no ``application_id`` yet)."""
    return or_(ApplicationRow.id == Input.application_id, ApplicationRow.input_id == Input.id)
