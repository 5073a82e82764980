"""When backups are made, where they go and how many are kept: ``config/sicherung.toml``
(reads one file; a missing file means the defaults)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from ews.core.config_values import ClockTime, german_errors
from ews.core.errors import PlanError

PLAN_FILE = Path("config/sicherung.toml")


class BackupPlan(BaseModel):
    """The ``[sicherung]`` table of ``config/sicherung.toml``."""

    model_config = {"extra": "forbid"}

    #: the folder the backups go to: best a disk or share other than the data folder's
    ziel: Path = Path("sicherungen")
    #: daily, at this time (Europe/Berlin)
    uhrzeit: ClockTime = "02:30"
    #: the newest this many backups are kept, older ones deleted after each new one
    behalten: int = Field(default=14, ge=1, le=3650)
    #: also the passwords and keys of config/ews.env (then keep the backups safe)
    mit_geheimnissen: bool = False
    aktiv: bool = True

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
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PlanError(f"{path}: keine gültige TOML-Datei ({exc}).") from exc
    try:
        return BackupPlan.model_validate(document.get("sicherung", {}))
    except ValidationError as exc:
        raise PlanError(f"{path}: {german_errors(exc)}") from exc
