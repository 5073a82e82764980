"""Legal holds (Sperre): a held case is exempt from every deletion until the hold is
lifted; setting and lifting are written to the events and the deletion log (I/O: database
through the caller's session)."""

from __future__ import annotations

from datetime import datetime

from ews.core.errors import EwsError
from ews.register import cases as register
from ews.register import retention as queries
from ews.register.database import Session
from ews.register.retention_tables import LegalHold

HOLD = "sperre"
LIFT = "sperre-aufgehoben"


class HoldError(EwsError):
    """A hold that cannot be set or lifted (message in German)."""


def set_hold(session: Session, az: str, reason: str, actor: str, now: datetime) -> LegalHold:
    """Hold the case ``az`` (``ews akte AZ --sperre "Grund"``, ``ews datenschutz sperre``)."""
    az = az.strip()
    if register.application_by_az(session, az) is None:
        raise HoldError(f"Kein Vorgang mit dem Aktenzeichen {az}.")
    if not reason.strip():
        raise HoldError("Bitte einen Grund für die Sperre angeben.")
    held = queries.active_hold(session, az)
    if held is not None:
        raise HoldError(f"{az} ist schon seit {held.set_at:%d.%m.%Y} gesperrt.")
    hold = queries.add_hold(session, LegalHold(az=az, reason=reason.strip(), set_by=actor,
                                               set_at=now))
    _note(session, az, HOLD, reason, actor, now)
    return hold


def lift_hold(session: Session, az: str, reason: str, actor: str, now: datetime) -> LegalHold:
    """Lift the hold on ``az``; the case's periods apply again from the next run."""
    az = az.strip()
    hold = queries.active_hold(session, az)
    if hold is None:
        raise HoldError(f"{az} ist nicht gesperrt.")
    if not reason.strip():
        raise HoldError("Bitte einen Grund für die Aufhebung angeben.")
    hold.lifted_by, hold.lifted_at, hold.lift_reason = actor, now, reason.strip()
    _note(session, az, LIFT, reason, actor, now)
    return hold


def _note(session: Session, az: str, action: str, reason: str, actor: str, now: datetime
          ) -> None:
    register.log_event(session, actor=actor, action=action, subject=az,
                       detail={"grund": reason.strip()})
    queries.add_log(session, at=now, actor=actor, rule=action, way=action, az=az,
                    record_ids={}, counts={}, note=reason.strip())
