"""The mail ledger in the register: which mails of a folder were looked at, their rows and
inputs, their post-action, and the delivery failure reports among them (I/O: database, in the
caller's transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from ews.core.models import InputState, MailKind, MailState
from ews.register.database import in_lists
from ews.register.schema import BounceRow, Input, MailInput, MailRow, OutgoingMail

#: a mail's place: account, folder, UIDVALIDITY, UID
MailKey = tuple[str, str, int, int]


def seen_uids(session: Session, account: str, folder: str, uidvalidity: int) -> set[int]:
    """The UIDs of the folder the ledger holds."""
    return set(session.scalars(select(MailRow.uid).where(
        MailRow.account == account, MailRow.folder == folder,
        MailRow.uidvalidity == uidvalidity)))


def in_ledger(session: Session, key: MailKey) -> bool:
    account, folder, uidvalidity, uid = key
    return session.scalars(select(MailRow.id).where(
        MailRow.account == account, MailRow.folder == folder,
        MailRow.uidvalidity == uidvalidity, MailRow.uid == uid)).first() is not None


def new_mail(key: MailKey, **fields: object) -> MailRow:
    """A ledger row, ``taken``, not yet added (its ``kind`` may still be decided)."""
    account, folder, uidvalidity, uid = key
    return MailRow(account=account, folder=folder, uidvalidity=uidvalidity, uid=uid,
                   state="taken", **fields)


def add_mail(session: Session, row: MailRow) -> MailRow:
    """Insert a ledger row (its ``id`` is set); fails on the key when another worker did."""
    session.add(row)
    session.flush()
    return row


def stage_mail(session: Session, row: MailRow) -> MailRow:
    """Add a ledger row to be inserted with the session's next flush (a batch's rows
    together), which sets its ``id`` and fails on the key when another worker recorded the
    mail first."""
    session.add(row)
    return row


class SeenMails:
    """Which of a batch's mails the account's ledger holds already (not as duplicates): by
    Message-ID, or for a mail without one, by its bytes' digest. One query for the batch,
    kept up to date as the batch's rows are added in the same transaction (``note``); a mail
    not announced is looked up on its own."""

    def __init__(self, session: Session, account: str,
                 batch: Sequence[tuple[str | None, str]]) -> None:
        self.session, self.account = session, account
        self._ids = {message_id for message_id, _digest in batch if message_id}
        self._digests = {digest for message_id, digest in batch if not message_id}
        self._held_ids = self._held(MailRow.message_id, self._ids)
        self._held_digests = self._held(MailRow.sha256, self._digests)

    def _held(self, column: InstrumentedAttribute[Any], values: set[str]) -> set[str]:
        held = set[str]()
        for listed in in_lists(sorted(values)):
            held.update(self.session.scalars(select(column).where(
                MailRow.account == self.account, MailRow.kind != MailKind.DUPLICATE,
                column.in_(listed))))
        return held

    def holds(self, message_id: str | None, sha256: str) -> bool:
        """Whether a mail (not itself a duplicate) with the same Message-ID, or without
        one, the same bytes is on file."""
        if message_id:
            if message_id not in self._ids:
                self._ids.add(message_id)
                self._held_ids |= self._held(MailRow.message_id, {message_id})
            return message_id in self._held_ids
        if sha256 not in self._digests:
            self._digests.add(sha256)
            self._held_digests |= self._held(MailRow.sha256, {sha256})
        return sha256 in self._held_digests

    def note(self, row: MailRow) -> None:
        """A row just added to the ledger in this transaction."""
        if row.account != self.account or row.kind == MailKind.DUPLICATE:
            return
        if row.message_id:
            self._held_ids.add(row.message_id)
        self._held_digests.add(row.sha256)


def link_inputs(session: Session, links: Sequence[tuple[int, int]]) -> None:
    """Record that each input (inserted already) came from its mail: (input id, mail id)."""
    session.add_all([MailInput(input_id=input_id, mail_id=mail_id)
                     for input_id, mail_id in links])


@dataclass(frozen=True)
class TakenMail:
    """A taken mail whose inputs are all done: its post-action can run."""

    mail_id: int
    uid: int
    uidvalidity: int


def ready_to_finish(session: Session, account: str, folder: str) -> list[TakenMail]:
    """The folder's taken mails whose inputs all have their outcome filed (two queries)."""
    waiting = list(session.scalars(select(MailRow).where(
        MailRow.state == MailState.TAKEN, MailRow.account == account, MailRow.folder == folder)))
    unfinished = set(session.scalars(
        select(MailInput.mail_id).join(Input, MailInput.input_id == Input.id)
        .where(MailInput.mail_id.in_([row.id for row in waiting]), Input.state != InputState.DONE)
        .distinct()))
    return [TakenMail(row.id, row.uid, row.uidvalidity) for row in waiting
            if row.id not in unfinished]


def note_post_actions(session: Session, mail_ids: Sequence[int], *, error: str | None,
                      done: bool, now: datetime) -> None:
    """The post-action's result for these mails, in one statement per thousand: ``error``
    noted (None: an earlier one stays), and the mails ``done`` or left ``taken`` for the
    next pass."""
    values: dict[str, object] = {} if error is None else {"error": error}
    if done:
        values.update(state=MailState.DONE, done_at=now)
    if not values:
        return
    for listed in in_lists(mail_ids):
        session.execute(update(MailRow).where(MailRow.id.in_(listed)).values(**values))



def reported_mail(session: Session, message_ids: Sequence[str], references: Sequence[str]
                  ) -> OutgoingMail | None:
    """The outbox mail a delivery failure report is about: by the returned original's
    Message-ID, else by a ``purpose/key`` reference; None when it is none of ours."""
    for message_id in message_ids:
        found = session.scalars(select(OutgoingMail).where(
            OutgoingMail.message_id.in_([f"<{message_id}>", message_id]))).first()
        if found is not None:
            return found
    for reference in references:
        purpose, _, key = reference.strip().partition("/")
        found = session.scalars(select(OutgoingMail).where(
            OutgoingMail.purpose == purpose, OutgoingMail.subject_key == key)).first()
        if found is not None:
            return found
    return None


def add_bounce(session: Session, *, mail_id: int, outgoing_mail_id: int | None, recipient: str,
               status: str, permanent: bool, reason: str, received_at: datetime) -> BounceRow:
    """One failed recipient of a delivery failure report."""
    row = BounceRow(mail_id=mail_id, outgoing_mail_id=outgoing_mail_id, recipient=recipient,
                    status=status, permanent=permanent, reason=reason, received_at=received_at)
    session.add(row)
    return row
