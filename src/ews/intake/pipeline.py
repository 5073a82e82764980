"""One input → one outcome (I/O: database, files, letter rendering).

``process_input`` is a resumable state machine over the register: an input is read and
decided (claimed → decided, one transaction that issues the Az. and plans the letters), its
letters are rendered, and the original is archived or quarantined (decided → done). A crash at
any point followed by a rerun continues from the committed state: no second Az., no second
letter, no file lost. The outcome is decided by ``ews.intake.decision`` (pure, over
``ews.core.outcomes``) and written by ``ews.register.inputs.set_outcome``, for every path.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

from ews.core.deadlines import BERLIN
from ews.core.forms import assess_fields
from ews.core.models import (
    ApplicationStatus,
    Assessment,
    FollowUpKind,
    InputState,
    LetterKind,
    Outcome,
)
from ews.core.outcomes import on_time_outcome
from ews.core.wording import late_receipt
from ews.intake.archiving import file_input
from ews.intake.decision import Decision, Twin, deadline_of, decision_for, letter_data_for
from ews.intake.reading import assess_file
from ews.network import declarations as network
from ews.outbox.letters import letter_path, planned_letters, render_planned
from ews.register import cases as register
from ews.register import correspondence, follow_ups, inputs
from ews.register.database import Session, transaction
from ews.register.schema import ApplicationRow, Input, LetterRow
from ews.runtime.settings import Settings

#: who the intake's own changes are logged as
INTAKE = "posteingang"


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


def process_input(input_id: int, settings: Settings, now: datetime,
                  assessment: Assessment | None = None, *, claim_path: str | None = None
                  ) -> InputResult:
    """Bring one input to ``done`` from whatever state the register holds (idempotent).

    Two write transactions: the decision (Az., letters planned), then the filing (letters
    rendered, original archived or quarantined). ``claim_path`` is given by a caller that saw
    the input still undecided; without it and without ``assessment`` the register is asked.
    The intake runs the same stages for many inputs at once (``ews.intake.passes``)."""
    if claim_path is None and assessment is None:
        with transaction(settings.db_url) as session:
            row = inputs.input_row(session, input_id)
            claim_path = row.claim_path if row.state == InputState.CLAIMED else None
    if assessment is None and claim_path is not None and Path(claim_path).is_file():
        assessment = assess_file(Path(claim_path), settings)
    with transaction(settings.db_url) as session:
        if assessment is not None:
            decide(session, input_id, assessment, settings, now)
        letters = planned_letters(register.letters_of(session, input_id))
    render_planned(letters, settings)
    with transaction(settings.db_url) as session:
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
    in all beside the inserts (inputs, their twins on file, the current applications) and one
    per registered application (the correction follow-ups it closes)."""
    if not assessments:
        return
    register.lock_decisions(session)
    rows = inputs.input_rows(session, assessments)
    basis = register.decision_basis(
        session, {row.sha256 for row in rows.values()}, settings.round.name,
        {a.municipality.ags for a in assessments.values() if a.municipality is not None})
    wanted = _az_wanted(rows, assessments)
    ids = iter(register.reserve_application_ids(session, sum(wanted.values())))
    with register.reserved_az(session, wanted):
        for input_id, assessment in assessments.items():
            _decide(session, rows[input_id], assessment, settings, now, basis, ids)
            basis.note_decided(rows[input_id])


def _az_wanted(rows: dict[int, Input], assessments: dict[int, Assessment]) -> dict[int, int]:
    """The most applications (and so Aktenzeichen) the decisions can register, by year of
    receipt: one for each undecided input that holds an application (one that turns out a
    duplicate or invalid registers none: its serial is given back)."""
    years = Counter((row.stamped_at or row.received_at).astimezone(BERLIN).year
                    for input_id, assessment in assessments.items()
                    if (row := rows[input_id]).state == InputState.CLAIMED
                    and assessment.application is not None)
    return dict(years)


def finish(session: Session, input_id: int, rendered: list[int], letters: list[LetterRow],
           settings: Settings, now: datetime) -> InputResult:
    """Stage 3 (in the caller's transaction): record the rendered letters and archive or
    quarantine the original (decided → done). ``letters`` are all letters of the input."""
    row = inputs.input_row(session, input_id)
    inputs.mark_rendered(letters, rendered)
    if row.state != InputState.DONE:
        file_input(row, settings, now)
    return _result(session, row, letters)


def _twin(session: Session, row: Input, basis: register.DecisionBasis) -> Twin | None:
    twin = basis.twin(row)
    if twin is None:
        return None
    original = register.application_of(session, twin.application_id)
    return Twin(twin.id, twin.source_name, twin.application_id,
                original.az if original else None)


def _decide(session: Session, row: Input, assessment: Assessment, settings: Settings,
            now: datetime, basis: register.DecisionBasis, ids: Iterator[int]) -> None:
    if row.state != InputState.CLAIMED:  # another run decided meanwhile
        return
    received = row.stamped_at or row.received_at
    decision = decision_for(assessment, received=received, deadline=deadline_of(settings),
                            twin=_twin(session, row, basis))
    inputs.set_outcome(row, decision.outcome, decision.reasons)
    inputs.mark_decided(row, read_method=decision.read_method,
                        kommune_name=decision.kommune_name, ags=decision.ags,
                        application_id=decision.application_id)
    if decision.outcome is Outcome.DUPLICATE:
        return
    if assessment.declaration is not None:  # a signed Gemeinsame Erklärung came back
        confirmation = network.record_return(session, row, assessment.declaration, settings,
                                             now, received)
        if row.declaration_id is not None and row.channel == "mail":  # into the case file
            correspondence.file_declaration_mail(
                session, row.id, inputs.declaration_az(session, row.declaration_id) or "")
        if confirmation is not None:
            register.plan_letter(session, input_id=row.id, application_id=row.application_id,
                                 kind=confirmation.kind.value, reference=confirmation.reference,
                                 docx_path=letter_path(confirmation, settings),
                                 data=confirmation.model_dump(mode="json"))
        return
    application = replaced = None
    if decision.registers:
        application, replaced = _register(session, row, assessment, decision, settings,
                                          received, basis, next(ids, None))
        inputs.set_application(row, application.id)
        if application.ags in basis.corrections_open:  # else a query for nothing
            follow_ups.close_corrections(
                session, application, actor=INTAKE, now=now,
                note=f"Berichtigte Bewerbung registriert: {application.az} (Eingang {row.id}).")
    _plan_letters(session, row, assessment, decision.outcome, application, replaced,
                  settings, now, received, basis)


