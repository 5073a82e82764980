"""A Mängelschreiben opens a correction follow-up with the date the calendar gives; the
corrected application of the same municipality, dropped into the inbox folder, closes it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from ews.casefile.reminders import queue_reminders
from ews.core.deadlines import BERLIN, answer_due
from ews.intake import passes as intake
from ews.register import follow_ups
from ews.register.database import session_factory
from ews.register.schema import FollowUpRow, LetterRow
from ews.runtime.settings import Settings
from tests.integration.casefile.conftest import TEAM
from tests.support import pdfgen


def _follow_ups(settings: Settings) -> list[FollowUpRow]:
    with session_factory(settings.db_url).begin() as session:
        return list(session.scalars(select(FollowUpRow).order_by(FollowUpRow.id)))


def test_corrected_application_closes_the_correction_follow_up(settings: Settings) -> None:
    broken = dict(pdfgen.VALUES, datenschutz=False)
    (settings.inbox_dir / "unvollständig.pdf").write_bytes(pdfgen.filled_form(broken))
    [invalid] = intake.run_pass(settings)
    assert invalid.outcome == "invalid"
    [row] = _follow_ups(settings)
    with session_factory(settings.db_url).begin() as session:
        letter = session.get(LetterRow, row.letter_id)
        assert letter is not None and letter.kind == "maengelschreiben"
        sent_on = date.fromisoformat(letter.data["letter_date"])
    assert (row.kind, row.state) == ("korrektur", "offen")
    assert row.az == f"Eingang {invalid.input_id:06d}"
    assert row.due_on == answer_due(sent_on, settings.round.correction_days).isoformat()
    assert letter.data["reply_by"] == row.due_on

    # overdue: the reminder goes to the team the broken form named (no application exists)
    later = datetime.combine(date.fromisoformat(row.due_on) + timedelta(days=1), time(9),
                             tzinfo=BERLIN)
    [reminder] = queue_reminders(settings, later, dry_run=True).reminders
    assert (reminder.az, reminder.kommune, reminder.recipients) == (row.az, "Stadt Lüdenscheid",
                                                                    TEAM)

    (settings.inbox_dir / "berichtigt.pdf").write_bytes(pdfgen.filled_form())
    [corrected] = intake.run_pass(settings)
    assert corrected.outcome == "registered" and corrected.az
    [row] = _follow_ups(settings)
    assert (row.state, row.closed_by) == ("erledigt", "posteingang")
    assert corrected.az in (row.close_note or "")
    with session_factory(settings.db_url).begin() as session:
        assert [f.id for f in follow_ups.follow_ups_of(session, corrected.az)] == [row.id]
        actions = [e.action for e in follow_ups.events_of(session, row.id)]
    assert actions == ["wiedervorlage-angelegt", "wiedervorlage-erledigt"]


def test_application_of_another_municipality_leaves_it_open(settings: Settings) -> None:
    broken = dict(pdfgen.VALUES, datenschutz=False)
    (settings.inbox_dir / "unvollständig.pdf").write_bytes(pdfgen.filled_form(broken))
    intake.run_pass(settings)
    other = dict(pdfgen.VALUES, kommune_name="Stadt Hagen", ags="05914000", plz="58095",
                 ort="Hagen", regierungsbezirk="Arnsberg")
    (settings.inbox_dir / "hagen.pdf").write_bytes(pdfgen.filled_form(other))
    [result] = intake.run_pass(settings)
    assert result.outcome == "registered", result.reasons
    assert [row.state for row in _follow_ups(settings)] == ["offen"]


def test_a_correction_in_the_same_pass_closes_the_follow_up_opened_just_before(
        settings: Settings) -> None:
    """Both forms in one chunk: the Mängelschreiben's follow-up is opened while deciding the
    chunk, and the corrected form decided after it closes it (the chunk's basis knows it)."""
    broken = dict(pdfgen.VALUES, datenschutz=False)
    (settings.inbox_dir / "a-unvollständig.pdf").write_bytes(pdfgen.filled_form(broken))
    (settings.inbox_dir / "b-berichtigt.pdf").write_bytes(pdfgen.filled_form())
    invalid, corrected = intake.run_pass(settings)
    assert (invalid.outcome, corrected.outcome) == ("invalid", "registered")
    assert invalid.input_id < corrected.input_id  # decided in this order
    [row] = _follow_ups(settings)
    assert (row.state, row.closed_by) == ("erledigt", "posteingang")
    assert corrected.az in (row.close_note or "")
