"""Receipt time × deadline → on time or late (pure).

Rules (../shared/domain/domain-facts.md §2): a deadline ends at 24:00 Europe/Berlin of its
last day (§ 188 Abs. 1 BGB); a last day on a Saturday, Sunday or NRW holiday moves to the next
Werktag (§ 193 BGB, § 31 Abs. 3 S. 1 VwVfG) unless the call fixed the date (§ 31 Abs. 3 S. 2);
an extension counts for everything received before it ends (§ 31 Abs. 7 VwVfG, § 190 BGB).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

#: the office's one timezone: deadlines, letter dates, receipt times and schedules are read in it
BERLIN = ZoneInfo("Europe/Berlin")


@cache
def _nrw_holidays(year: int) -> holidays.HolidayBase:
    # The library carries the one-off Reformationstag 2017 for all Länder, as FeiertG NW did.
    return holidays.country_holidays("DE", subdiv="NW", years=year, language="de")


@cache
def _nrw_holiday_days(year: int) -> frozenset[date]:
    return frozenset(_nrw_holidays(year))


def is_werktag(day: date) -> bool:
    """Monday to Friday and no statutory holiday in NRW."""
    return day.weekday() < 5 and day not in _nrw_holiday_days(day.year)


def holiday_name(day: date) -> str | None:
    """The German name of the NRW holiday on ``day``, if any."""
    return _nrw_holidays(day.year).get(day)


def next_werktag(day: date) -> date:
    """``day`` itself when it is a Werktag, else the next one (§ 193 BGB)."""
    while not is_werktag(day):
        day += timedelta(days=1)
    return day


def answer_due(sent_on: date, days: int) -> date:
    """The day an answer asked for on ``sent_on`` is due ``days`` later, moved past a
    weekend or NRW holiday to the next Werktag (§ 193 BGB): the same date the letter prints."""
    return next_werktag(sent_on + timedelta(days=days))


def end_of_day(day: date) -> datetime:
    """The first instant after ``day`` in Europe/Berlin (its 24:00), tz-aware."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=BERLIN)


@dataclass(frozen=True)
class Deadline:
    """The round's deadline as the office set it."""

    day: date
    extended_until: date | None = None
    fixed: bool = False  # no § 193 shift when the call named the day as fixed

    @property
    def last_day(self) -> date:
        """The day through whose end applications count, after extension and § 193 shift."""
        day = max(self.day, self.extended_until or self.day)
        return day if self.fixed else next_werktag(day)

    @property
    def ends_at(self) -> datetime:
        """First late instant (24:00 of ``last_day``, Europe/Berlin)."""
        return end_of_day(self.last_day)

    def is_on_time(self, received_at: datetime) -> bool:
        """True when ``received_at`` (tz-aware) lies before the end of the last day."""
        if received_at.tzinfo is None:
            raise ValueError("received_at must be timezone-aware")
        return received_at < self.ends_at


def add_months(start: date, months: int) -> date:
    """§ 188 Abs. 2–3 BGB for an event on ``start``: same day number, or the month's last day."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    for day in range(start.day, 27, -1):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return date(year, month, min(start.day, 28))
