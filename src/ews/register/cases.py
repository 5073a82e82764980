"""The application register and the input journal (adapter: database via SQLAlchemy).

Holds no business rules: the pipeline decides, this module records. Numbers are issued inside
the caller's transaction, so an Aktenzeichen exists exactly when its application does.

Longer than 300 lines because the Az. counter, the applications and the event log are
written in the same transactions and share their locks; split, the order of those writes would
be spread over modules.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ews.core.models import (
    ApplicationStatus,
    FollowUpKind,
    FollowUpState,
    InputState,
    LetterState,
    Outcome,
)
from ews.core.references import normalised_az
from ews.core.replacement import Receipt, replaces
from ews.register.database import in_lists
from ews.register.schema import (
    ApplicationRow,
    DeclarationRow,
    EventRow,
    FollowUpRow,
    Input,
    LetterRow,
    MailAttempt,
    Sighting,
)
from ews.runtime.settings import AzSettings

_DECISION_LOCK = 0x455753  # "EWS": serialises decisions across workers on PostgreSQL


def lock_decisions(session: Session) -> None:
    """Serialise decision transactions (SQLite already does with BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _DECISION_LOCK})


def sighting(session: Session, path: str, size: int, mtime_ns: int, now: datetime) -> Sighting:
    """Record a sighting of an inbox file; the first one keeps its time."""
    return record_sightings(session, [(path, size, mtime_ns)], now)[path]


def record_sightings(session: Session, files: list[tuple[str, int, int]], now: datetime
                     ) -> dict[str, Sighting]:
    """Record sightings of many files (path, size, mtime_ns) with one query; by path. The
    first sighting of a file keeps its time."""
    paths = [path for path, _, _ in files]
    known = {row.path: row for row in session.scalars(select(Sighting)
                                                      .where(Sighting.path.in_(paths)))}
    for path, size, mtime_ns in files:
        if path not in known:
            known[path] = Sighting(path=path, size=size, mtime_ns=mtime_ns, first_seen_at=now)
            session.add(known[path])
    return known


def forget_sighting(session: Session, sighting: Sighting) -> None:
    """Drop a sighting once its file is claimed (also one added in this session)."""
    if sighting in session.new:
        session.expunge(sighting)
    else:
        session.delete(sighting)


STAMP = "eingangsstempel"  # the event of a paper receipt stamp


def file_stamp_events(session: Session, path: str, input_id: int) -> None:
    """The stamp events of an inbox file, once it is an input. Logged under the file's path
    (it had no number yet), they now name the input, ``Eingang <id>``, as a stamp on a
    decided input does, and keep the path in their detail: so the Akte shows them, and the
    deletion run finds them with the case and clears the path, which may hold a name."""
    for event in session.scalars(select(EventRow).where(EventRow.action == STAMP,
                                                        EventRow.subject == path)):
        event.subject, event.detail = f"Eingang {input_id}", {**event.detail, "datei": path}


def open_input(session: Session, *, claim_path: str, source_name: str, sha256: str, size: int,
               received_at: datetime, stamped_at: datetime | None = None,
               channel: str = "ordner") -> Input:
    """Record a claimed file; its ``id`` is set when the session flushes (inputs opened
    together are inserted together)."""
    row = Input(claim_path=claim_path, source_name=source_name, sha256=sha256, size=size,
                received_at=received_at, stamped_at=stamped_at, channel=channel,
                state="claimed", reasons=[])
    session.add(row)
    return row


def input_by_reference(session: Session, reference: str) -> Input | None:
    """An input by its Eingangsnummer or by the Az. of its application."""
    if reference.strip().isdigit():
        return session.get(Input, int(reference))
    app = application_by_az(session, reference.strip())
    return None if app is None else session.get(Input, app.input_id)


def input_by_claim(session: Session, claim_path: str) -> Input | None:
    return session.scalars(select(Input).where(Input.claim_path == claim_path)).first()


def claims_on_file(session: Session, claim_paths: Iterable[str]) -> set[str]:
    """Those of ``claim_paths`` that an input holds: one query per thousand (a pass looks
    at every file in the work folder, hundreds while other passes work a batch)."""
    held = set[str]()
    for listed in in_lists(claim_paths):
        held.update(session.scalars(select(Input.claim_path).where(Input.claim_path.in_(listed))))
    return held


def unfinished_inputs(session: Session) -> list[Input]:
    return list(session.scalars(select(Input).where(Input.state != InputState.DONE).order_by(
        Input.id)))


ON_FILE = (Outcome.REGISTERED.value, Outcome.LATE.value, Outcome.DUPLICATE.value,
           Outcome.DECLARATION.value)  # outcomes whose bytes count as on file


