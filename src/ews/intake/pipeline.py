"""One input → one outcome. The only place that turns a rejection into an outcome.

``process_input`` is a resumable state machine over the register: an input is read and
decided (claimed → decided, one transaction that issues the Az. and plans the letters), its
letters are rendered, and the original is archived or quarantined (decided → done). A crash at
any point followed by a rerun continues from the committed state: no second Az., no second
letter, no file lost. I/O: database, files, letter rendering.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from ews.core.deadlines import BERLIN, Deadline
from ews.core.errors import DocumentRejected, EwsError
from ews.core.forms import assess_fields, summary_of
from ews.core.models import ApplicationStatus, Assessment, LetterKind, Outcome
from ews.core.names import STORED_NAME_MAX_BYTES
from ews.core.wording import duplicate_of, late_receipt
from ews.documents.pdf import read_form
from ews.intake.failures import failure_reason, is_infrastructure
from ews.letters.render import LetterData, check_templates
from ews.network import declarations as network
from ews.outbox.letters import PlannedLetter, letter_path, planned_letters, render_planned
from ews.register import cases as register
from ews.register.database import session_factory
from ews.register.schema import ApplicationRow, DeclarationRow, Input, LetterRow
from ews.runtime import folders, storage
from ews.runtime.settings import Settings


class InputResult(BaseModel):
    """What became of one input, for progress output and artifacts."""

    input_id: int
    source_name: str
    outcome: Outcome
    az: str | None
    kommune_name: str | None
    reasons: list[str]
    letters: list[str]
    stored_path: str | None


def preload() -> None:
    """A worker job that does nothing: unpickling it imports this module, and with it the
    readers and the letters (``workers.warm_up``)."""


def deadline_of(settings: Settings) -> Deadline:
    round_ = settings.round
    return Deadline(round_.deadline, round_.extended_until, round_.deadline_fixed)


def too_large_reason(limit_mb: int) -> str:
    return f"Die Datei ist größer als {limit_mb} MB und wird nicht verarbeitet."


def assess_document(data: bytes, settings: Settings) -> Assessment:
    """Read and validate one document; a rejected document becomes reasons, never an error."""
    limit = settings.intake.max_file_mb
    if len(data) > limit * 1024 * 1024:
        return Assessment(reasons=[too_large_reason(limit)])
    try:
        reading = read_form(data, ocr=settings.intake.ocr,
                            ocr_max_pages=settings.intake.ocr_max_pages)
    except DocumentRejected as rejected:
        return Assessment(reasons=rejected.reasons)
    if reading.declaration is not None:
        return Assessment(method=reading.method, declaration=reading.declaration)
    assessment = assess_fields(reading.fields, round_name=settings.round.name)
    return assessment.model_copy(update={"method": reading.method})


def assess_file(path: Path, settings: Settings) -> Assessment:
    """``assess_document`` for a claimed file: its size is checked before it is read, and an
    error of the reader that nobody foresaw becomes the input's reason. An error reading the
    file itself is raised (the input waits, counted)."""
    limit = settings.intake.max_file_mb
    if path.lstat().st_size > limit * 1024 * 1024:
        return Assessment(reasons=[too_large_reason(limit)])
    data = folders.read_claim(path)  # a symbolic link put in its place is refused
    try:
        return assess_document(data, settings)
    except MemoryError:
        raise  # the worker's memory limit: ``workers.outcome`` names it
    except Exception as exc:  # noqa: BLE001 - one input's reader failed: its outcome
        if is_infrastructure(exc):
            raise
        return Assessment(reasons=[failure_reason(exc)])


def outcome_for(assessment: Assessment, *, has_twin: bool, on_time: bool) -> Outcome:
    """The journal outcome of an input (pure)."""
    if has_twin:
        return Outcome.DUPLICATE
    if assessment.declaration is not None:
        return Outcome.DECLARATION  # may still turn invalid: an Az. we never issued
    if not assessment.is_valid:
        return Outcome.INVALID
    return Outcome.REGISTERED if on_time else Outcome.LATE


def process_input(input_id: int, settings: Settings, now: datetime,
                  assessment: Assessment | None = None, *, claim_path: str | None = None
                  ) -> InputResult:
    """Bring one input to ``done`` from whatever state the register holds (idempotent).

    Two write transactions: the decision (Az., letters planned), then the filing (letters
    rendered, original archived or quarantined). ``claim_path`` is given by a caller that saw
    the input still undecided; without it and without ``assessment`` the register is asked.
    The intake runs the same stages for many inputs at once (``ews.intake.passes``)."""
    sessions = session_factory(settings.db_url)
    if claim_path is None and assessment is None:
        with sessions.begin() as session:
            row = _load(session, input_id)
            claim_path = row.claim_path if row.state == "claimed" else None
    if assessment is None and claim_path is not None and Path(claim_path).is_file():
        assessment = assess_file(Path(claim_path), settings)
    with sessions.begin() as session:
        if assessment is not None:
            decide(session, input_id, assessment, settings, now)
        letters = planned_letters(register.letters_of(session, input_id))
    render_planned(letters, settings)
    with sessions.begin() as session:
        return finish(session, input_id, [letter_id for letter_id, _, _ in letters],
                      register.letters_of(session, input_id), settings, now)


def decide(session: Session, input_id: int, assessment: Assessment, settings: Settings,
           now: datetime) -> None:
    """Stage 1 (in the caller's transaction): outcome, Az. and letters planned for an input
    that is still undecided; a no-op for one another run decided meanwhile."""
    decide_all(session, {input_id: assessment}, settings, now)


def decide_all(session: Session, assessments: dict[int, Assessment], settings: Settings,
               now: datetime) -> None:
    """``decide`` for many inputs in one transaction, in the order given, with three queries
    in all beside the inserts (inputs, their twins on file, the current applications)."""
    if not assessments:
        return
    register.lock_decisions(session)
    rows = {row.id: row for row in session.scalars(
        select(Input).where(Input.id.in_(list(assessments))))}
    missing = set(assessments) - set(rows)
    if missing:
        raise LookupError(f"input {min(missing)} is not in the register")
    basis = register.decision_basis(
        session, {row.sha256 for row in rows.values()}, settings.round.name,
        {a.municipality.ags for a in assessments.values() if a.municipality is not None})
    for input_id, assessment in assessments.items():
        _decide(session, rows[input_id], assessment, settings, now, basis)
        basis.note_decided(rows[input_id])


class RenderFailure(NamedTuple):
    """Why an input's letters were not written; ``counted`` when the input itself is the
    cause (its values, its file names), not the service's templates."""

    reason: str
    counted: bool


def render_inputs(letters: dict[int, list[PlannedLetter]], settings: Settings
                  ) -> dict[int, RenderFailure]:
    """Stage 2 for several inputs at once (one worker job): write their .docx files. Returns
    why, by input, for those whose letters could not be written; the others' are. A failure
    of the service itself (disk full …) is raised."""
    failures: dict[int, RenderFailure] = {}
    templates_sound: bool | None = None  # checked once, on the first template error
    for input_id, planned in letters.items():
        try:
            render_planned(planned, settings)
        except EwsError as exc:  # e.g. a broken template: only its letters wait
            if templates_sound is None:
                templates_sound = not check_templates(settings.templates_dir, settings.office)
            # templates that render their sample data: this input's values are the cause
            failures[input_id] = RenderFailure(str(exc) or type(exc).__name__, templates_sound)
        except Exception as exc:  # noqa: BLE001 - one input's letters, ended by its count
            if is_infrastructure(exc) or isinstance(exc, MemoryError):
                raise
            failures[input_id] = RenderFailure(failure_reason(exc), True)
    return failures


def finish(session: Session, input_id: int, rendered: list[int], letters: list[LetterRow],
           settings: Settings, now: datetime) -> InputResult:
    """Stage 3 (in the caller's transaction): record the rendered letters and archive or
    quarantine the original (decided → done). ``letters`` are all letters of the input."""
    row = _load(session, input_id)
    for letter in letters:
        if letter.id in rendered:
            letter.state = "rendered"
    if row.state != "done":
        _file_input(row, settings, now)
    return _result(session, row, letters)


def _load(session: Session, input_id: int) -> Input:
    row = session.get(Input, input_id)
    if row is None:
        raise LookupError(f"input {input_id} is not in the register")
    return row


def _decide(session: Session, row: Input, assessment: Assessment, settings: Settings,
            now: datetime, basis: register.DecisionBasis) -> None:
    if row.state != "claimed":  # another run decided meanwhile
        return
    deadline = deadline_of(settings)
    received = row.stamped_at or row.received_at
    twin = basis.twin(row)
    outcome = outcome_for(assessment, has_twin=twin is not None,
                          on_time=deadline.is_on_time(received))
    row.outcome, row.reasons = outcome.value, list(assessment.reasons)
    row.read_method = assessment.method.value if assessment.method else None
    name = assessment.fields.get("kommune_name")
    row.kommune_name = name if isinstance(name, str) else None
    row.ags = assessment.municipality.ags if assessment.municipality else None
    row.state = "decided"
    if outcome is Outcome.DUPLICATE:
        assert twin is not None
        row.application_id = twin.application_id
        original = register.application_of(session, twin.application_id)
        row.reasons = [duplicate_of(twin.source_name, twin.id, original.az if original else None)]
        return
    if assessment.declaration is not None:  # a signed Gemeinsame Erklärung came back
        confirmation = network.record_return(session, row, assessment.declaration, settings,
                                             now, received)
        if confirmation is not None:
            register.plan_letter(session, input_id=row.id, application_id=row.application_id,
                                 kind=confirmation.kind.value, reference=confirmation.reference,
                                 docx_path=letter_path(confirmation, settings),
                                 data=confirmation.model_dump(mode="json"))
        return
    application = replaced = None
    if outcome in (Outcome.REGISTERED, Outcome.LATE):
        application, replaced = _register(session, row, assessment, outcome, settings,
                                          received, basis)
        row.application_id = application.id
        if outcome is Outcome.LATE:
            row.reasons = [late_receipt(deadline.last_day)]
    _plan_letters(session, row, assessment, outcome, application, replaced, settings, now,
                  received)


def _register(session: Session, row: Input, assessment: Assessment, outcome: Outcome,
              settings: Settings, received: datetime, basis: register.DecisionBasis
              ) -> tuple[ApplicationRow, ApplicationRow | None]:
    assert assessment.application is not None
    app = assessment.application
    year = received.astimezone(BERLIN).year
    az, serial = register.issue_az(session, year, settings.az)
    status = ApplicationStatus.REGISTERED if outcome is Outcome.REGISTERED else \
        ApplicationStatus.LATE
    new = ApplicationRow(
        az=az, az_year=year, az_serial=serial, round_name=settings.round.name,
        ags=app.municipality.ags, kommune_name=app.kommune_name, status=status.value,
        received_at=received, deadline_last_day=deadline_of(settings).last_day.isoformat(),
        fields=dict(assessment.fields), input_id=row.id)
    return register.add_application(session, new, basis)


LETTER_FOR = {Outcome.REGISTERED: LetterKind.EINGANGSBESTAETIGUNG,
              Outcome.LATE: LetterKind.VERSPAETUNGSSCHREIBEN,
              Outcome.INVALID: LetterKind.MAENGELSCHREIBEN}


def letter_data_for(outcome: Outcome, assessment: Assessment, *, reference: str,
                    source_name: str, received: datetime, settings: Settings, now: datetime,
                    replaces: str | None = None) -> LetterData | None:
    """The letter an outcome calls for (pure); None when there is none or nobody to write to."""
    kind = LETTER_FOR.get(outcome)
    if kind is None or assessment.recipient is None:
        return None
    name = (assessment.municipality.letter_name if assessment.municipality
            else assessment.recipient.lines[0])
    return LetterData(
        kind=kind, recipient=assessment.recipient, reference=reference,
        letter_date=now.astimezone(BERLIN).date(), round_name=settings.round.name,
        kommune_name=name, received_at=received, deadline_day=deadline_of(settings).last_day,
        reasons=list(assessment.reasons), replaces_reference=replaces, source_name=source_name,
        summary=summary_of(assessment.fields))


def _plan_letters(session: Session, row: Input, assessment: Assessment, outcome: Outcome,
                  application: ApplicationRow | None, replaced: ApplicationRow | None,
                  settings: Settings, now: datetime, received: datetime) -> None:
    data = letter_data_for(
        outcome, assessment, reference=application.az if application else f"Eingang {row.id:06d}",
        source_name=row.source_name, received=received, settings=settings, now=now,
        replaces=replaced.az if replaced else None)
    if data is None:
        return  # nobody to write to: the journal and the quarantine note carry the reason
    register.plan_letter(session, input_id=row.id,
                         application_id=application.id if application else None,
                         kind=data.kind.value, reference=data.reference,
                         docx_path=letter_path(data, settings),
                         data=data.model_dump(mode="json"))


NOT_FILED = "Die Datei konnte weder archiviert noch in die Quarantäne gelegt werden " \
            "({reason}); sie liegt weiter unter {path}."
NOT_FINISHED = "Die Datei liegt unter {path}, aber ihre Ablage konnte nicht abgeschlossen " \
               "werden ({reason})."
MISSING_CLAIM = "Die Datei lag nicht mehr im Arbeitsordner ({path}); sie konnte weder " \
                "archiviert noch in die Quarantäne gelegt werden."


def _file_input(row: Input, settings: Settings, now: datetime) -> None:
    claim = Path(row.claim_path)
    original = folders.original_name(claim)
    prefix = f"{row.id:06d}__"
    key = prefix + folders.safe_name(original, max_bytes=STORED_NAME_MAX_BYTES - len(prefix))
    stored: str | None = None
    try:
        stored = _store_original(row, claim, key, settings)
    except OSError as exc:
        if is_infrastructure(exc):
            raise
        failure: OSError | None = exc
        if os.path.lexists(claim):  # e.g. a name the file system refuses: a plain name
            suffix = Path(original).suffix
            plain = f"{prefix}Eingang{suffix if suffix.isascii() and len(suffix) <= 10 else ''}"
            try:
                stored, failure = _store_original(row, claim, plain, settings), None
            except OSError as again:
                if is_infrastructure(again):
                    raise
                failure = again
        if failure is not None:
            if row.attempts < settings.intake.max_attempts:
                raise failure from None
            # the last attempt: the input ends, and the journal says where its file is
            stored = _unfinished_filing(row, claim, key, failure, settings)
    row.stored_path, row.state, row.finished_at = stored, "done", now


def _unfinished_filing(row: Input, claim: Path, key: str, failure: OSError,
                       settings: Settings) -> str | None:
    """Where the file of an input whose filing failed for the last time lies: in the work
    folder, or placed under its key by an attempt that failed after (its reason); the
    journal says which."""
    reason = failure_reason(failure)
    if os.path.lexists(claim):
        row.reasons = [*row.reasons, NOT_FILED.format(reason=reason, path=claim)]
        return None
    store, folder = _original_store(row, settings)
    placed = store.location(folder + key)
    if store.exists(placed):
        row.reasons = [*row.reasons, NOT_FINISHED.format(path=placed, reason=reason)]
        return placed
    row.reasons = [*row.reasons, MISSING_CLAIM.format(path=claim)]
    return None


def _store_original(row: Input, claim: Path, name: str, settings: Settings) -> str:
    store, folder = _original_store(row, settings)
    if row.outcome == Outcome.INVALID.value:
        return store.quarantine(claim, folder + name, row.reasons, sha256=row.sha256)
    return store.file_original(claim, folder + name, sha256=row.sha256)


def _original_store(row: Input, settings: Settings) -> tuple[storage.Store, str]:
    """Where an input's original goes: the quarantine, or the archive's month folder."""
    if row.outcome == Outcome.INVALID.value:
        return storage.quarantine_store(settings), ""
    month = row.received_at.astimezone(BERLIN).strftime("%Y-%m")
    return storage.archive_store(settings), f"{month}/"


def _result(session: Session, row: Input, letter_rows: list[LetterRow]) -> InputResult:
    application = register.application_of(session, row.application_id)
    letters = [letter.pdf_path or letter.docx_path for letter in letter_rows]
    az = application.az if application and row.outcome != Outcome.DUPLICATE.value else None
    if row.declaration_id is not None:
        declaration = session.get(DeclarationRow, row.declaration_id)
        az = declaration.az if declaration else az
    return InputResult(
        input_id=row.id, source_name=row.source_name, outcome=Outcome(row.outcome or "invalid"),
        az=az,
        kommune_name=row.kommune_name, reasons=list(row.reasons), letters=letters,
        stored_path=row.stored_path)


def restamp(input_id: int, stamped: datetime, settings: Settings, now: datetime, *,
            actor: str) -> InputResult:
    """Record an Eingangsstempel for a decided input and re-judge the deadline with it: a
    status that changes (late ↔ on time) gets its letter; everything is logged."""
    sessions = session_factory(settings.db_url)
    with sessions.begin() as session:
        register.lock_decisions(session)
        row = _load(session, input_id)
        previous = row.stamped_at or row.received_at
        row.stamped_at = stamped
        register.log_event(session, actor=actor, action="eingangsstempel",
                           subject=f"Eingang {row.id}",
                           detail={"vorher": previous.isoformat(), "neu": stamped.isoformat()})
        _rejudge(session, row, settings, now, stamped)
    return process_input(input_id, settings, now)


def _rejudge(session: Session, row: Input, settings: Settings, now: datetime,
             stamped: datetime) -> None:
    application = register.application_of(session, row.application_id)
    if application is None or application.input_id != row.id:
        return  # invalid or duplicate: the stamp is recorded, nothing to re-judge
    on_time = deadline_of(settings).is_on_time(stamped)
    outcome = Outcome.REGISTERED if on_time else Outcome.LATE
    application.received_at = stamped
    if outcome.value == row.outcome:
        return
    row.outcome = outcome.value
    row.reasons = [] if on_time else [late_receipt(deadline_of(settings).last_day)]
    if application.status != ApplicationStatus.REPLACED.value:
        application.status = (ApplicationStatus.REGISTERED if on_time
                               else ApplicationStatus.LATE).value
    assessment = assess_fields(dict(application.fields), round_name=application.round_name)
    existing = {letter.kind for letter in register.letters_of(session, row.id)}
    kind = LetterKind.EINGANGSBESTAETIGUNG if on_time else LetterKind.VERSPAETUNGSSCHREIBEN
    if kind.value not in existing:
        _plan_letters(session, row, assessment, outcome, application,
                      register.replaced_by(session, application.id), settings, now, stamped)
