"""The retention periods of the Löschkonzept from ``config/aufbewahrung.toml``, checked with
pydantic; a broken file is reported in German (I/O: reads the file)."""

from __future__ import annotations

import tomllib
from datetime import date, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ews.core.config_values import german_errors
from ews.core.deadlines import BERLIN, add_months, end_of_day
from ews.core.errors import ConfigurationError

#: the retention classes as they appear in the deletion log
NOT_SELECTED = "nicht-ausgewaehlt"
PARTICIPANT = "teilnahme"
QUARANTINE = "quarantaene"
EXPORTS = "exporte"
NETWORK = "netzwerk-ansprechperson"
BACKUPS = "sicherungen"
REQUEST = "antrag-betroffene-person"
PREFECT_RUNS = "prefect-laeufe"
CIRCULARS = "rundschreiben-versand"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NotSelected(_Section):
    """Applications not selected: months after the notice, then anonymised."""

    monate: int = Field(default=6, ge=1, le=120)


class Participants(_Section):
    """Participants: years after the round's Verwendungsnachweis."""

    jahre: int = Field(default=5, ge=1, le=30)


class Days(_Section):
    tage: int = Field(ge=1, le=3650)


class Retention(_Section):
    """The whole file; every section may be left out (its default applies)."""

    nicht_ausgewaehlt: NotSelected = NotSelected()
    teilnahme: Participants = Participants()
    quarantaene: Days = Days(tage=90)
    exporte: Days = Days(tage=180)
    #: circulars' send ledgers and mails (the addresses and salutations they went to)
    rundschreiben: Days = Days(tage=365)
    #: Prefect's flow runs with their logs and artifacts (they name files and municipalities)
    prefect: Days = Days(tage=90)
    #: round name → the day its Verwendungsnachweis was submitted (earlier rounds; the open
    #: round's comes from EWS_ROUND__PROOF_OF_USE_DATE)
    verwendungsnachweis: dict[str, date] = Field(default_factory=dict)

    def proof_of_use(self, round_name: str, current: tuple[str, date | None]) -> date | None:
        if round_name == current[0] and current[1] is not None:
            return current[1]
        return self.verwendungsnachweis.get(round_name)

    def longest_months(self) -> int:
        """The longest period of any class in months (backups older than it are deleted)."""
        return max(12 * self.teilnahme.jahre, self.nicht_ausgewaehlt.monate,
                   -(-self.quarantaene.tage // 30), -(-self.exporte.tage // 30),
                   -(-self.rundschreiben.tage // 30))


def read_retention(path: Path) -> Retention:
    """The periods in ``path``; the defaults when it does not exist."""
    if not path.exists():
        return Retention()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: keine gültige TOML-Datei ({exc}).") from exc
    try:
        return Retention.model_validate(raw)
    except ValidationError as exc:
        raise ConfigurationError(f"{path}: {german_errors(exc)}") from exc


def due_after_notice(notice: datetime, retention: Retention) -> datetime:
    """When an application not selected is due: the end of the day, months after its notice."""
    day = notice.astimezone(BERLIN).date()
    return end_of_day(add_months(day, retention.nicht_ausgewaehlt.monate))


def due_after_proof(proof: date, retention: Retention) -> datetime:
    """When a participant's case is due: years after the Verwendungsnachweis."""
    return end_of_day(add_months(proof, 12 * retention.teilnahme.jahre))
