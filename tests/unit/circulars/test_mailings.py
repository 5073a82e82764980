"""The plan of scheduled mailings: reading it, the reminder's day on the intake's calendar,
slots, cron times in Europe/Berlin across daylight saving, and the outbox's rate limit."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ews.circulars.schedule import Mailing, occasion, read_plan, reminder_day
from ews.core.deadlines import BERLIN
from ews.core.errors import PlanError
from ews.outbox.delivery import Pacer
from ews.runtime.settings import RoundSettings
from flows.cli.rundschreiben import cron_times, next_dates

PLAN = """
[[versand]]
name = "monatsinfo"
entwurf = "monatsinfo"
zeitplan = "0 9 1-7 * 2"

[[versand]]
name = "fristerinnerung"
entwurf = "erinnerung"
tage_vor_frist = 14
uhrzeit = "08:30"
verteiler = "ohne-bewerbung"
"""


def test_plan_is_read_with_both_kinds(tmp_path: Path) -> None:
    path = tmp_path / "versandplan.toml"
    path.write_text(PLAN, encoding="utf-8")
    monthly, reminder = read_plan(path)
    assert (monthly.cron, monthly.deployment_name) == ("0 9 1-7 * 2", "versand-monatsinfo")
    assert (reminder.cron, reminder.verteiler) == ("30 8 * * *", "ohne-bewerbung")
    assert read_plan(tmp_path / "fehlt.toml") == []


@pytest.mark.parametrize(("entry", "expected"), [
    ('name = "x"\nentwurf = "e"', "entweder zeitplan oder tage_vor_frist"),
    ('name = "x"\nentwurf = "e"\nzeitplan = "0 9 * *"', "fünf Felder"),
    ('name = "x"\nentwurf = "e"\ntage_vor_frist = 3\nuhrzeit = "9 Uhr"', "uhrzeit"),
    ('name = "x"\nentwurf = "e"\nzeitplan = "0 9 * * *"\nfarbe = "rot"', "farbe"),
])
def test_a_broken_entry_is_reported_in_german(tmp_path: Path, entry: str, expected: str) -> None:
    path = tmp_path / "versandplan.toml"
    path.write_text(f"[[versand]]\n{entry}\n", encoding="utf-8")
    with pytest.raises(PlanError, match="Eintrag 1") as caught:
        read_plan(path)
    assert expected in str(caught.value)


def test_duplicate_names_and_bad_toml_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "versandplan.toml"
    entry = '[[versand]]\nname = "a"\nentwurf = "e"\nzeitplan = "0 9 * * *"\n'
    path.write_text(entry * 2, encoding="utf-8")
    with pytest.raises(PlanError, match="nur einmal"):
        read_plan(path)
    path.write_text("[[versand]\n", encoding="utf-8")
    with pytest.raises(PlanError, match="fehlerhaft"):
        read_plan(path)


@pytest.mark.parametrize(("deadline", "extended", "days", "expected"), [
    (date(2027, 3, 1), None, 14, date(2027, 2, 15)),  # Monday → Monday
    (date(2027, 3, 1), None, 15, date(2027, 2, 12)),  # a Sunday moves back to Friday
    (date(2027, 3, 1), date(2027, 3, 15), 14, date(2027, 3, 1)),  # the extension counts
    # 14 days before Friday 9 April 2027 is Good Friday: back to Thursday
    (date(2027, 4, 9), None, 14, date(2027, 3, 25)),
    # 14 days before Monday 31 May 2027 is Whit Monday: back to Friday 14 May
    (date(2027, 5, 31), None, 14, date(2027, 5, 14)),
    # a deadline on Saturday 3 April 2027 ends on Monday 5 April; 14 days before: 22 March
    (date(2027, 4, 3), None, 14, date(2027, 3, 22)),
    # 14 days before Friday 14 May 2027 is Friday 30 April; 13 days: Saturday 1 May → 30 Apr
    (date(2027, 5, 14), None, 13, date(2027, 4, 30)),
])
def test_reminder_day_uses_the_intakes_calendar(deadline: date, extended: date | None,
                                                days: int, expected: date) -> None:
    settings = RoundSettings(deadline=deadline, extended_until=extended)
    assert reminder_day(settings, days) == expected


def test_reminder_slot_is_the_due_day_and_a_missed_run_catches_up() -> None:
    mailing = Mailing(name="erinnerung", entwurf="e", tage_vor_frist=14)
    settings = RoundSettings(name="EWS 6", deadline=date(2027, 3, 1))
    early = occasion(mailing, settings, datetime(2027, 2, 14, 8, 0, tzinfo=UTC))
    assert early.slot is None and "15.02.2027" in early.reason
    due = occasion(mailing, settings, datetime(2027, 2, 15, 8, 0, tzinfo=UTC))
    late = occasion(mailing, settings, datetime(2027, 2, 17, 8, 0, tzinfo=UTC))
    assert due.slot == late.slot == "erinnerung@EWS 6@2027-02-15"
    over = occasion(mailing, settings, datetime(2027, 3, 2, 8, 0, tzinfo=UTC))
    assert over.slot is None and "abgelaufen" in over.reason


def test_a_monthly_slot_is_the_berlin_day_of_the_run() -> None:
    mailing = Mailing(name="monatsinfo", entwurf="e", zeitplan="0 9 1-7 * 2")
    # 23:30 UTC on 31 Dec is already 1 January in Berlin
    moment = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert occasion(mailing, RoundSettings(), moment).slot == "monatsinfo@2027-01-01"


def test_first_tuesday_at_nine_in_berlin_across_daylight_saving(monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    import flows.cli.rundschreiben as cli

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
            return datetime(2027, 1, 15, tzinfo=UTC)

    monkeypatch.setattr(cli, "datetime", Frozen)
    assert next_dates("0 9 1-7 * 2", 4) == ["02.02.2027 09:00", "02.03.2027 09:00",
                                            "06.04.2027 09:00", "04.05.2027 09:00"]
    # 28 March 2027 the clocks move: 09:00 stays 09:00 local, the UTC hour changes
    dates = cron_times("0 9 * * *", 3, datetime(2027, 3, 27, tzinfo=UTC))
    assert [d.astimezone(UTC).hour for d in dates] == [8, 7, 7]
    assert {d.astimezone(BERLIN).hour for d in dates} == {9}


class FakeClock:
    def __init__(self) -> None:
        self.now, self.slept = 0.0, []  # type: list[float]

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_pacer_keeps_to_the_rate_limit() -> None:
    clock = FakeClock()
    pacer = Pacer(30, clock=clock)  # one mail every 2 s
    for spent in (0.0, 0.5, 3.0, 0.0, 0.0):
        pacer.wait()
        clock.now += spent
    assert clock.slept == [2.0, 1.5, 2.0]
    unlimited = FakeClock()
    for _ in range(3):
        Pacer(0, clock=unlimited).wait()
    assert unlimited.slept == []