@dataclass
class DecisionBasis:
    """What deciding many inputs in one transaction needs to know of the register, loaded in
    three queries: the inputs on file with the same bytes, the current application of each
    municipality concerned, and which of them have an open correction follow-up. The
    decisions keep it up to date (``note_decided``, ``add_application``,
    ``corrections_open``), so that each of them needs no query of its own."""

    round_name: str
    on_file: dict[str, list[Input]]  # by sha256, in id order
    current: dict[str, ApplicationRow]  # by ags, in round ``round_name``
    #: the municipalities (ags) with an open correction follow-up, in any round: only a new
    #: application of one of them may close one (``follow_ups.close_corrections``)
    corrections_open: set[str]

    def twin(self, row: Input) -> Input | None:
        """The earliest other input with the same bytes that led to an application, a
        duplicate or a declaration."""
        return next((twin for twin in self.on_file.get(row.sha256, ()) if twin.id != row.id),
                    None)

    def note_decided(self, row: Input) -> None:
        if row.outcome in ON_FILE:
            twins = self.on_file.setdefault(row.sha256, [])
            if row not in twins:
                bisect.insort(twins, row, key=lambda twin: twin.id)


def decision_basis(session: Session, sha256s: set[str], round_name: str, ags: set[str]
                   ) -> DecisionBasis:
    """The basis for deciding inputs with these contents and municipalities (call it once
    the transaction holds ``lock_decisions``)."""
    on_file: dict[str, list[Input]] = {}
    if sha256s:
        query = (select(Input).where(Input.sha256.in_(sha256s), Input.outcome.in_(ON_FILE))
                 .order_by(Input.id))
        for twin in session.scalars(query):
            on_file.setdefault(twin.sha256, []).append(twin)
    current: dict[str, ApplicationRow] = {}
    if ags:
        current_query = select(ApplicationRow).where(
            ApplicationRow.round_name == round_name, ApplicationRow.ags.in_(ags),
            ApplicationRow.status != ApplicationStatus.REPLACED.value)
        if session.get_bind().dialect.name == "postgresql":
            current_query = current_query.with_for_update()
        current = {app.ags: app for app in session.scalars(current_query)}
    return DecisionBasis(round_name, on_file, current, _corrections_open(session, ags))


def _corrections_open(session: Session, ags: set[str]) -> set[str]:
    """The municipalities among ``ags`` with an open correction follow-up (its
    Mängelschreiben's input names the municipality, as ``close_corrections`` looks it up)."""
    if not ags:
        return set()
    query = (select(Input.ags).distinct()
             .join(LetterRow, LetterRow.input_id == Input.id)
             .join(FollowUpRow, FollowUpRow.letter_id == LetterRow.id)
             .where(FollowUpRow.kind == FollowUpKind.CORRECTION.value,
                    FollowUpRow.state == FollowUpState.OPEN.value, Input.ags.in_(ags)))
    return {found for found in session.scalars(query) if found is not None}


# one statement for SQLite (≥ 3.35) and PostgreSQL; as text it stays in the statement cache
_NEXT_SERIAL = text(
    "INSERT INTO az_counters (year, last_serial) VALUES (:year, 1) "
    "ON CONFLICT (year) DO UPDATE SET last_serial = az_counters.last_serial + 1 "
    "RETURNING last_serial")


_RESERVE_SERIALS = text(
    "INSERT INTO az_counters (year, last_serial) VALUES (:year, :count) "
    "ON CONFLICT (year) DO UPDATE SET last_serial = az_counters.last_serial + :count "
    "RETURNING last_serial")
_GIVE_BACK_SERIALS = text("UPDATE az_counters SET last_serial = :last WHERE year = :year")
_RESERVED = "ews.az_reserved"  # the key of the reserved serials in ``Session.info``


@dataclass
class _Reserved:
    """Serials of one year reserved in this transaction: ``next`` up to ``last``."""

    next: int
    last: int


@contextmanager
def reserved_az(session: Session, counts: dict[int, int]) -> Iterator[None]:
    """Reserve up to ``counts[year]`` serials of each year with one statement a year, for the
    ``issue_az`` calls of the block (a chunk's decisions: not one round trip each). Leaving
    it, the counter gives back what was not issued: the counter's row stays locked by this
    transaction from the reservation on, and every serial of the transaction comes from the
    reservation first, so nobody took one after it and the serials stay gap-free. On an
    error the transaction is rolled back, the reservation with it."""
    reserved: dict[int, _Reserved] = session.info.setdefault(_RESERVED, {})
    assert not reserved, "reservations do not nest"
    for year, count in counts.items():
        if count > 0:
            last = int(session.execute(_RESERVE_SERIALS, {"year": year, "count": count})
                       .scalar_one())
            reserved[year] = _Reserved(last - count + 1, last)
    try:
        yield
        for year, left in reserved.items():
            if left.next <= left.last:
                session.execute(_GIVE_BACK_SERIALS, {"year": year, "last": left.next - 1})
    finally:
        reserved.clear()


