from datetime import UTC, date, datetime, timedelta

import pytest

from ews.core.deadlines import BERLIN, Deadline, add_months, holiday_name, is_werktag, next_werktag


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def test_application_is_on_time_one_second_before_midnight_berlin() -> None:
    deadline = Deadline(date(2024, 3, 1))
    assert deadline.is_on_time(berlin(2024, 3, 1, 23, 59, 59))
    assert not deadline.is_on_time(berlin(2024, 3, 2, 0, 0, 0))


def test_utc_receipt_is_compared_in_berlin_time_in_winter_and_summer() -> None:
    assert Deadline(date(2024, 3, 1)).is_on_time(datetime(2024, 3, 1, 22, 59, tzinfo=UTC))
    assert not Deadline(date(2024, 3, 1)).is_on_time(datetime(2024, 3, 1, 23, 0, tzinfo=UTC))
    summer = Deadline(date(2024, 7, 1))
    assert summer.is_on_time(datetime(2024, 7, 1, 21, 59, 59, tzinfo=UTC))
    assert not summer.is_on_time(datetime(2024, 7, 1, 22, 0, tzinfo=UTC))


def test_deadline_on_karfreitag_moves_past_easter_to_tuesday() -> None:
    assert Deadline(date(2024, 3, 29)).last_day == date(2024, 4, 2)


def test_deadline_on_saturday_moves_to_monday_unless_fixed() -> None:
    assert Deadline(date(2026, 11, 21)).last_day == date(2026, 11, 23)
    assert Deadline(date(2026, 11, 21), fixed=True).last_day == date(2026, 11, 21)


def test_nrw_specific_holidays_count_and_others_do_not() -> None:
    assert not is_werktag(date(2026, 6, 4))  # Fronleichnam is a holiday in NRW
    assert holiday_name(date(2024, 11, 1)) == "Allerheiligen"
    assert is_werktag(date(2024, 10, 31))  # Reformationstag is not (except 2017)
    assert not is_werktag(date(2017, 10, 31))
    assert is_werktag(date(2025, 3, 3))  # Rosenmontag is a working day
    assert is_werktag(date(2024, 12, 24))


def test_christmas_and_new_year_chain_moves_to_the_next_werktag() -> None:
    assert next_werktag(date(2026, 12, 25)) == date(2026, 12, 28)
    assert next_werktag(date(2027, 1, 1)) == date(2027, 1, 4)


def test_extension_counts_for_receipts_before_it_ends() -> None:
    deadline = Deadline(date(2024, 3, 1), extended_until=date(2024, 3, 15))
    assert deadline.is_on_time(berlin(2024, 3, 10, 12, 0))
    assert not deadline.is_on_time(berlin(2024, 3, 16, 0, 0, 1))


def test_extension_ending_on_a_sunday_moves_to_monday() -> None:
    assert Deadline(date(2024, 3, 1), extended_until=date(2024, 3, 17)).last_day == date(
        2024, 3, 18
    )


def test_month_period_ends_on_last_day_of_shorter_month() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2024, 11, 15), 3) == date(2025, 2, 15)


def test_naive_receipt_time_is_refused() -> None:
    with pytest.raises(ValueError):
        Deadline(date(2024, 3, 1)).is_on_time(datetime(2024, 3, 1, 12, 0))


def test_ends_at_is_midnight_after_last_day_across_dst_change() -> None:
    ends = Deadline(date(2024, 3, 30), fixed=True).ends_at  # night of the switch to CEST
    assert ends == berlin(2024, 3, 31, 0, 0)
    assert ends.utcoffset() == timedelta(hours=1)
