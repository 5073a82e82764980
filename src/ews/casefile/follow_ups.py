"""Staff work on follow-ups (Wiedervorlagen): the list, closing, extending and adding one by
hand, each refused in German when it cannot be (I/O: database).

The register (``ews.register.follow_ups``) records and logs every change with who and when;
the reminders are ``ews.casefile.reminders``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from ews.casefile.akte import known_az
from ews.core.deadlines import BERLIN
from ews.core.errors import FollowUpError
from ews.core.models import FollowUpKind, FollowUpState
from ews.register import correspondence, follow_ups
from ews.register.case_titles import FOLLOW_UP_TITLES
from ews.register.database import Session, transaction
from ews.register.schema import FollowUpRow
from ews.runtime.settings import Settings

#: the outbox purpose of reminders (key ``wiedervorlage:<id>:<due_on>``)
REMINDER = "erinnerung"


def reminder_key(row: FollowUpRow) -> str:
    """The outbox key of the reminder for the follow-up's current due date."""
    return f"wiedervorlage:{row.id}:{row.due_on}"


def today_in_berlin(now: datetime) -> date:
    return now.astimezone(BERLIN).date()


def is_overdue(row: FollowUpRow, today: date) -> bool:
    """Open and due before ``today``."""
    return row.state == FollowUpState.OPEN and date.fromisoformat(row.due_on) < today


def follow_up_records(settings: Settings, now: datetime, *, everything: bool = False
                      ) -> list[dict[str, Any]]:
    """The open follow-ups (``everything``: also the closed ones), earliest due first, as
    plain records for the list and ``--json``."""
    today = today_in_berlin(now)
    with transaction(settings.db_url) as session:
        rows = follow_ups.all_follow_ups(session) if everything else \
            follow_ups.open_follow_ups(session)
        facts = follow_ups.facts_of(session, rows)
        mails = follow_ups.reminder_mails(session, REMINDER,
                                          [reminder_key(row) for row in rows if row.reminded_on])
        return [_record(item.row, item.kommune, today, mails) for item in facts]


def _record(row: FollowUpRow, kommune: str, today: date,
            mails: dict[str, tuple[str, datetime | None]]) -> dict[str, Any]:
    due = date.fromisoformat(row.due_on)
    late = is_overdue(row, today)
    mail = mails.get(f"wiedervorlage:{row.id}:{row.reminded_on}") if row.reminded_on else None
    return {
        "id": row.id, "aktenzeichen": row.az, "kommune": kommune, "art": row.kind,
        "art_text": FOLLOW_UP_TITLES.get(row.kind, row.kind), "faellig_am": row.due_on,
        "ueberfaellig_seit": (due + timedelta(days=1)).isoformat() if late else None,
        "ueberfaellig_tage": (today - due).days if late else 0,
        "erinnerung_fuer": row.reminded_on,
        "erinnerung_status": mail[0] if mail else None,
        "erinnerung_gesendet": mail[1].isoformat() if mail and mail[1] else None,
        "status": row.state, "notiz": row.note, "angelegt_von": row.created_by,
        "angelegt": row.created_at.isoformat(), "erledigt_von": row.closed_by,
        "erledigt": row.closed_at.isoformat() if row.closed_at else None,
        "erledigt_vermerk": row.close_note,
    }


def close_by_staff(settings: Settings, follow_up_id: int, *, actor: str, now: datetime,
                   note: str) -> FollowUpRow:
    """Staff mark a follow-up as done (e.g. the release was confirmed by mail), logged."""
    with transaction(settings.db_url) as session:
        row = _open_one(session, follow_up_id)
        return follow_ups.close(session, row, actor=actor, now=now, note=note.strip())


def extend_by_staff(settings: Settings, follow_up_id: int, *, due_on: date, actor: str,
                    now: datetime, note: str) -> FollowUpRow:
    """Staff move an open follow-up's due date (not into the past), logged; once the new
    date passed, a reminder may go again."""
    _refuse_past(due_on, now)
    with transaction(settings.db_url) as session:
        row = _open_one(session, follow_up_id)
        if row.due_on == due_on.isoformat():
            raise FollowUpError(f"Wiedervorlage {follow_up_id} ist schon am "
                                f"{due_on:%d.%m.%Y} fällig.")
        return follow_ups.extend(session, row, due_on=due_on, actor=actor, now=now,
                                 note=note.strip())


def add_by_hand(settings: Settings, az: str, *, due_on: date, actor: str, now: datetime,
                note: str) -> FollowUpRow:
    """Staff add a follow-up to a case (an application's or a declaration's Az., as typed:
    spaces and dashes are tolerated), logged."""
    _refuse_past(due_on, now)
    if not note.strip():
        raise FollowUpError("Bitte mit --notiz angeben, worauf die Wiedervorlage wartet.")
    with transaction(settings.db_url) as session:
        found = known_az(session, settings, az)
        if found is None:
            raise FollowUpError(f"Das Aktenzeichen {az.strip()} ist nicht vergeben "
                                "(ews bewerbungen, ews netzwerk).")
        return follow_ups.open_follow_up(
            session, az=found, kind=FollowUpKind.MANUAL, due_on=due_on, actor=actor, now=now,
            application_id=correspondence.application_id_of(session, found), note=note.strip())


def _open_one(session: Session, follow_up_id: int) -> FollowUpRow:
    row = follow_ups.follow_up(session, follow_up_id)
    if row is None:
        raise FollowUpError(f"Eine Wiedervorlage {follow_up_id} gibt es nicht "
                            "(ews wiedervorlagen --alle).")
    if row.state != FollowUpState.OPEN:
        when = f" am {row.closed_at.astimezone(BERLIN):%d.%m.%Y}" if row.closed_at else ""
        raise FollowUpError(f"Wiedervorlage {follow_up_id} ({row.az}) ist bereits erledigt"
                            f"{when} von {row.closed_by or 'unbekannt'}: "
                            f"{row.close_note or 'ohne Vermerk'}.")
    return row


def _refuse_past(due_on: date, now: datetime) -> None:
    today = today_in_berlin(now)
    if due_on < today:
        raise FollowUpError(f"Der {due_on:%d.%m.%Y} liegt in der Vergangenheit; bitte ein "
                            f"Datum ab heute ({today:%d.%m.%Y}) angeben.")