def issue_az(session: Session, year: int, scheme: AzSettings) -> tuple[str, int]:
    """Next Aktenzeichen of ``year`` (gap-free: the counter moves in the caller's transaction),
    from the serials ``reserved_az`` holds for the year, if any are left."""
    left = session.info.get(_RESERVED, {}).get(year)
    if left is not None and left.next <= left.last:
        serial, left.next = left.next, left.next + 1
    else:
        serial = int(session.execute(_NEXT_SERIAL, {"year": year}).scalar_one())
    return normalised_az(serial, year, scheme.file_plan_key, scheme.serial_digits), serial


def add_application(session: Session, row: ApplicationRow, basis: DecisionBasis | None = None
                    ) -> tuple[ApplicationRow, ApplicationRow | None]:
    """Insert ``row``; an older current application of the municipality becomes ``replaced``
    (and is returned beside ``row``);
    a row older than the current one is filed as ``replaced`` right away. Older means received
    earlier, or at the same time but claimed earlier (``ews.core.replacement.replaces``).
    The current application is taken from ``basis`` (and kept there), else from a query."""
    if basis is None:
        basis = decision_basis(session, set(), row.round_name, {row.ags})
    assert basis.round_name == row.round_name, "a basis holds one round"
    current = basis.current.get(row.ags)
    if current is not None and not replaces(Receipt(row.received_at, row.input_id),
                                            Receipt(current.received_at, current.input_id)):
        row.status = ApplicationStatus.REPLACED.value
        row.replaced_by_id = current.id
    elif current is not None:
        current.status = ApplicationStatus.REPLACED.value
        session.flush()  # free the one-current-application index before the insert
    session.add(row)
    if row.id is None or current is not None:
        session.flush()  # the id; a replacement's rows in their order (the index, the keys)
    if row.status != ApplicationStatus.REPLACED.value:
        basis.current[row.ags] = row
    if current is not None and current.status == ApplicationStatus.REPLACED.value:
        current.replaced_by_id = row.id
        return row, current
    return row, None


def reserve_application_ids(session: Session, count: int) -> list[int]:
    """``count`` ids for applications this transaction adds, with one statement: an
    application given one is inserted with the next flush instead of one of its own
    (PostgreSQL: from the table's sequence; SQLite: after the highest id, which the
    transaction's write lock keeps for it). Ids left unused are gaps in no number anyone
    reads (the Az. is the application's number)."""
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return [int(value) for value in session.scalars(_NEXT_APPLICATION_IDS, {"n": count})]
    first = int(session.scalar(select(func.coalesce(func.max(ApplicationRow.id), 0))) or 0) + 1
    return list(range(first, first + count))


_NEXT_APPLICATION_IDS = text("SELECT nextval(pg_get_serial_sequence('applications', 'id')) "
                             "FROM generate_series(1, :n)")


def application_of(session: Session, application_id: int | None) -> ApplicationRow | None:
    return None if application_id is None else session.get(ApplicationRow, application_id)


def replaced_by(session: Session, application_id: int) -> ApplicationRow | None:
    """The application that ``application_id`` replaced, if any."""
    query = select(ApplicationRow).where(ApplicationRow.replaced_by_id == application_id)
    return session.scalars(query).first()


def plan_letter(session: Session, *, input_id: int, application_id: int | None, kind: str,
                reference: str, docx_path: str, data: dict[str, Any]) -> LetterRow:
    row = LetterRow(input_id=input_id, application_id=application_id, kind=kind,
                    reference=reference, docx_path=docx_path, data=data, state="planned")
    session.add(row)
    return row


def letters_of(session: Session, input_id: int) -> list[LetterRow]:
    return list(session.scalars(select(LetterRow).where(LetterRow.input_id == input_id)
                                .order_by(LetterRow.id)))


@dataclass
class Loaded:
    """Inputs loaded in bulk. Holding it keeps the rows in the session's identity map (a weak
    map), so that ``session.get`` on them needs no query."""

    inputs: dict[int, Input]
    applications: list[ApplicationRow]
    letters: dict[int, list[LetterRow]]


