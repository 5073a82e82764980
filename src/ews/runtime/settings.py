"""Service settings from environment variables (prefix ``EWS_``, nested with ``__``) and
``config/ews.env``. Reads the environment only; builds no clients.

Longer than 300 lines because it is the one ``Settings`` class pydantic-settings builds, with
its nested sections: every ``EWS_`` name the office can set is found in this one file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_ENV_FILE = Path("config/ews.env")


class Workshop(BaseModel):
    """One workshop date of a round, as the Zusage lists it."""

    datum: date
    zeit: str = ""  # e.g. "10:00–16:00 Uhr"
    titel: str
    ort: str


def _default_workshops() -> list[Workshop]:
    return [
        Workshop(datum=date(2027, 5, 4), zeit="10:00–16:00 Uhr", titel="Auftaktworkshop",
                 ort="Düsseldorf"),
        Workshop(datum=date(2027, 9, 14), zeit="10:00–16:00 Uhr",
                 titel="Engagementstrategie entwickeln", ort="Dortmund"),
        Workshop(datum=date(2028, 2, 8), zeit="10:00–16:00 Uhr",
                 titel="Praxisprojekte und Abschluss", ort="Köln"),
    ]


class RoundSettings(BaseModel):
    """The application round currently open."""

    name: str = "EWS 6"
    deadline: date = date(2027, 3, 1)
    extended_until: date | None = None
    #: True when the call named the end date "unter Hinweis auf § 31 Abs. 3 S. 2 VwVfG":
    #: then it does not move past weekends and holidays.
    deadline_fixed: bool = False
    seats: int = Field(default=17, ge=1)
    #: the workshop dates the Zusage lists; as JSON in the environment, e.g.
    #: EWS_ROUND__WORKSHOPS='[{"datum": "2027-05-04", "titel": "Auftakt", "ort": "Köln"}]'
    workshops: list[Workshop] = Field(default_factory=_default_workshops)
    #: the team's release from duty must be confirmed this many days after the Zusage
    reply_days: int = Field(default=14, ge=1, le=120)
    #: a corrected form is asked for within this many days of the Mängelschreiben
    correction_days: int = Field(default=14, ge=1, le=120)
    #: the signed Gemeinsame Erklärung is asked back within this many days
    declaration_days: int = Field(default=28, ge=1, le=365)
    #: the day the round's Verwendungsnachweis was submitted (EWS_ROUND__PROOF_OF_USE_DATE);
    #: participants' data are kept five years from it (config/aufbewahrung.toml). None: not
    #: submitted yet, nothing of the round's participants is deleted. Earlier rounds' dates
    #: are listed in config/aufbewahrung.toml under [verwendungsnachweis]
    proof_of_use_date: date | None = None


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
    #: the shorter wait for a file that the inotify watch of ``ews serve`` saw its writer
    #: close (IN_CLOSE_WRITE) or that was renamed into the inbox whole, with no write since:
    #: the writer has let go of it, so the wait only has to outlast a writer that opens it
    #: once more at once (a copy that sets times or attributes after closing). A file still
    #: open for writing never counts as closed, however long its writer pauses: it waits for
    #: ``stable_seconds`` like every file that the watch did not see closed (files already
    #: there at the start, after an overflow of the kernel's queue, on a network share whose
    #: remote writes inotify never sees, passes in another process or without inotify)
    stable_after_close_seconds: float = Field(default=0.25, ge=0.0, le=60.0)
    poll_seconds: float = Field(default=5.0, gt=0.0)
    #: worker processes for reading and rendering; 0 means one per CPU core
    workers: int = Field(default=0, ge=0)
    max_file_mb: int = Field(default=50, ge=1)
    #: limits for reading one PDF in its worker process
    read_timeout_seconds: float = Field(default=120.0, gt=0)
    read_memory_mb: int = Field(default=1024, ge=256)
    ocr: bool = True
    ocr_max_pages: int = Field(default=4, ge=1)
    #: passes in which handling one input (a file or a mail) may fail before it is ended
    #: with the failure as its reason (quarantined); nothing is retried forever
    max_attempts: int = Field(default=3, ge=1)


class LetterSettings(BaseModel):
    """Letter output."""

    pdf: bool = True
    soffice: str = "soffice"
    timeout_seconds: float = Field(default=180.0, gt=0)
    batch_size: int = Field(default=50, ge=1)
    #: LibreOffice conversions at once, over every worker of the register (each one is a
    #: soffice process of about 200 MB with its own profile)
    parallel: int = Field(default=2, ge=1, le=16)
    #: keep one LibreOffice running per process (ews.letters.warm; needs Debian's
    #: python3-uno); without it, or while it is down, one soffice start per batch
    warm: bool = True
    #: the Python that can import ``uno`` (Debian's, not the service's own)
    uno_python: str = "/usr/bin/python3"
    #: a warm LibreOffice is restarted after this many documents (and after any error)
    restart_after: int = Field(default=200, ge=1)


Security = Literal["ssl", "starttls", "none"]


class ImapSettings(BaseModel):
    """The office mailbox that applications arrive in; without ``host`` there is none."""

    host: str | None = None
    #: None: 993 with ``ssl``, 143 otherwise
    port: int | None = Field(default=None, ge=1, le=65535)
    user: str = ""
    password: SecretStr = SecretStr("")
    folder: str = "INBOX"
    security: Security = "ssl"
    #: CA certificates to trust instead of the system's (a self-signed office server)
    ca_file: Path | None = None
    #: after the register committed a mail's outcome: move it to ``done_folder`` or set
    #: ``done_keyword`` on it
    done_action: Literal["move", "keyword"] = "move"
    done_folder: str = "Bewerbungen/Verarbeitet"
    done_keyword: str = "EWS-verarbeitet"
    #: a copy of every answer is stored here (IMAP APPEND); empty: none
    sent_folder: str = "Sent"
    #: mail for people (questions, replies without a known case): moved here and flagged
    staff_folder: str = "Zu bearbeiten"
    batch_size: int = Field(default=25, ge=1, le=500)
    timeout_seconds: float = Field(default=60.0, gt=0)
    #: IDLE is renewed after this long (servers drop it after 29 minutes, some earlier)
    idle_renew_seconds: float = Field(default=600.0, gt=0, le=1500)
    #: a full poll catches whatever IDLE missed
    poll_seconds: float = Field(default=300.0, gt=0)
    #: no successful contact with the server for this long is reported as an error
    silence_alarm_seconds: float = Field(default=1800.0, gt=0)
    max_attachment_mb: int = Field(default=25, ge=1)
    #: a mail with more PDFs (also in ZIPs) is not split into inputs but goes to staff
    max_pdfs_per_mail: int = Field(default=20, ge=1, le=500)
    #: the authserv-id of our own server's Authentication-Results headers (RFC 8601); None:
    #: only the topmost such header is trusted
    authserv_id: str | None = None
    #: a larger mail is not fetched whole: only its header, and it is answered as too large
    max_mail_mb: int = Field(default=50, ge=1)

    @property
    def account(self) -> str:
        return f"{self.user}@{self.host}"

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.security == "ssl" else 143)


class SmtpSettings(BaseModel):
    """The server that answers go out through; without ``host`` answers wait in the outbox."""

    host: str | None = None
    #: None: 465 with ``ssl``, 587 with ``starttls``, 25 otherwise
    port: int | None = Field(default=None, ge=1, le=65535)
    user: str = ""
    password: SecretStr = SecretStr("")
    security: Security = "starttls"
    ca_file: Path | None = None
    timeout_seconds: float = Field(default=60.0, gt=0)
    #: temporary failures (4xx) are retried this often, waiting ``retry_seconds`` × 2ⁿ
    max_attempts: int = Field(default=8, ge=1)
    retry_seconds: float = Field(default=60.0, ge=0)
    #: at most this many mails per minute (providers limit bulk sending); 0: no limit
    rate_per_minute: int = Field(default=0, ge=0)
    #: automatic answers to one address within 24 hours; beyond it none, noted for staff
    max_answers_per_sender_per_day: int = Field(default=5, ge=1, le=1000)

    @property
    def effective_port(self) -> int:
        return self.port or {"ssl": 465, "starttls": 587, "none": 25}[self.security]


class CircularSettings(BaseModel):
    """Circulars (``ews rundschreiben``) and scheduled mailings."""

    #: drafts, one folder each (``rundschreiben.md`` plus its attachments); default:
    #: ``rundschreiben`` in the data folder
    drafts_dir: Path | None = None
    #: default file reference of a new circular
    az: str = "13.0.70-001"
    #: the contact address file staff maintain (.csv or .xlsx); may be missing
    contacts_file: Path = Path("config/kontakte.csv")
    #: the scheduled mailings (TOML); may be missing
    plan_file: Path = Path("config/versandplan.toml")
    #: a Probelauf sends every mail here instead (default: the office's address)
    test_address: str | None = None
    #: circulars are queued in batches of this many mails (memory stays flat)
    batch_size: int = Field(default=100, ge=1, le=1000)


class FollowUpSettings(BaseModel):
    """Follow-ups (Wiedervorlagen): the daily check that reminds of overdue answers."""

    #: when the check runs (cron, Europe/Berlin; deployment ``wiedervorlagen``)
    cron: str = "0 8 * * *"

    @field_validator("cron")
    @classmethod
    def _five_fields(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError("EWS_FOLLOW_UPS__CRON muss fünf Felder haben: Minute Stunde Tag "
                             "Monat Wochentag, z. B. \"0 8 * * *\"")
        return " ".join(value.split())


class StorageSettings(BaseModel):
    """Where the service keeps its files: archived and quarantined originals, archived raw
    mails, letters and circulars, outgoing mails. Without ``url`` in the data folder
    (``archiv``, ``quarantaene``, ``postausgang``) and the outbox; with it under ``{url}/archiv``,
    ``/quarantaene``, ``/ausgang`` and ``/postausgang``: a folder, a ``file://`` URL (a mounted
    shared folder) or any other fsspec URL (``s3://bucket/ews``, ``sftp://host/pfad``)."""

    url: str | None = None
    #: fsspec storage options such as credentials; as JSON in the environment, e.g.
    #: EWS_STORAGE__OPTIONS='{"key": "…", "secret": "…"}'. Kept out of ``repr`` (logs)
    options: dict[str, Any] = Field(default_factory=dict, repr=False)

    @field_validator("url")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return value.strip() or None  # EWS_STORAGE__URL= left empty in the env file

    def root(self, folder: str) -> str | None:
        """``{url}/{folder}``, or None without a URL."""
        if self.url is None:
            return None
        return f"{self.url}{folder}" if self.url.endswith("/") else f"{self.url}/{folder}"


class NetworkSettings(BaseModel):
    """The Gemeinsame Erklärung of the Kommunen-Netzwerk and its QR code."""

    #: secret of the checksum (HMAC-SHA256) in the declaration's QR code: only a code the
    #: service printed files a returned declaration by itself. The same on every machine;
    #: scripts/setup.sh generates one. A new key invalidates the codes already sent.
    qr_key: SecretStr = SecretStr("")
    #: also file a returned declaration by itself without a valid checksum: a code printed
    #: before there were checksums, or only the Az. in its text (QR code unreadable). Off:
    #: staff check those and file them with ``ews netzwerk zuordnen``
    accept_unsigned: bool = False


#: Settings of every Prefect server the service runs (``ews serve``'s, the ephemeral one of a
#: single run, the cluster's ``ews-prefect-server.service``). Prefect's task run recorder
#: writes each task run event it is told of in a transaction of its own by default (batch
#: size 1): some 5 ms of server CPU per event, three events per task run, 0.3 s per pass of
#: 500, on the cores the passes share with the server. Batched, it writes them together at
#: least once a second: a task run shows in the UI up to a second later.
PREFECT_SERVER_ENVIRONMENT: Final[Mapping[str, str]] = MappingProxyType({
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
})


class PrefectSettings(BaseModel):
    """The local Prefect server started by ``ews serve``."""

    host: str = "127.0.0.1"
    port: int = 4200
    #: "user:password" of the Prefect API's basic authentication: ``ews serve`` starts its
    #: server with it (PREFECT_SERVER_API_AUTH_STRING) and every ``ews`` process uses it as
    #: client (PREFECT_API_AUTH_STRING); ``scripts/setup.sh`` writes a random one
    auth_string: SecretStr | None = None
    #: several workers (prefect.yaml): intake passes the watchers start at once for a large
    #: batch; the passes share the inputs chunk by chunk
    passes: int = Field(default=2, ge=1, le=32)
    #: several workers: a watcher works the first of those passes in its own process (its
    #: reading processes started with it), the others go to whichever worker is free; off,
    #: every pass is a run of ``pass_deployment`` (the watcher's machine reads nothing)
    watcher_pass: bool = True
    #: the intake deployment the watchers start, as "flow/deployment"
    pass_deployment: str = "posteingang/posteingang"


class WebSettings(BaseModel):
    """The office's web interface (``ews serve``, ``ews betrieb web``)."""

    host: str = "127.0.0.1"
    port: int = 8080
    #: signs the session cookies and CSRF tokens; scripts/setup.sh writes a random one.
    #: Empty: a new random key per start (everyone signs in again after a restart)
    secret: SecretStr = SecretStr("")
    #: a session ends this many minutes after sign-in
    session_minutes: int = Field(default=480, ge=5, le=24 * 60)
    #: failed sign-ins per user name and per client address within ``throttle_minutes``
    #: before further attempts are refused until the window has passed
    max_failures: int = Field(default=5, ge=1)
    throttle_minutes: int = Field(default=15, ge=1)


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
    imap: ImapSettings = ImapSettings()
    smtp: SmtpSettings = SmtpSettings()
    rundschreiben: CircularSettings = CircularSettings()
    follow_ups: FollowUpSettings = FollowUpSettings()
    storage: StorageSettings = StorageSettings()
    network: NetworkSettings = NetworkSettings()
    web: WebSettings = WebSettings()
    #: sender address of answers (default: the office's e-mail address)
    mail_from: str | None = None
    #: the retention periods (Löschkonzept, TOML); missing: the defaults of ews.retention
    retention_file: Path = Path("config/aufbewahrung.toml")

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
    def archive_root(self) -> str | Path:
        """Where originals and raw mails are archived: ``archive_dir`` or a storage URL."""
        return self.storage.root("archiv") or self.archive_dir

    @property
    def quarantine_root(self) -> str | Path:
        """Where unusable originals go: ``quarantine_dir`` or a storage URL."""
        return self.storage.root("quarantaene") or self.quarantine_dir

    @property
    def output_root(self) -> str | Path:
        """Letters and circulars: ``outbox_dir`` or ``{storage URL}/ausgang``."""
        return self.storage.root("ausgang") or self.outbox_dir

    @property
    def outgoing_mail_root(self) -> str | Path:
        """Outgoing mails (.eml): ``postausgang_dir`` or ``{storage URL}/postausgang``."""
        return self.storage.root("postausgang") or self.postausgang_dir

    @property
    def mail_dir(self) -> Path:
        """PDFs taken from mails, until the intake files them: a hidden folder in the inbox,
        which on several machines is the one folder they share, so that any worker finishes
        what another took from the mailbox."""
        return self.inbox_dir / ".ews-mail-eingang"

    @property
    def postausgang_dir(self) -> Path:
        """Every outgoing mail as written before it is sent."""
        return self.data_dir / "postausgang"

    @property
    def drafts_dir(self) -> Path:
        """Drafts of circulars, one folder each."""
        return self.rundschreiben.drafts_dir or self.data_dir / "rundschreiben"

    @property
    def circulars_dir(self) -> Path:
        """Issued circulars: documents, frozen text and attachments, one folder each."""
        return self.outbox_dir / "rundschreiben"

    @property
    def sender_address(self) -> str:
        return self.mail_from or self.office.email

    @property
    def worker_count(self) -> int:
        """``intake.workers``, else the cores this process may run on (``taskset``, a
        container's cpuset), not every core of the machine."""
        return self.intake.workers or len(os.sched_getaffinity(0)) or 1


def settings_environment(settings: Settings) -> dict[str, str]:
    """The ``EWS_`` variables under which ``Settings()`` builds these settings again, nested
    models as JSON; fields that are None are left out. Secrets are in clear: only for the
    environment of a child process or a test, never for anything stored or shown."""
    environment = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr | Path | date):
            value = _plain(value)
        text = value if isinstance(value, str) else json.dumps(value, default=_plain)
        environment[f"EWS_{name.upper()}"] = text
    return environment


def _plain(value: object) -> object:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not representable in the environment: {type(value).__name__}")
