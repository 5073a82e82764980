"""The network's rules over plain data: the verdict on a returned declaration, its refusal
reasons and filing notes, the roster's joined date (no database)."""

from __future__ import annotations

from datetime import date

import pytest

from ews.core.errors import ConfigurationError
from ews.core.models import DeclarationMark
from ews.documents.declaration_code import payload_checksum
from ews.network.rules import (
    BY_HAND,
    Issued,
    Verdict,
    earlier_joined,
    filing_notes,
    on_file_reason,
    return_verdict,
    unproven_reason,
)

KEY = b"0123456789abcdef0123"
AZ, AGS = "EWS-2026-0007/2026", "05315000"


def mark(checksum: str | None, **changes: object) -> DeclarationMark:
    return DeclarationMark(az=AZ, ags=AGS, method="qr", checksum=checksum, **changes)


def test_a_valid_checksum_proves_the_return() -> None:
    assert unproven_reason(mark(payload_checksum(AZ, AGS, KEY)), KEY,
                           accept_unsigned=False) is None


def test_a_wrong_checksum_is_refused_even_when_unsigned_ones_are_accepted() -> None:
    reason = unproven_reason(mark("falsch"), KEY, accept_unsigned=True)
    assert reason is not None and "Prüfsumme stimmt nicht" in reason and BY_HAND in reason


def test_a_missing_key_refuses_a_checksum_with_the_set_up_problem() -> None:
    problem = ConfigurationError("Schlüssel fehlt.")
    reason = unproven_reason(mark("abc"), problem, accept_unsigned=False)
    assert reason is not None and "kann nicht geprüft werden: Schlüssel fehlt." in reason


@pytest.mark.parametrize(("checksum", "words"), [
    ("", "ohne Prüfsumme"), (None, "nur an ihrem Text erkannt")])
def test_unsigned_returns_are_refused_unless_accepted(checksum: str | None, words: str
                                                      ) -> None:
    reason = unproven_reason(mark(checksum), KEY, accept_unsigned=False)
    assert reason is not None and words in reason
    assert unproven_reason(mark(checksum), KEY, accept_unsigned=True) is None


def test_the_verdict_refuses_first_then_checks_the_issue_then_a_second_copy() -> None:
    assert return_verdict(mark(None), "Grund", Issued(AGS, returned=False)).verdict \
        is Verdict.REFUSED
    unknown = return_verdict(mark(None), None, None)
    assert unknown.verdict is Verdict.UNKNOWN and AZ in str(unknown.reason)
    assert return_verdict(mark(None), None, Issued("05111000", returned=False)).verdict \
        is Verdict.UNKNOWN
    assert return_verdict(mark(None), None, Issued(AGS, returned=True)).verdict \
        is Verdict.ON_FILE
    filed = return_verdict(mark(None), None, Issued(AGS, returned=False))
    assert filed.verdict is Verdict.FILED and filed.reason is None


def test_a_mark_without_ags_is_matched_by_its_az_alone() -> None:
    no_ags = DeclarationMark(az=AZ, method="text")
    assert return_verdict(no_ags, None, Issued(AGS, returned=False)).verdict is Verdict.FILED


def test_a_second_copy_names_the_first_receipt() -> None:
    assert on_file_reason(AZ, date(2026, 3, 2), 41) == (
        f"Die unterschriebene Erklärung ({AZ}) ist bereits am 02.03.2026 eingegangen "
        "(Eingang 41); dieses Exemplar wurde zu den Akten genommen.")
    assert on_file_reason(AZ, None, None) == "Die Erklärung lag bereits vor."


def test_filing_notes_ask_staff_to_check_what_was_not_readable() -> None:
    assert filing_notes(mark(None, signatory="Erika Muster", signed_on=date(2026, 3, 1)),
                        known_signatory="") == []
    notes = filing_notes(mark(None), known_signatory="")
    assert len(notes) == 2 and "Datum" in notes[0] and "Name" in notes[1]
    assert len(filing_notes(mark(None), known_signatory="Erika Muster")) == 1


def test_an_earlier_joined_date_is_kept() -> None:
    assert earlier_joined("2025-01-01", date(2026, 3, 1)) == "2025-01-01"
    assert earlier_joined("2026-05-01", date(2026, 3, 1)) == "2026-03-01"
    assert earlier_joined(None, date(2026, 3, 1)) == "2026-03-01"
