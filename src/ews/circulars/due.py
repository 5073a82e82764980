"""Whether a scheduled mailing of the Versandplan has something to do when its run starts
(``versand``): the run's moment, its slot, and the list it goes to. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ews.circulars.distribution import ListSpec
from ews.circulars.schedule import Mailing, occasion
from ews.runtime.settings import RoundSettings


@dataclass(frozen=True)
class Due:
    """The slot to issue and send for, or None with the German reason why nothing is due."""

    slot: str | None
    reason: str


def run_moment(scheduled: datetime | None, now: datetime) -> datetime:
    """The moment a run without a given date stands for: its scheduled start (as a plain
    ``datetime``, whatever Prefect hands over), else ``now``."""
    return datetime.fromisoformat(scheduled.isoformat()) if scheduled else now


def mailing_due(mailing: Mailing, round_settings: RoundSettings, moment: datetime) -> Due:
    """The slot of a run of ``mailing`` at ``moment``, if the mailing is due and switched on."""
    slot = occasion(mailing, round_settings, moment)
    if slot.slot is None:
        return Due(None, f"Versand „{mailing.name}“: nichts zu tun – {slot.reason}")
    if not mailing.aktiv:
        return Due(None, f"Versand „{mailing.name}“ ist im Versandplan ausgeschaltet "
                         "(aktiv = false).")
    return Due(slot.slot, slot.reason)


def mailing_list(mailing: Mailing, draft_list: ListSpec, round_name: str) -> ListSpec:
    """The Verteiler of a mailing: its own from the plan, else the draft's."""
    return ListSpec.parse(mailing.verteiler, round_name) if mailing.verteiler else draft_list