def _register(session: Session, row: Input, assessment: Assessment, decision: Decision,
              settings: Settings, received: datetime, basis: register.DecisionBasis,
              application_id: int | None) -> tuple[ApplicationRow, ApplicationRow | None]:
    assert assessment.application is not None
    app = assessment.application
    year = received.astimezone(BERLIN).year
    az, serial = register.issue_az(session, year, settings.az)
    status = ApplicationStatus.REGISTERED if decision.outcome is Outcome.REGISTERED else \
        ApplicationStatus.LATE
    return inputs.add_application(
        session, row, basis, id=application_id, az=az, az_year=year, az_serial=serial,
        round_name=settings.round.name, ags=app.municipality.ags,
        kommune_name=app.kommune_name, status=status.value, received_at=received,
        deadline_last_day=deadline_of(settings).last_day.isoformat(),
        fields=dict(assessment.fields))


def _plan_letters(session: Session, row: Input, assessment: Assessment, outcome: Outcome,
                  application: ApplicationRow | None, replaced: ApplicationRow | None,
                  settings: Settings, now: datetime, received: datetime,
                  basis: register.DecisionBasis | None = None) -> None:
    data = letter_data_for(
        outcome, assessment, reference=application.az if application else f"Eingang {row.id:06d}",
        source_name=row.source_name, received=received, settings=settings, now=now,
        replaces=replaced.az if replaced else None)
    if data is None:
        return  # nobody to write to: the journal and the quarantine note carry the reason
    letter = register.plan_letter(session, input_id=row.id,
                                  application_id=application.id if application else None,
                                  kind=data.kind.value, reference=data.reference,
                                  docx_path=letter_path(data, settings),
                                  data=data.model_dump(mode="json"))
    if data.kind is LetterKind.MAENGELSCHREIBEN and data.reply_by is not None:
        session.flush()  # the letter's id
        follow_ups.open_follow_up(session, az=data.reference, kind=FollowUpKind.CORRECTION,
                                  due_on=data.reply_by, actor=INTAKE, now=now,
                                  application_id=letter.application_id, letter_id=letter.id)
        if basis is not None and row.ags is not None:  # a later application closes it
            basis.corrections_open.add(row.ags)


def _result(session: Session, row: Input, letter_rows: list[LetterRow]) -> InputResult:
    application = register.application_of(session, row.application_id)
    letters = [letter.pdf_path or letter.docx_path for letter in letter_rows]
    az = application.az if application and row.outcome != Outcome.DUPLICATE.value else None
    if row.declaration_id is not None:
        az = inputs.declaration_az(session, row.declaration_id) or az
    return InputResult(
        input_id=row.id, source_name=row.source_name, outcome=Outcome(row.outcome or "invalid"),
        az=az,
        kommune_name=row.kommune_name, reasons=list(row.reasons), letters=letters,
        stored_path=row.stored_path)


def restamp(input_id: int, stamped: datetime, settings: Settings, now: datetime, *,
            actor: str) -> InputResult:
    """Record an Eingangsstempel for a decided input and re-judge the deadline with it: a
    status that changes (late ↔ on time) gets its letter; everything is logged."""
    with transaction(settings.db_url) as session:
        register.lock_decisions(session)
        row = inputs.input_row(session, input_id)
        previous = row.stamped_at or row.received_at
        inputs.restamp(row, stamped)
        register.log_event(session, actor=actor, action=register.STAMP,
                           subject=f"Eingang {row.id}",
                           detail={"vorher": previous.isoformat(), "neu": stamped.isoformat()})
        _rejudge(session, row, settings, now, stamped)
    return process_input(input_id, settings, now)


def _rejudge(session: Session, row: Input, settings: Settings, now: datetime,
             stamped: datetime) -> None:
    application = register.application_of(session, row.application_id)
    if application is None or application.input_id != row.id:
        return  # invalid or duplicate: the stamp is recorded, nothing to re-judge
    deadline = deadline_of(settings)
    on_time = deadline.is_on_time(stamped)
    outcome = on_time_outcome(on_time)
    inputs.restamp_application(application, stamped)
    if outcome.value == row.outcome:
        return
    inputs.set_outcome(row, outcome, [] if on_time else [late_receipt(deadline.last_day)])
    inputs.rejudge_application(application, on_time=on_time)
    assessment = assess_fields(dict(application.fields), round_name=application.round_name)
    existing = {letter.kind for letter in register.letters_of(session, row.id)}
    kind = LetterKind.EINGANGSBESTAETIGUNG if on_time else LetterKind.VERSPAETUNGSSCHREIBEN
    if kind.value not in existing:
        _plan_letters(session, row, assessment, outcome, application,
                      register.replaced_by(session, application.id), settings, now, stamped)
