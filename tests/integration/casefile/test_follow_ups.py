"""Follow-ups on the embedded register: opened once per letter or declaration, closed,
extended and added by staff with every change in the events log (who and when), refusals in
German, overdue and reminder rules over a passed-in clock."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from ews.casefile.follow_ups import (
    add_by_hand,
    close_by_staff,
    extend_by_staff,
    follow_up_records,
)
from ews.casefile.reminders import queue_reminders, reminder_due
from ews.core.deadlines import BERLIN
from ews.core.errors import FollowUpError
from ews.core.models import FollowUpKind
from ews.operations.health import register_health
from ews.register import follow_ups
from ews.register.database import session_factory
from ews.register.schema import EventRow, FollowUpRow
from ews.runtime.settings import Settings
from ews.selection import decisions as selection
from tests.integration.casefile.conftest import DUE, SENT, TEAM, Case, add_case

LATER = SENT + timedelta(days=20)  # 21.04.2027: DUE has passed
DUE_END = datetime(2027, 4, 15, 23, 30, tzinfo=BERLIN)  # the last minutes of the due date


def _row(settings: Settings, follow_up_id: int) -> FollowUpRow:
    with session_factory(settings.db_url).begin() as session:
        row = session.get(FollowUpRow, follow_up_id)
        assert row is not None
        return row


def _events(settings: Settings, follow_up_id: int) -> list[EventRow]:
    with session_factory(settings.db_url).begin() as session:
        return follow_ups.events_of(session, follow_up_id)


def test_a_letter_or_declaration_opens_one_follow_up_only(settings: Settings, case: Case
                                                          ) -> None:
    with session_factory(settings.db_url).begin() as session:
        first = session.get(FollowUpRow, case.follow_up_id)
        assert first is not None
        again = follow_ups.open_follow_up(session, az=case.az, kind=FollowUpKind.RELEASE,
                                          due_on=DUE + timedelta(days=3), actor="x", now=LATER,
                                          letter_id=first.letter_id)
        assert again.id == first.id and again.due_on == DUE.isoformat()
        assert session.scalar(select(FollowUpRow.id).where(FollowUpRow.id != first.id)) is None
    [opened] = _events(settings, case.follow_up_id)
    assert (opened.action, opened.actor, opened.at) == ("wiedervorlage-angelegt", "frau.meier",
                                                       SENT)


def test_staff_close_extend_and_add_are_logged_with_who_and_when(settings: Settings,
                                                                 case: Case) -> None:
    moved = extend_by_staff(settings, case.follow_up_id, due_on=date(2027, 4, 30),
                            actor="herr.schulz", now=LATER, note="Urlaub der Kommune")
    assert moved.due_on == "2027-04-30" and "Urlaub der Kommune" in moved.note
    done = LATER + timedelta(days=2)
    close_by_staff(settings, case.follow_up_id, actor="frau.meier", now=done,
                   note="Freistellung bestätigt (E-Mail vom 22.04.2027)")
    row = _row(settings, case.follow_up_id)
    assert (row.state, row.closed_by, row.closed_at) == ("erledigt", "frau.meier", done)
    assert row.close_note == "Freistellung bestätigt (E-Mail vom 22.04.2027)"
    added = add_by_hand(settings, case.az, due_on=date(2027, 5, 3), actor="herr.schulz",
                        now=done, note="Teilnehmerliste anfordern")
    assert (added.kind, added.application_id, added.created_by) == (
        "manuell", case.application_id, "herr.schulz")

    log = [(e.action, e.actor, e.at, e.subject) for e in _events(settings, case.follow_up_id)]
    assert log == [("wiedervorlage-angelegt", "frau.meier", SENT, case.az),
                   ("wiedervorlage-verlaengert", "herr.schulz", LATER, case.az),
                   ("wiedervorlage-erledigt", "frau.meier", done, case.az)]
    [extended] = [e for e in _events(settings, case.follow_up_id)
                  if e.action == "wiedervorlage-verlaengert"]
    assert extended.detail["vorher"] == DUE.isoformat()
    assert extended.detail["neu"] == "2027-04-30"
    [manual] = _events(settings, added.id)
    assert (manual.actor, manual.at, manual.detail["notiz"]) == (
        "herr.schulz", done, "Teilnehmerliste anfordern")


def test_a_follow_up_added_by_hand_takes_the_az_as_staff_type_it(settings: Settings,
                                                                   case: Case) -> None:
    typed = "Az. " + case.az.replace("-0", " \u2013 ", 1)  # "Az. 13.0.70 – 01/2027"
    added = add_by_hand(settings, typed, due_on=date(2027, 5, 3), actor="herr.schulz",
                        now=LATER, note="Teilnehmerliste anfordern")
    assert (added.az, added.application_id) == (case.az, case.application_id)


@pytest.mark.parametrize(("action", "message"), [
    (lambda s, c: close_by_staff(s, 999, actor="a", now=LATER, note="x"),
     "Eine Wiedervorlage 999 gibt es nicht"),
    (lambda s, c: extend_by_staff(s, c.follow_up_id, due_on=date(2027, 4, 20), actor="a",
                                  now=LATER, note=""),
     "Der 20.04.2027 liegt in der Vergangenheit; bitte ein Datum ab heute (21.04.2027)"),
    (lambda s, c: extend_by_staff(s, c.follow_up_id, due_on=DUE, actor="a",
                                  now=SENT, note=""), "ist schon am 15.04.2027 fällig"),
    (lambda s, c: add_by_hand(s, "13.0.70-999/2027", due_on=date(2027, 5, 3), actor="a",
                              now=LATER, note="x"),
     "Das Aktenzeichen 13.0.70-999/2027 ist nicht vergeben"),
    (lambda s, c: add_by_hand(s, c.az, due_on=date(2027, 5, 3), actor="a", now=LATER,
                              note=" "), "Bitte mit --notiz angeben"),
])
def test_refusals_are_german_and_change_nothing(settings: Settings, case: Case, action: object,
                                                message: str) -> None:
    with pytest.raises(FollowUpError, match=message.replace("(", r"\(").replace(")", r"\)")):
        action(settings, case)  # type: ignore[operator]
    assert [e.action for e in _events(settings, case.follow_up_id)] == [
        "wiedervorlage-angelegt"]
    assert _row(settings, case.follow_up_id).due_on == DUE.isoformat()


def test_a_closed_follow_up_is_not_closed_or_extended_again(settings: Settings,
                                                           case: Case) -> None:
    close_by_staff(settings, case.follow_up_id, actor="frau.meier", now=LATER, note="ok")
    for change in (lambda: close_by_staff(settings, case.follow_up_id, actor="b", now=LATER,
                                          note="nochmal"),
                   lambda: extend_by_staff(settings, case.follow_up_id,
                                           due_on=date(2027, 5, 30), actor="b", now=LATER,
                                           note="")):
        with pytest.raises(FollowUpError, match="ist bereits erledigt am 21.04.2027 von "
                                                "frau.meier: ok"):
            change()
    assert len(_events(settings, case.follow_up_id)) == 2


def test_overdue_from_the_day_after_the_due_date_in_berlin(settings: Settings,
                                                           case: Case) -> None:
    row = _row(settings, case.follow_up_id)
    assert not reminder_due(row, DUE)
    assert reminder_due(row, DUE + timedelta(days=1))
    with session_factory(settings.db_url).begin() as session:
        assert follow_ups.counts(session, DUE, DUE) == (1, 0, 0)
        assert follow_ups.counts(session, DUE + timedelta(days=2),
                                 DUE + timedelta(days=1)) == (1, 1, 1)
    [record] = follow_up_records(settings, LATER)
    assert (record["aktenzeichen"], record["kommune"], record["art"]) == (
        case.az, "Stadt Lüdenscheid", "freistellung")
    assert (record["faellig_am"], record["ueberfaellig_seit"], record["ueberfaellig_tage"]) == (
        "2027-04-15", "2027-04-16", 6)


def test_probelauf_lists_the_team_and_queues_nothing(settings: Settings, case: Case) -> None:
    report = queue_reminders(settings, LATER, dry_run=True)
    [reminder] = report.reminders
    assert (reminder.az, reminder.recipients) == (case.az, TEAM)
    assert _row(settings, case.follow_up_id).reminded_on is None


def test_without_any_address_it_is_reported_not_mailed(settings: Settings) -> None:
    case = add_case(settings, fields={"kommune_name": "Stadt Lüdenscheid"})
    settings.smtp.host = "127.0.0.1"  # never reached: nothing is queued
    report = queue_reminders(settings, LATER)
    assert report.reminders == []
    assert [item.az for item in report.without_address] == [case.az]
    assert _row(settings, case.follow_up_id).reminded_on is None


def test_status_counts_open_and_overdue_and_flags_the_unreminded(settings: Settings,
                                                                 case: Case) -> None:
    health = register_health(settings, DUE_END)
    assert (health.waiting.follow_ups_open, health.waiting.follow_ups_overdue) == (1, 0)
    assert not any("Wiedervorlage" in problem for problem in health.problems)
    a_day_later = register_health(settings, DUE_END + timedelta(days=1))
    assert a_day_later.waiting.follow_ups_overdue == 1
    assert a_day_later.waiting.follow_ups_not_reminded == 0  # the daily check may come yet
    two_days = register_health(settings, DUE_END + timedelta(days=2))
    assert two_days.waiting.follow_ups_not_reminded == 1
    assert "1 Wiedervorlage seit über einem Tag überfällig und nicht erinnert " \
           "(ews wiedervorlagen erinnern --probelauf)" in two_days.problems


def test_a_withdrawn_acceptance_closes_the_release_follow_up(settings: Settings,
                                                             case: Case) -> None:
    with session_factory(settings.db_url).begin() as session:
        selection.decide(session, case.az, "angenommen", seats=17, actor="frau.meier", now=SENT)
    assert _row(settings, case.follow_up_id).state == "offen"
    with session_factory(settings.db_url).begin() as session:
        selection.decide(session, case.az, "zurueckgezogen", seats=17, actor="herr.schulz",
                         now=LATER)
    row = _row(settings, case.follow_up_id)
    assert (row.state, row.closed_by, row.closed_at) == ("erledigt", "herr.schulz", LATER)
    assert row.close_note == "Entscheidung geändert: zurueckgezogen."