def load_inputs(session: Session, input_ids: list[int]) -> Loaded:
    """Load inputs, their applications and their letters in three queries."""
    inputs = {row.id: row for row in session.scalars(select(Input)
                                                     .where(Input.id.in_(input_ids)))}
    application_ids = {row.application_id for row in inputs.values()
                       if row.application_id is not None}
    applications = list(session.scalars(select(ApplicationRow)
                                        .where(ApplicationRow.id.in_(application_ids))))
    return Loaded(inputs, applications, letters_by_input(session, input_ids))


def letters_by_input(session: Session, input_ids: list[int]) -> dict[int, list[LetterRow]]:
    """The letters of these inputs in one query (every id is a key, maybe with no letter)."""
    letters: dict[int, list[LetterRow]] = {input_id: [] for input_id in input_ids}
    for letter in session.scalars(select(LetterRow).where(LetterRow.input_id.in_(input_ids))
                                  .order_by(LetterRow.id)):
        letters[letter.input_id].append(letter)
    return letters


def letters_waiting_for_pdf(session: Session) -> list[LetterRow]:
    return list(session.scalars(select(LetterRow).where(LetterRow.state == LetterState.RENDERED)
                                .order_by(LetterRow.id)))


def log_event(session: Session, *, actor: str, action: str, subject: str,
              detail: dict[str, Any]) -> None:
    session.add(EventRow(actor=actor, action=action, subject=subject, detail=detail))


def journal_rows(session: Session) -> list[tuple[Input, ApplicationRow | None, str | None]]:
    """Every input with its application and, for a returned declaration, its Az."""
    query = (select(Input, ApplicationRow, DeclarationRow.az)
             .join(ApplicationRow, ApplicationRow.id == Input.application_id, isouter=True)
             .join(DeclarationRow, DeclarationRow.id == Input.declaration_id, isouter=True)
             .order_by(Input.id))
    return [(i, a, d) for i, a, d in session.execute(query).tuples()]


def application_rows(session: Session) -> list[ApplicationRow]:
    return list(session.scalars(select(ApplicationRow).order_by(ApplicationRow.az_year,
                                                                ApplicationRow.az_serial)))


def application_by_az(session: Session, az: str) -> ApplicationRow | None:
    return session.scalars(select(ApplicationRow).where(ApplicationRow.az == az)).first()


def letters_of_application(session: Session, application_id: int) -> list[LetterRow]:
    return list(session.scalars(select(LetterRow)
                                .where(LetterRow.application_id == application_id)
                                .order_by(LetterRow.id)))


def input_states(session: Session, input_ids: list[int]) -> dict[int, tuple[str, str]]:
    """State and claim path of these inputs, by id (one query)."""
    query = select(Input.id, Input.state, Input.claim_path).where(Input.id.in_(input_ids))
    return {row_id: (state, path) for row_id, state, path in session.execute(query).tuples()}


def known_claims(session: Session, claim_paths: list[str]) -> int:
    """How many of these claimed files have an input (one query)."""
    if not claim_paths:
        return 0
    query = select(func.count()).select_from(Input).where(Input.claim_path.in_(claim_paths))
    return int(session.execute(query).scalar_one())


def note_failure(session: Session, input_id: int, reason: str) -> int:
    """Count a failed attempt at handling an input, with its German reason; returns the
    attempts so far."""
    row = session.get(Input, input_id)
    if row is None:
        raise LookupError(f"input {input_id} is not in the register")
    row.attempts = (row.attempts or 0) + 1
    row.last_error = reason
    return row.attempts


def failed_attempts(session: Session, input_ids: list[int]) -> dict[int, tuple[int, str]]:
    """Attempts and last failure of those of these inputs that failed before (one query)."""
    query = select(Input.id, Input.attempts, Input.last_error).where(
        Input.id.in_(input_ids), Input.attempts > 0)
    return {row_id: (attempts, error or "") for row_id, attempts, error
            in session.execute(query).tuples()}


def note_mail_failure(session: Session, key: tuple[str, str, int, int], reason: str,
                      now: datetime) -> int:
    """Count a failed preparation of the mail ``(account, folder, uidvalidity, uid)``; returns
    the attempts so far."""
    account, folder, uidvalidity, uid = key
    row = session.scalars(select(MailAttempt).where(
        MailAttempt.account == account, MailAttempt.folder == folder,
        MailAttempt.uidvalidity == uidvalidity, MailAttempt.uid == uid)).first()
    if row is None:
        row = MailAttempt(account=account, folder=folder, uidvalidity=uidvalidity, uid=uid,
                          attempts=0, last_error="", updated_at=now)
        session.add(row)
    row.attempts += 1
    row.last_error, row.updated_at = reason, now
    return row.attempts
