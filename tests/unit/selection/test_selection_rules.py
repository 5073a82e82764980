"""The selection's rules over plain data: which decision is allowed, which notices are due
and when a notice's mail is (no database)."""

from __future__ import annotations

import pytest

from ews.core.errors import SelectionError
from ews.core.models import ApplicationStatus, LetterKind
from ews.register.schema import DecisionRow, LetterRow
from ews.selection.decisions import (
    ACCEPTED,
    REJECTED,
    WAITING,
    WITHDRAWN,
    Candidate,
    check_decision,
    needs_seat,
)
from ews.selection.notices import enclosures_if_due, letters_due, notice_kind

REGISTERED = ApplicationStatus.REGISTERED.value


def candidate(status: str = REGISTERED, current: str | None = None) -> Candidate:
    return Candidate("EWS-1/2026 (Stadt Musterstadt)", status, "2026", current)


def check(decision: str, *, status: str = REGISTERED, current: str | None = None,
          seats: int = 2, taken: int = 0, rank: int | None = None, reason: str | None = None,
          override: str | None = None) -> None:
    check_decision(candidate(status, current), decision, seats=seats, taken=taken, rank=rank,
                   reason=reason, override=override)


def refusal(decision: str, **facts: object) -> SelectionError:
    with pytest.raises(SelectionError) as caught:
        check(decision, **facts)  # type: ignore[arg-type]
    return caught.value


def test_allowed_decisions_pass() -> None:
    check(ACCEPTED, taken=1)
    check(WAITING, rank=1)
    check(REJECTED, reason="plaetze")
    check(WITHDRAWN, current=WAITING)
    check(ACCEPTED, current=ACCEPTED, taken=2)  # keeps its own seat


@pytest.mark.parametrize("status", [ApplicationStatus.LATE.value,
                                    ApplicationStatus.REPLACED.value])
def test_late_or_replaced_needs_an_override_with_reason(status: str) -> None:
    assert refusal(ACCEPTED, status=status).field == "ausnahme"
    assert refusal(WAITING, status=status, rank=1, override="  ").field == "ausnahme"
    check(ACCEPTED, status=status, override="Poststelle hat verspätet weitergeleitet")
    check(REJECTED, status=status, reason="verspaetet")


def test_never_more_accepted_than_seats() -> None:
    assert "Alle 2 Plätze der Runde 2026 sind vergeben" in str(refusal(ACCEPTED, taken=2))
    assert needs_seat(ACCEPTED, None) and needs_seat(ACCEPTED, WAITING)
    assert not needs_seat(ACCEPTED, ACCEPTED) and not needs_seat(WAITING, None)


def test_missing_rank_reason_and_withdrawal_without_seat_are_refused() -> None:
    assert refusal(WAITING, rank=0).field == "rang"
    assert refusal(REJECTED, reason="unbekannt").field == "grund"
    assert "nicht zurückziehen" in str(refusal(WITHDRAWN, current=REJECTED))
    assert refusal(WITHDRAWN).worded({}).endswith("zurückziehen.")


def test_each_decision_calls_for_its_notice() -> None:
    def kind(decision: str, moved_up: bool = False) -> LetterKind | None:
        return notice_kind(DecisionRow(decision=decision, moved_up=moved_up))

    assert kind(ACCEPTED) is LetterKind.ZUSAGE
    assert kind(ACCEPTED, moved_up=True) is LetterKind.NACHRUECKERZUSAGE
    assert kind(WAITING) is LetterKind.WARTELISTENBESCHEID
    assert kind(REJECTED) is LetterKind.ABSAGE
    assert kind(WITHDRAWN) is None


def test_letters_are_due_once_and_an_acceptance_brings_its_declaration() -> None:
    declaration = LetterKind.GEMEINSAME_ERKLAERUNG
    assert letters_due(LetterKind.ZUSAGE, 1, set()) == (LetterKind.ZUSAGE, declaration)
    assert letters_due(LetterKind.NACHRUECKERZUSAGE, 1, {(1, declaration.value)}) == (
        LetterKind.NACHRUECKERZUSAGE,)
    assert letters_due(LetterKind.ZUSAGE, 1, {(1, LetterKind.ZUSAGE.value)}) == ()
    assert letters_due(LetterKind.ABSAGE, 1, {(2, LetterKind.ABSAGE.value)}) == (
        LetterKind.ABSAGE,)
    assert letters_due(None, 1, set()) == ()


def letter(letter_id: int, kind: LetterKind, state: str = "done") -> LetterRow:
    return LetterRow(id=letter_id, application_id=7, kind=kind.value, state=state)


def test_a_notice_is_mailed_once_its_files_and_its_declaration_are_final() -> None:
    final = {"done"}
    declaration = letter(1, LetterKind.GEMEINSAME_ERKLAERUNG)
    acceptance = letter(2, LetterKind.ZUSAGE)
    assert enclosures_if_due(acceptance, set(), {7: declaration}, final) == [declaration]
    assert enclosures_if_due(acceptance, set(), {}, final) == []
    assert enclosures_if_due(acceptance, {"brief:2"}, {7: declaration}, final) is None
    assert enclosures_if_due(declaration, set(), {7: declaration}, final) is None
    pending = letter(1, LetterKind.GEMEINSAME_ERKLAERUNG, state="rendered")
    assert enclosures_if_due(acceptance, set(), {7: pending}, final) is None
    assert enclosures_if_due(letter(3, LetterKind.ABSAGE, "rendered"), set(), {}, final) is None
    assert enclosures_if_due(letter(3, LetterKind.ABSAGE), set(), {7: declaration},
                             final) == []
