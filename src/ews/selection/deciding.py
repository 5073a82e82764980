"""One decision as staff make it (``ews auswahl entscheiden``, the Prefect form
``auswahl``): in its own transaction, at the wall clock, for the running round's
seats. Opens a register session; the rules are ``ews.selection.decisions.decide``."""

from __future__ import annotations

from datetime import UTC, datetime

from ews.register.database import transaction
from ews.runtime.settings import Settings
from ews.selection.decisions import Change, decide


def decide_now(settings: Settings, az: str, decision: str, *, actor: str,
               rank: int | None = None, reason: str | None = None,
               override: str | None = None, now: datetime | None = None) -> list[Change]:
    """Record one decision and commit it; returns every change it caused. Raises
    ``SelectionError`` (nothing changed) when the rules refuse it."""
    with transaction(settings.db_url) as session:
        return decide(session, az, decision, seats=settings.round.seats, actor=actor,
                      now=now or datetime.now(UTC), rank=rank, reason=reason,
                      override=override)
