"""Whether a scheduled mailing is due when its run starts: slot, switch, moment and list."""

from __future__ import annotations

from datetime import UTC, date, datetime

from ews.circulars.distribution import ListSpec
from ews.circulars.due import mailing_due, mailing_list, run_moment
from ews.circulars.schedule import Mailing
from ews.runtime.settings import RoundSettings

ROUND = RoundSettings(name="EWS 6", deadline=date(2027, 3, 1))


def test_a_monthly_mailing_is_due_on_the_berlin_day_of_its_run() -> None:
    mailing = Mailing(name="monatsinfo", entwurf="e", zeitplan="0 9 1-7 * 2")

    due = mailing_due(mailing, ROUND, datetime(2026, 12, 31, 23, 30, tzinfo=UTC))

    assert due.slot == "monatsinfo@2027-01-01"


def test_a_switched_off_mailing_is_never_due_and_says_so() -> None:
    mailing = Mailing(name="monatsinfo", entwurf="e", zeitplan="0 9 1-7 * 2", aktiv=False)

    due = mailing_due(mailing, ROUND, datetime(2027, 1, 5, 8, tzinfo=UTC))

    assert due.slot is None
    assert due.reason == ("Versand „monatsinfo“ ist im Versandplan ausgeschaltet "
                          "(aktiv = false).")


def test_a_reminder_before_its_day_has_nothing_to_do() -> None:
    mailing = Mailing(name="erinnerung", entwurf="e", tage_vor_frist=14)

    due = mailing_due(mailing, ROUND, datetime(2027, 1, 5, 8, tzinfo=UTC))

    assert due.slot is None
    assert due.reason.startswith("Versand „erinnerung“: nichts zu tun – Erinnerung erst am ")


def test_a_run_stands_for_its_scheduled_start_else_for_now() -> None:
    scheduled = datetime(2027, 1, 5, 8, tzinfo=UTC)
    now = datetime(2027, 1, 5, 8, 3, tzinfo=UTC)

    assert run_moment(scheduled, now) == scheduled
    assert type(run_moment(scheduled, now)) is datetime
    assert run_moment(None, now) == now


def test_the_plans_list_wins_over_the_drafts() -> None:
    drafts = ListSpec.parse("netzwerk", "EWS 6")
    own = Mailing(name="m", entwurf="e", zeitplan="0 9 * * *", verteiler="alle")

    assert mailing_list(own, drafts, "EWS 6") == ListSpec.parse("alle", "EWS 6")
    assert mailing_list(Mailing(name="m", entwurf="e", zeitplan="0 9 * * *"), drafts,
                        "EWS 6") is drafts
