"""What an input's decision is, and the letter it calls for (pure: plain data in and out).

``decision_for`` is the rule of ``ews.intake.pipeline``'s deciding stage without the register:
the outcome (``ews.core.outcomes``), the reasons the journal shows, and what the input row
records. Registering the application and planning the letter stay with the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ews.core.deadlines import BERLIN, Deadline, answer_due
from ews.core.forms import summary_of
from ews.core.models import Assessment, LetterKind, Outcome
from ews.core.outcomes import outcome_for
from ews.core.wording import duplicate_of, late_receipt
from ews.letters.context import LetterData
from ews.runtime.settings import Settings


@dataclass(frozen=True)
class Twin:
    """The earlier input on file with the same bytes."""

    input_id: int
    source_name: str
    application_id: int | None
    az: str | None  # of its application, if it has one


@dataclass(frozen=True)
class Decision:
    """What deciding an input writes to its journal row."""

    outcome: Outcome
    reasons: list[str]
    read_method: str | None
    kommune_name: str | None
    ags: str | None
    application_id: int | None = None  # a duplicate's: its twin's application

    @property
    def registers(self) -> bool:
        """Whether the input becomes an application (on time or late)."""
        return self.outcome in (Outcome.REGISTERED, Outcome.LATE)


def deadline_of(settings: Settings) -> Deadline:
    round_ = settings.round
    return Deadline(round_.deadline, round_.extended_until, round_.deadline_fixed)


def decision_for(assessment: Assessment, *, received: datetime, deadline: Deadline,
                 twin: Twin | None) -> Decision:
    """The decision on an input received at ``received`` (its stamp, else its receipt)."""
    outcome = outcome_for(assessment, has_twin=twin is not None,
                          on_time=deadline.is_on_time(received))
    name = assessment.fields.get("kommune_name")
    reasons = list(assessment.reasons)
    application_id = None
    if outcome is Outcome.DUPLICATE:
        assert twin is not None
        reasons = [duplicate_of(twin.source_name, twin.input_id, twin.az)]
        application_id = twin.application_id
    elif outcome is Outcome.LATE:
        reasons = [late_receipt(deadline.last_day)]
    return Decision(
        outcome=outcome, reasons=reasons,
        read_method=assessment.method.value if assessment.method else None,
        kommune_name=name if isinstance(name, str) else None,
        ags=assessment.municipality.ags if assessment.municipality else None,
        application_id=application_id)


LETTER_FOR = {Outcome.REGISTERED: LetterKind.EINGANGSBESTAETIGUNG,
              Outcome.LATE: LetterKind.VERSPAETUNGSSCHREIBEN,
              Outcome.INVALID: LetterKind.MAENGELSCHREIBEN}


def letter_data_for(outcome: Outcome, assessment: Assessment, *, reference: str,
                    source_name: str, received: datetime, settings: Settings, now: datetime,
                    replaces: str | None = None) -> LetterData | None:
    """The letter an outcome calls for; None when there is none or nobody to write to."""
    kind = LETTER_FOR.get(outcome)
    if kind is None or assessment.recipient is None:
        return None
    name = (assessment.municipality.letter_name if assessment.municipality
            else assessment.recipient.lines[0])
    today = now.astimezone(BERLIN).date()
    return LetterData(
        kind=kind, recipient=assessment.recipient, reference=reference,
        letter_date=today, round_name=settings.round.name,
        # the corrected form is expected by then (the follow-up's due date)
        reply_by=answer_due(today, settings.round.correction_days)
        if kind is LetterKind.MAENGELSCHREIBEN else None,
        kommune_name=name, received_at=received, deadline_day=deadline_of(settings).last_day,
        reasons=list(assessment.reasons), replaces_reference=replaces, source_name=source_name,
        summary=summary_of(assessment.fields))
