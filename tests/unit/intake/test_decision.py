"""The deciding rule of the intake over plain data: no register, no files (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from ews.core.deadlines import Deadline
from ews.core.forms import assess_fields
from ews.core.models import Assessment, DeclarationMark, Outcome, ReadMethod
from ews.core.outcomes import outcome_for, rejection
from ews.intake.decision import Twin, decision_for
from tests.unit.core.test_forms import valid_fields

DEADLINE = Deadline(date(2026, 3, 2), fixed=True)  # a Monday: ends 03.03. 00:00 Berlin
ON_TIME = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LATE = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)


def valid() -> Assessment:
    assessment = assess_fields(valid_fields(), round_name="EWS 6")
    assert assessment.is_valid
    return assessment.model_copy(update={"method": ReadMethod.ACROFORM})


def test_a_valid_form_on_time_is_registered_with_no_reasons() -> None:
    decision = decision_for(valid(), received=ON_TIME, deadline=DEADLINE, twin=None)

    assert decision.outcome is Outcome.REGISTERED
    assert decision.registers
    assert decision.reasons == []
    assert decision.read_method == ReadMethod.ACROFORM.value
    assert decision.kommune_name == "Stadt Bergkamen"
    assert decision.ags == "05978004"
    assert decision.application_id is None


def test_a_valid_form_after_the_deadline_is_late_with_the_late_receipt_sentence() -> None:
    decision = decision_for(valid(), received=LATE, deadline=DEADLINE, twin=None)

    assert decision.outcome is Outcome.LATE
    assert decision.registers
    assert decision.reasons == [
        "Eingang nach Ablauf der Bewerbungsfrist (02.03.2026, 24:00 Uhr)."]


def test_the_same_bytes_again_are_a_duplicate_of_the_twins_application() -> None:
    twin = Twin(input_id=4, source_name="bewerbung.pdf", application_id=9,
                az="13.0.70-004/2026")

    decision = decision_for(valid(), received=ON_TIME, deadline=DEADLINE, twin=twin)

    assert decision.outcome is Outcome.DUPLICATE
    assert not decision.registers
    assert decision.application_id == 9
    assert decision.reasons == [
        "Die Datei ist identisch mit dem Eingang „bewerbung.pdf“ (Eingangsnummer 4, "
        "Aktenzeichen 13.0.70-004/2026); sie wurde nicht erneut registriert."]


def test_a_duplicate_wins_over_invalid_and_over_late() -> None:
    twin = Twin(input_id=4, source_name="a.pdf", application_id=None, az=None)

    decision = decision_for(rejection("kaputt"), received=LATE, deadline=DEADLINE, twin=twin)

    assert decision.outcome is Outcome.DUPLICATE
    assert decision.reasons == ["Die Datei ist identisch mit dem Eingang „a.pdf“ "
                                "(Eingangsnummer 4); sie wurde nicht erneut registriert."]


def test_a_rejection_is_invalid_with_its_reasons_also_when_late() -> None:
    decision = decision_for(rejection("Grund 1", "Grund 2"), received=LATE,
                            deadline=DEADLINE, twin=None)

    assert decision.outcome is Outcome.INVALID
    assert not decision.registers
    assert decision.reasons == ["Grund 1", "Grund 2"]
    assert (decision.read_method, decision.kommune_name, decision.ags) == (None, None, None)


def test_an_invalid_form_keeps_what_identifies_its_municipality() -> None:
    assessment = assess_fields(valid_fields(team1_email="keine-adresse"), round_name="EWS 6")

    decision = decision_for(assessment, received=ON_TIME, deadline=DEADLINE, twin=None)

    assert decision.outcome is Outcome.INVALID
    assert decision.reasons == assessment.reasons != []
    assert decision.kommune_name == "Stadt Bergkamen"
    assert decision.ags == "05978004"


def test_a_returned_declaration_is_decided_a_declaration_first() -> None:
    mark = DeclarationMark(az="13.0.70-001/2026", ags="05978004", method="qr")

    decision = decision_for(Assessment(declaration=mark), received=LATE, deadline=DEADLINE,
                            twin=None)

    assert decision.outcome is Outcome.DECLARATION
    assert not decision.registers


def test_outcome_for_orders_twin_declaration_validity_and_time() -> None:
    mark = DeclarationMark(az="x", ags="05978004", method="qr")
    assert outcome_for(valid(), has_twin=True, on_time=True) is Outcome.DUPLICATE
    assert outcome_for(Assessment(declaration=mark), has_twin=False,
                       on_time=True) is Outcome.DECLARATION
    assert outcome_for(rejection("x"), has_twin=False, on_time=True) is Outcome.INVALID
    assert outcome_for(Assessment(), has_twin=False, on_time=True) is Outcome.INVALID
    assert outcome_for(valid(), has_twin=False, on_time=True) is Outcome.REGISTERED
    assert outcome_for(valid(), has_twin=False, on_time=False) is Outcome.LATE
