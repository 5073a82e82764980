"""When backups are made, where they go and how many are kept: ``config/sicherung.toml``
(reads one file; a missing file means the defaults)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, field_validator

from ews.core.errors import PlanError

PLAN_FILE = Path("config/sicherung.toml")
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class BackupPlan(BaseModel):
    """The ``[sicherung]`` table of ``config/sicherung.toml``."""

    model_config = {"extra": "forbid"}

    #: the folder the backups go to: best a disk or share other than the data folder's
    ziel: Path = Path("sicherungen")
    #: daily, at this time (Europe/Berlin)
    uhrzeit: str = "02:30"
    #: the newest this many backups are kept, older ones deleted after each new one
    behalten: int = Field(default=14, ge=1, le=3650)
    #: also the passwords and keys of config/ews.env (then keep the backups safe)
    mit_geheimnissen: bool = False
    aktiv: bool = True

    @field_validator("uhrzeit")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError("uhrzeit muss die Form 02:30 haben")
        return value

    @property
    def cron(self) -> str:
        hour, minute = (int(part) for part in self.uhrzeit.split(":"))
        return f"{minute} {hour} * * *"


def read_backup_plan(path: Path = PLAN_FILE) -> BackupPlan:
    """The plan in ``path``; the defaults when there is no such file."""
    if not path.exists():
        return BackupPlan()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        return BackupPlan.model_validate(document.get("sicherung", {}))
    except (tomllib.TOMLDecodeError, ValidationError, UnicodeDecodeError) as exc:
        raise PlanError(f"{path}: {exc}") from exc
