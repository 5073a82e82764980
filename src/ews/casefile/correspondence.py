"""Staff work on incoming correspondence (Schriftverkehr): the list, marking a piece as dealt
with (and, for a release confirmation, closing the case's follow-up), filing a piece to a case
by hand; each refused in German when it cannot be (I/O: database).

The intake records the pieces (``ews.intake.replies``, ``ews.intake.case_folders``); the
register logs every change with who and when (``ews.register.correspondence``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ews.casefile.akte import known_az
from ews.core.errors import CorrespondenceError
from ews.core.models import CorrespondenceState, FollowUpKind
from ews.register import correspondence, follow_ups
from ews.register.case_titles import MATCH_TITLES
from ews.register.database import Session, transaction
from ews.register.schema import CorrespondenceRow
from ews.runtime.settings import Settings


def correspondence_records(settings: Settings, *, everything: bool = False
                           ) -> list[dict[str, Any]]:
    """The pieces staff still have to deal with (``everything``: all), oldest first."""
    with transaction(settings.db_url) as session:
        rows = correspondence.all_pieces(session) if everything else \
            correspondence.pieces_in_state(session, CorrespondenceState.NEW)
        return [_record(row) for row in rows]


def _record(row: CorrespondenceRow) -> dict[str, Any]:
    return {
        "id": row.id, "aktenzeichen": row.az, "eingang": row.received_at.isoformat(),
        "weg": row.channel, "absender": row.sender, "betreff": row.subject,
        "zugeordnet_durch": row.matched_by,
        "zugeordnet_text": MATCH_TITLES.get(row.matched_by, row.matched_by),
        "anhaenge": [item.get("name", "") for item in row.attachments],
        "auszug": row.excerpt, "status": row.state,
        "erledigt_von": row.handled_by,
        "erledigt": row.handled_at.isoformat() if row.handled_at else None,
    }


def handle_by_staff(settings: Settings, piece_id: int, *, actor: str, now: datetime,
                    note: str, release: bool = False) -> tuple[CorrespondenceRow, int]:
    """Staff dealt with a piece; with ``release`` it is the confirmation of the team's release
    the Zusage asked for, and the case's open release follow-up closes. Returns the piece and
    how many follow-ups closed."""
    with transaction(settings.db_url) as session:
        row = _piece(session, piece_id)
        closed = 0
        if release:
            if row.application_id is None:
                raise CorrespondenceError(
                    f"Eingang {piece_id} gehört zu keinem Fall; bitte zuerst zuordnen "
                    "(ews schriftverkehr zuordnen).")
            current = correspondence.current_application_id(session, row.application_id)
            closed = len(follow_ups.close_open(
                session, current, FollowUpKind.RELEASE, actor=actor, now=now,
                note=note.strip() or f"Freistellung bestätigt (Schriftverkehr {piece_id})"))
            if not closed:
                raise CorrespondenceError(
                    f"Zu {row.az} ist keine Bestätigung der Freistellung offen "
                    "(ews wiedervorlagen --alle).")
        if row.state == CorrespondenceState.DONE and not release:
            raise CorrespondenceError(f"Eingang {piece_id} ist bereits erledigt "
                                      f"(von {row.handled_by or 'unbekannt'}).")
        correspondence.mark_handled(session, piece_id, actor=actor, now=now, note=note.strip())
        return row, closed


def assign_by_staff(settings: Settings, piece_id: int, az: str, *, actor: str,
                    now: datetime) -> CorrespondenceRow:
    """Staff file a piece to the case ``az`` (as typed: spaces and dashes are tolerated)."""
    with transaction(settings.db_url) as session:
        _piece(session, piece_id)
        found = known_az(session, settings, az)
        if found is not None:
            return correspondence.assign(session, piece_id, found, actor=actor, now=now)
        raise CorrespondenceError(f"Das Aktenzeichen {az.strip()} ist nicht vergeben "
                                  "(ews bewerbungen, ews netzwerk).")


def _piece(session: Session, piece_id: int) -> CorrespondenceRow:
    row = correspondence.piece(session, piece_id)
    if row is None:
        raise CorrespondenceError(f"Einen Eingang {piece_id} im Schriftverkehr gibt es nicht "
                                  "(ews schriftverkehr --alle).")
    return row
