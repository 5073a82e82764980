"""The plan of scheduled mailings (``config/versandplan.toml``) and when each one is due.

Two kinds of entries, both in Europe/Berlin time:

- ``zeitplan``: a cron line, e.g. ``"0 9 1-7 * 2"`` (the first Tuesday of every month at
  09:00). Unlike classic cron, a day of the month *and* a weekday must both match.
- ``tage_vor_frist``: a reminder N days before the last day of the round's deadline, with
  the intake's calendar (the deadline moved past weekends and NRW holidays, an extension
  counted); a reminder day on a weekend or holiday moves back to the Werktag before. It is
  checked every day at ``uhrzeit``; a run that was missed goes out the next day, as long as
  the deadline has not passed.

Each due occasion is a *slot* (``name@date``): one circular per slot, whoever runs it and
however often.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from ews.core.config_values import ClockTime, german_errors
from ews.core.deadlines import BERLIN, Deadline, is_werktag
from ews.core.errors import PlanError
from ews.runtime.settings import RoundSettings

TIMEZONE = BERLIN.key


class Mailing(BaseModel):
    """One entry of the plan."""

    model_config = {"extra": "forbid"}

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,40}$")
    entwurf: str  # the draft used as the text of every issue
    zeitplan: str | None = None
    tage_vor_frist: int | None = Field(default=None, ge=1, le=120)
    uhrzeit: ClockTime = "09:00"
    verteiler: str | None = None  # instead of the draft's
    probelauf: bool = False  # every mail to the staff address instead; nothing is issued
    aktiv: bool = True

    @field_validator("zeitplan")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None and len(value.split()) != 5:
            raise ValueError("zeitplan muss fünf Felder haben: Minute Stunde Tag Monat Wochentag")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Mailing:
        if (self.zeitplan is None) == (self.tage_vor_frist is None):
            raise ValueError("entweder zeitplan oder tage_vor_frist angeben")
        return self

    @property
    def cron(self) -> str:
        """The cron line the deployment is scheduled with (reminders: daily)."""
        if self.zeitplan is not None:
            return self.zeitplan
        hour, minute = self.uhrzeit.split(":")
        return f"{int(minute)} {int(hour)} * * *"

    @property
    def deployment_name(self) -> str:
        return f"versand-{self.name}"


def read_plan(path: Path) -> list[Mailing]:
    """The mailings of the plan file (none when it does not exist)."""
    if not path.is_file():
        return []
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PlanError(f"Versandplan {path} ist fehlerhaft: {exc}") from exc
    entries: list[Any] = raw.get("versand", [])
    mailings = []
    for number, entry in enumerate(entries, start=1):
        try:
            mailings.append(Mailing.model_validate(entry))
        except ValidationError as exc:
            raise PlanError(f"Versandplan {path}, Eintrag {number}: "
                            f"{german_errors(exc, whole='Eintrag')}") from exc
    names = [m.name for m in mailings]
    if len(set(names)) != len(names):
        raise PlanError(f"Versandplan {path}: jeder Name darf nur einmal vorkommen.")
    return mailings


def mailing_named(path: Path, name: str) -> Mailing:
    for mailing in read_plan(path):
        if mailing.name == name:
            return mailing
    raise PlanError(f"Im Versandplan {path} gibt es keinen Versand „{name}“.")


def reminder_day(round_settings: RoundSettings, days_before: int) -> date:
    """The day a deadline reminder is due: N days before the deadline's last day, moved back
    to a Werktag."""
    deadline = Deadline(round_settings.deadline, round_settings.extended_until,
                        round_settings.deadline_fixed)
    day = deadline.last_day - timedelta(days=days_before)
    while not is_werktag(day):
        day -= timedelta(days=1)
    return day


@dataclass(frozen=True)
class Occasion:
    """What a run of a mailing at ``moment`` should do: issue for ``slot``, or nothing
    (``reason`` in German)."""

    slot: str | None
    reason: str


def occasion(mailing: Mailing, round_settings: RoundSettings, moment: datetime) -> Occasion:
    """The slot a run at ``moment`` (its scheduled time) belongs to."""
    today = moment.astimezone(BERLIN).date()
    if mailing.tage_vor_frist is None:
        return Occasion(f"{mailing.name}@{today.isoformat()}", "planmäßiger Termin")
    due = reminder_day(round_settings, mailing.tage_vor_frist)
    last_day = Deadline(round_settings.deadline, round_settings.extended_until,
                        round_settings.deadline_fixed).last_day
    if today < due:
        return Occasion(None, f"Erinnerung erst am {due:%d.%m.%Y} fällig.")
    if today > last_day:
        return Occasion(None, f"Frist ist am {last_day:%d.%m.%Y} abgelaufen; keine Erinnerung "
                              "mehr.")
    return Occasion(f"{mailing.name}@{round_settings.name}@{due.isoformat()}",
                    f"Erinnerung {mailing.tage_vor_frist} Tage vor Fristende "
                    f"({last_day:%d.%m.%Y})")
