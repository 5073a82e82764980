"""The due date of an answer a letter asks for: the same holiday-aware calendar as the intake
(weekends and NRW holidays move it to the next Werktag)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ews.core.deadlines import answer_due, is_werktag


@pytest.mark.parametrize(("sent_on", "days", "due"), [
    (date(2027, 3, 1), 14, date(2027, 3, 15)),  # a Monday stays
    (date(2027, 4, 3), 14, date(2027, 4, 19)),  # Saturday → Monday
    (date(2027, 4, 4), 14, date(2027, 4, 19)),  # Sunday → Monday
    (date(2027, 3, 12), 14, date(2027, 3, 30)),  # Karfreitag, weekend, Ostermontag → Tuesday
    (date(2027, 5, 13), 14, date(2027, 5, 28)),  # Fronleichnam (NRW) → Friday
    (date(2027, 10, 18), 14, date(2027, 11, 2)),  # Allerheiligen (NRW) → Tuesday
    (date(2026, 12, 11), 14, date(2026, 12, 28)),  # 1st/2nd Christmas Day, Sunday → Monday
    (date(2027, 9, 5), 28, date(2027, 10, 4)),  # Tag der Deutschen Einheit on a Sunday
])
def test_due_date_moves_past_weekends_and_nrw_holidays(sent_on: date, days: int,
                                                        due: date) -> None:
    assert answer_due(sent_on, days) == due


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31)),
       st.integers(min_value=1, max_value=120))
def test_due_date_is_the_first_werktag_on_or_after_the_last_day(sent_on: date,
                                                                 days: int) -> None:
    due = answer_due(sent_on, days)
    last = sent_on + timedelta(days=days)
    assert is_werktag(due) and due >= last
    assert all(not is_werktag(last + timedelta(days=n)) for n in range((due - last).days))
