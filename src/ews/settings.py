"""Service settings from environment variables (prefix ``EWS_``, nested with ``__``) and
``config/ews.env``. Reads the environment only; builds no clients."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_ENV_FILE = Path("config/ews.env")


class RoundSettings(BaseModel):
    """The application round currently open."""

    name: str = "EWS 6"
    deadline: date = date(2027, 3, 1)
    extended_until: date | None = None
    #: True when the call named the end date "unter Hinweis auf § 31 Abs. 3 S. 2 VwVfG":
    #: then it does not move past weekends and holidays.
    deadline_fixed: bool = False
    seats: int = Field(default=17, ge=1)


class AzSettings(BaseModel):
    """Aktenzeichen scheme: ``{file_plan_key}-{serial}/{year}``, e.g. ``13.0.70-007/2026``."""

    file_plan_key: str = "13.0.70"
    serial_digits: int = Field(default=3, ge=1, le=6)

    @field_validator("file_plan_key")
    @classmethod
    def _dotted_numbers(cls, value: str) -> str:
        parts = value.split(".")
        if not all(part.isdigit() for part in parts):
            raise ValueError("Aktenplankennzeichen muss aus Ziffern und Punkten bestehen")
        return value


class OfficeSettings(BaseModel):
    """The sender printed on every letter."""

    name: str = "Forum für soziale Innovation gGmbH"
    unit: str = "Entwicklungswerkstatt für kommunale Engagementstrategien"
    street: str = "Musterstraße 1"
    plz: str = "42103"
    ort: str = "Wuppertal"
    phone: str = "0202 000000-0"
    email: str = "ews@example.org"
    website: str = "www.engagiert-in-nrw.de"
    contact_name: str = "Programmbüro EWS"
    signer_name: str = "Programmleitung"
    signer_function: str = "Entwicklungswerkstatt"
    register_note: str = "Amtsgericht Wuppertal HRB 00000 · Geschäftsführung: N. N."


class IntakeSettings(BaseModel):
    """How the inbox is watched and inputs are read."""

    #: a file is taken once its size and mtime stayed unchanged this long
    stable_seconds: float = Field(default=1.0, ge=0.0, le=60.0)
    poll_seconds: float = Field(default=5.0, gt=0.0)
    #: worker processes for reading and rendering; 0 means one per CPU core
    workers: int = Field(default=0, ge=0)
    max_file_mb: int = Field(default=50, ge=1)
    #: limits for reading one PDF in its worker process
    read_timeout_seconds: float = Field(default=120.0, gt=0)
    read_memory_mb: int = Field(default=1024, ge=256)
    ocr: bool = True
    ocr_max_pages: int = Field(default=4, ge=1)


class LetterSettings(BaseModel):
    """Letter output."""

    pdf: bool = True
    soffice: str = "soffice"
    timeout_seconds: float = Field(default=180.0, gt=0)
    batch_size: int = Field(default=50, ge=1)


class PrefectSettings(BaseModel):
    """The local Prefect server started by ``ews serve``."""

    host: str = "127.0.0.1"
    port: int = 4200


class Settings(BaseSettings):
    """All settings; build explicitly in tests: ``Settings(_env_file=None, inbox_dir=...)``."""

    model_config = SettingsConfigDict(
        env_prefix="EWS_",
        env_nested_delimiter="__",
        env_file=DEFAULT_ENV_FILE,
        env_file_encoding="utf-8",
        extra="ignore",
    )

    inbox_dir: Path = Path("inbox")
    outbox_dir: Path = Path("outbox")
    data_dir: Path = Path("data")
    templates_dir: Path = Path("templates")
    database_url: SecretStr | None = None
    round: RoundSettings = RoundSettings()
    az: AzSettings = AzSettings()
    office: OfficeSettings = OfficeSettings()
    intake: IntakeSettings = IntakeSettings()
    letters: LetterSettings = LetterSettings()
    prefect: PrefectSettings = PrefectSettings()

    @property
    def db_url(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'register.sqlite3').resolve()}"

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archiv"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantaene"

    @property
    def worker_count(self) -> int:
        return self.intake.workers or (os.cpu_count() or 1)
