"""The selection of a round: who gets a seat (I/O: database).

The register's current applications of the round are the candidates. Staff decide each one:
``angenommen``, ``warteliste`` (with a rank) or ``abgelehnt`` (with a reason category); an
accepted municipality that withdraws becomes ``zurueckgezogen`` and the first one on the
waiting list moves up. Never more accepted than seats; a late or replaced application only with
an explicit override and its reason. Every change is logged with who, when and what changed.
The rules (``check_decision``, pure) raise ``SelectionError`` with a German message; nothing
is changed then. The register's rows are read and written through ``ews.register.decisions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ews.core.errors import SelectionError
from ews.core.models import ApplicationStatus, Decision, FollowUpKind
from ews.core.wording import REJECTION_REASONS
from ews.register import cases as register
from ews.register import decisions as decisions_register
from ews.register import follow_ups
from ews.register.database import Session
from ews.register.schema import ApplicationRow, DecisionRow

ACCEPTED, WAITING, REJECTED, WITHDRAWN = (Decision.ACCEPTED, Decision.WAITING,
                                          Decision.REJECTED, Decision.WITHDRAWN)
DECISIONS = (ACCEPTED, WAITING, REJECTED, WITHDRAWN)


#: how the command line names the inputs of a refused decision
CLI_FIELDS = {"rang": "--rang 1, 2, …", "grund": "--grund", "ausnahme": "--ausnahme"}


@dataclass(frozen=True)
class Change:
    az: str
    kommune: str
    before: str | None
    after: str
    moved_up: bool = False


def decide(session: Session, az: str, decision: str, *, seats: int, actor: str,
           now: datetime, rank: int | None = None, reason: str | None = None,
           override: str | None = None) -> list[Change]:
    """Record one decision (in the caller's transaction); returns every change it caused,
    including a move-up from the waiting list after a withdrawal."""
    register.lock_decisions(session)
    application = register.application_by_az(session, az.strip())
    if application is None:
        raise SelectionError(f"Kein Antrag mit dem Aktenzeichen „{az}“ im Register.")
    if decision not in DECISIONS:
        raise SelectionError(f"Unbekannte Entscheidung „{decision}“; erlaubt sind: "
                             f"{', '.join(DECISIONS)}.")
    current = decisions_register.decision_of(session, application.id)
    before = None if current is None else current.decision
    taken = len(accepted(session, application.round_name)) \
        if needs_seat(decision, before) else 0
    check_decision(Candidate(f"{application.az} ({application.kommune_name})",
                             application.status, application.round_name, before),
                   decision, seats=seats, taken=taken, rank=rank, reason=reason,
                   override=override)
    was_accepted = current is not None and current.decision == ACCEPTED
    changes = [_record(session, application, current, decision, actor=actor, now=now,
                       rank=rank if decision == WAITING else None,
                       reason=reason if decision == REJECTED else None, override=override)]
    if was_accepted and decision != ACCEPTED:  # the release is no longer asked for
        follow_ups.close_open(session, application.id, FollowUpKind.RELEASE, actor=actor,
                              now=now, note=f"Entscheidung geändert: {decision}.")
    if decision == WITHDRAWN and was_accepted:
        changes += _move_up(session, application.round_name, actor=actor, now=now)
    return changes


@dataclass(frozen=True)
class Candidate:
    """What the rules need to know of an application and its current decision."""

    label: str  # "Az. (Kommune)"
    status: str  # ApplicationStatus
    round_name: str
    current: str | None  # its decision so far


def needs_seat(decision: str, current: str | None) -> bool:
    """Whether ``decision`` takes one more of the round's seats."""
    return decision == ACCEPTED and current != ACCEPTED


def check_decision(candidate: Candidate, decision: str, *, seats: int, taken: int,
                   rank: int | None, reason: str | None, override: str | None) -> None:
    """SelectionError (German) when the rules do not allow ``decision``; ``taken``: the seats
    of the round already accepted (counts only where ``needs_seat``)."""
    label = candidate.label
    if decision in (ACCEPTED, WAITING) and candidate.status != \
            ApplicationStatus.REGISTERED.value and not (override and override.strip()):
        state = "verspätet eingegangen" if candidate.status == ApplicationStatus.LATE.value \
            else "durch eine neuere Bewerbung ersetzt"
        raise SelectionError(f"{label} ist {state}; annehmen oder auf die Warteliste setzen "
                             "nur mit einer Ausnahme und deren Begründung{wo}.",
                             field="ausnahme")
    if needs_seat(decision, candidate.current) and taken >= seats:
        raise SelectionError(f"Alle {seats} Plätze der Runde {candidate.round_name} "
                             f"sind vergeben; {label} kann nur auf die Warteliste.")
    if decision == WAITING and (rank is None or rank < 1):
        raise SelectionError(f"Für die Warteliste fehlt der Rang von {label}{{wo}}.",
                             field="rang")
    if decision == REJECTED and reason not in REJECTION_REASONS:
        raise SelectionError(f"Für die Absage an {label} fehlt eine Begründungsart{{wo}}: "
                             f"{', '.join(REJECTION_REASONS)}.", field="grund")
    if decision == WITHDRAWN and candidate.current not in (ACCEPTED, WAITING):
        raise SelectionError(f"{label} ist weder angenommen noch auf der Warteliste und kann "
                             "daher nicht zurückziehen.")


def _record(session: Session, application: ApplicationRow, current: DecisionRow | None,
            decision: str, *, actor: str, now: datetime, rank: int | None,
            reason: str | None, override: str | None, moved_up: bool = False) -> Change:
    before = None if current is None else _describe(current)
    row = current or DecisionRow(application_id=application.id,
                                 round_name=application.round_name)
    row.decision, row.rank, row.reason_category = decision, rank, reason
    row.override_reason = override.strip() if override and override.strip() else None
    row.moved_up, row.decided_by, row.decided_at = moved_up, actor, now
    decisions_register.save_decision(session, row)
    after = _describe(row)
    register.log_event(session, actor=actor, action="entscheidung", subject=application.az,
                       detail={"vorher": before, "nachher": after,
                               "ausnahme": row.override_reason, "nachgerueckt": moved_up})
    return Change(application.az, application.kommune_name, before, after, moved_up)


def _move_up(session: Session, round_name: str, *, actor: str, now: datetime) -> list[Change]:
    waiting = decisions_register.first_ranked(session, round_name, WAITING)
    if waiting is None:
        return []
    application = register.application_of(session, waiting.application_id)
    assert application is not None
    return [_record(session, application, waiting, ACCEPTED, actor=actor, now=now, rank=None,
                    reason=None, override=waiting.override_reason, moved_up=True)]


def _describe(row: DecisionRow) -> str:
    return describe(row.decision, rank=row.rank, reason=row.reason_category,
                    moved_up=row.moved_up)


def describe(decision: str | None, *, rank: int | None, reason: str | None,
             moved_up: bool) -> str:
    """A decision in the words of the log, e.g. ``warteliste (Rang 2)``."""
    if decision == WAITING:
        return f"{WAITING} (Rang {rank})"
    if decision == REJECTED:
        return f"{REJECTED} ({reason})"
    return (decision or "offen") + (" (nachgerückt)" if moved_up else "")


def accepted(session: Session, round_name: str) -> list[DecisionRow]:
    return decisions_register.decided(session, round_name, ACCEPTED)


def round_overview(session: Session, round_name: str) -> list[dict[str, object]]:
    """Every current application of the round with its decision, for lists and exports."""
    rows = decisions_register.current_with_decisions(session, round_name)
    return [{"az": app.az, "kommune_name": app.kommune_name, "status": app.status,
             "entscheidung": decision.decision if decision else None,
             "rang": decision.rank if decision else None,
             "grund": decision.reason_category if decision else None,
             "ausnahme": decision.override_reason if decision else None,
             "nachgerueckt": decision.moved_up if decision else False,
             "von": decision.decided_by if decision else None,
             "am": decision.decided_at.isoformat() if decision else None}
            for app, decision in rows]
