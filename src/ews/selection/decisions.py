"""The selection of a round: who gets a seat (I/O: database).

The register's current applications of the round are the candidates. Staff decide each one:
``angenommen``, ``warteliste`` (with a rank) or ``abgelehnt`` (with a reason category); an
accepted municipality that withdraws becomes ``zurueckgezogen`` and the first one on the
waiting list moves up. Never more accepted than seats; a late or replaced application only with
an explicit override and its reason. Every change is logged with who, when and what changed.
The rules raise ``SelectionError`` with a German message; nothing is changed then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ews.core.errors import EwsError
from ews.core.models import ApplicationStatus
from ews.core.wording import REJECTION_REASONS
from ews.register import cases as register
from ews.register.schema import ApplicationRow, DecisionRow

ACCEPTED, WAITING, REJECTED, WITHDRAWN = "angenommen", "warteliste", "abgelehnt", \
    "zurueckgezogen"
DECISIONS = (ACCEPTED, WAITING, REJECTED, WITHDRAWN)


class SelectionError(EwsError):
    """A decision the rules do not allow (German message).

    ``field`` is the input to fix (``rang``, ``grund`` or ``ausnahme``); the command line, the
    decision sheet and the Prefect form each name it their own way (``worded``)."""

    _PLACE = "{wo}"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message.replace(self._PLACE, ""))
        self.template, self.field = message, field

    def worded(self, names: dict[str, str]) -> str:
        """The message with the place to fix it, e.g. ``{"rang": "Spalte „Rang“"}``."""
        place = f" ({names[self.field]})" if self.field in names else ""
        return self.template.replace(self._PLACE, place)


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
    current = _decision_of(session, application.id)
    _check(session, application, current, decision, seats=seats, rank=rank, reason=reason,
           override=override)
    was_accepted = current is not None and current.decision == ACCEPTED
    changes = [_record(session, application, current, decision, actor=actor, now=now,
                       rank=rank if decision == WAITING else None,
                       reason=reason if decision == REJECTED else None, override=override)]
    if decision == WITHDRAWN and was_accepted:
        changes += _move_up(session, application.round_name, actor=actor, now=now)
    return changes


def _check(session: Session, application: ApplicationRow, current: DecisionRow | None,
           decision: str, *, seats: int, rank: int | None, reason: str | None,
           override: str | None) -> None:
    label = f"{application.az} ({application.kommune_name})"
    if decision in (ACCEPTED, WAITING) and application.status != \
            ApplicationStatus.REGISTERED.value and not (override and override.strip()):
        state = "verspätet eingegangen" if application.status == ApplicationStatus.LATE.value \
            else "durch eine neuere Bewerbung ersetzt"
        raise SelectionError(f"{label} ist {state}; annehmen oder auf die Warteliste setzen "
                             "nur mit einer Ausnahme und deren Begründung{wo}.",
                             field="ausnahme")
    if decision == ACCEPTED and (current is None or current.decision != ACCEPTED):
        taken = len(accepted(session, application.round_name))
        if taken >= seats:
            raise SelectionError(f"Alle {seats} Plätze der Runde {application.round_name} "
                                 f"sind vergeben; {label} kann nur auf die Warteliste.")
    if decision == WAITING and (rank is None or rank < 1):
        raise SelectionError(f"Für die Warteliste fehlt der Rang von {label}{{wo}}.",
                             field="rang")
    if decision == REJECTED and reason not in REJECTION_REASONS:
        raise SelectionError(f"Für die Absage an {label} fehlt eine Begründungsart{{wo}}: "
                             f"{', '.join(REJECTION_REASONS)}.", field="grund")
    if decision == WITHDRAWN and (current is None or current.decision not in
                                  (ACCEPTED, WAITING)):
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
    session.add(row)
    session.flush()
    after = _describe(row)
    register.log_event(session, actor=actor, action="entscheidung", subject=application.az,
                       detail={"vorher": before, "nachher": after,
                               "ausnahme": row.override_reason, "nachgerueckt": moved_up})
    return Change(application.az, application.kommune_name, before, after, moved_up)


def _move_up(session: Session, round_name: str, *, actor: str, now: datetime) -> list[Change]:
    waiting = session.scalars(select(DecisionRow).where(
        DecisionRow.round_name == round_name, DecisionRow.decision == WAITING)
        .order_by(DecisionRow.rank, DecisionRow.id)).first()
    if waiting is None:
        return []
    application = session.get(ApplicationRow, waiting.application_id)
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


def _decision_of(session: Session, application_id: int) -> DecisionRow | None:
    return session.scalars(select(DecisionRow).where(
        DecisionRow.application_id == application_id)).first()


def accepted(session: Session, round_name: str) -> list[DecisionRow]:
    return list(session.scalars(select(DecisionRow).where(
        DecisionRow.round_name == round_name, DecisionRow.decision == ACCEPTED)))


def round_overview(session: Session, round_name: str) -> list[dict[str, object]]:
    """Every current application of the round with its decision, for lists and exports."""
    rows = session.execute(
        select(ApplicationRow, DecisionRow)
        .outerjoin(DecisionRow, DecisionRow.application_id == ApplicationRow.id)
        .where(ApplicationRow.round_name == round_name,
               ApplicationRow.status != ApplicationStatus.REPLACED.value)
        .order_by(ApplicationRow.az_year, ApplicationRow.az_serial)).all()
    return [{"az": app.az, "kommune_name": app.kommune_name, "status": app.status,
             "entscheidung": decision.decision if decision else None,
             "rang": decision.rank if decision else None,
             "grund": decision.reason_category if decision else None,
             "ausnahme": decision.override_reason if decision else None,
             "nachgerueckt": decision.moved_up if decision else False,
             "von": decision.decided_by if decision else None,
             "am": decision.decided_at.isoformat() if decision else None}
            for app, decision in rows]
