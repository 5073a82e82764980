"""Shared fixtures: settings built explicitly over temporary folders, sample PDFs."""

from __future__ import annotations

import os
import tempfile
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest

# Prefect reads its settings on import: keep test runs out of the user's Prefect home.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="ews-prefect-")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.pop("PREFECT_API_URL", None)

from pydantic import SecretStr  # noqa: E402

from ews.runtime.settings import (  # noqa: E402
    IntakeSettings,
    LetterSettings,
    NetworkSettings,
    RoundSettings,
    Settings,
)

REPO = Path(__file__).resolve().parent.parent
#: the key of the declaration's QR checksum in tests (tests/declgen.py signs with it)
QR_KEY = "test-schluessel-fuer-qr-codes-0123456789"


def open_deadline() -> date:
    """A deadline that is still open on the day the tests run, whatever day that is: passes
    that read the wall clock (``run_pass``, ``ews process``) register on-time applications.
    Tests that pin their own clock set their own deadline."""
    return date.today() + timedelta(days=120)


def make_settings(root: Path, **changes: object) -> Settings:
    values: dict[str, object] = {
        "inbox_dir": root / "inbox",
        "outbox_dir": root / "outbox",
        "data_dir": root / "data",
        "templates_dir": REPO / "templates",
        "round": RoundSettings(name="EWS 6", deadline=open_deadline()),
        "intake": IntakeSettings(stable_seconds=0.05, workers=2, ocr=True),
        "letters": LetterSettings(pdf=False),
        "network": NetworkSettings(qr_key=SecretStr(QR_KEY)),
    }
    values.update(changes)
    settings = Settings(_env_file=None, **values)  # type: ignore[arg-type]
    settings.inbox_dir.mkdir(parents=True, exist_ok=True)
    return settings


def cli_env(settings: Settings) -> dict[str, str]:
    """The environment under which ``ews`` (CliRunner) sees the same folders and round."""
    return {"EWS_INBOX_DIR": str(settings.inbox_dir), "EWS_OUTBOX_DIR": str(settings.outbox_dir),
            "EWS_DATA_DIR": str(settings.data_dir),
            "EWS_TEMPLATES_DIR": str(settings.templates_dir),
            "EWS_ROUND__NAME": settings.round.name,
            "EWS_ROUND__DEADLINE": settings.round.deadline.isoformat(),
            "EWS_ROUND__SEATS": str(settings.round.seats),
            "EWS_LETTERS__PDF": str(settings.letters.pdf).lower(),
            "EWS_NETWORK__QR_KEY": settings.network.qr_key.get_secret_value()}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


# -- Real mail servers (tests/mailserver.py), started once per session on 127.0.0.1 ------------
# aiosmtpd and imaplib2 are imported inside the fixtures, so collecting other tests stays fast.

from collections.abc import Iterator  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

if TYPE_CHECKING:
    from tests.support.mailserver import CuttingProxy, Dovecot, MailServers, SmtpServer
    from tests.support.pgserver import Postgres


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One PostgreSQL cluster (Debian's binaries, a temporary folder, 127.0.0.1) for the
    session, started when a test first asks for it; each test creates its own database."""
    from tests.support.pgserver import Postgres

    server = Postgres().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """A test once on each register: None for the embedded SQLite register in the data
    folder, else the URL of a fresh PostgreSQL database of the session's cluster."""
    if request.param == "sqlite":
        yield None
        return
    yield from fresh_database(request, "register")


def fresh_database(request: pytest.FixtureRequest, prefix: str) -> Iterator[str]:
    """For a fixture to ``yield from``: the URL of a new database ``prefix_…`` in the
    session's PostgreSQL cluster, dropped afterwards."""
    from ews.register.database import engine_for

    server = request.getfixturevalue("postgres")
    name = f"{prefix}_{uuid.uuid4().hex}"
    url = server.create_database(name)
    try:
        yield url
    finally:
        engine_for(url).dispose()
        server.drop_database(name)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """Dovecot with IMAP, IMAPS and LMTP; any address logs in with the password "geheim"."""
    from tests.support.mailserver import Dovecot, dovecot_binary

    if dovecot_binary() is None:
        pytest.fail(
            "Dovecot is not installed (Debian packages dovecot-imapd, dovecot-lmtpd). "
            "Run `make setup` (scripts/setup.sh) first.",
            pytrace=False,
        )
    server = Dovecot().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def smtp_server(dovecot: Dovecot) -> Iterator[SmtpServer]:
    """aiosmtpd (plain/STARTTLS on .port, implicit TLS on .tls_port) delivering into `dovecot`.

    AUTH PLAIN/LOGIN: ews@ews.test / geheim, also without TLS; AUTH is optional."""
    from tests.support.mailserver import SmtpServer

    server = SmtpServer(dovecot).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mail(dovecot: Dovecot, smtp_server: SmtpServer) -> MailServers:
    """Both mail servers, with empty mailboxes and no scripted SMTP failures."""
    from tests.support.mailserver import MailServers

    servers = MailServers(dovecot, smtp_server)
    servers.reset()
    return servers


@pytest.fixture
def imap_proxy(dovecot: Dovecot) -> Iterator[CuttingProxy]:
    """A CuttingProxy in front of Dovecot's plain IMAP port (disarmed)."""
    from tests.support.mailserver import CuttingProxy

    proxy = CuttingProxy(dovecot.imap_port).start()
    try:
        yield proxy
    finally:
        proxy.close()


# -- Markers for what a test needs (`make test-fast` leaves out every test that needs something) --

#: fixtures that start a server, by the marker of the server (their dependants included:
#: pytest lists a test's whole fixture closure in ``fixturenames``)
SERVER_FIXTURES = {"dovecot": frozenset({"dovecot", "smtp_server", "mail", "imap_proxy"}),
                   "postgresql": frozenset({"postgres"})}
FLOW_TESTS = Path(__file__).parent / "flows"  # each runs a Prefect server (prefect_test_harness)
#: what each server marker means for the clock guard: all of them are ``server``
SERVER_MARKERS = ("dovecot", "postgresql", "prefect_server", "browser")


def needs_postgresql(item: pytest.Item) -> bool:
    """``database_url`` asks for the cluster only in its ``postgresql`` instance."""
    callspec = getattr(item, "callspec", None)
    return callspec is not None and callspec.params.get("database_url") == "postgresql"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what each test needs, from the fixtures it uses: ``dovecot`` (Dovecot, the SMTP
    server in front of it), ``postgresql`` (the session's cluster), ``prefect_server`` (every
    test under tests/flows; others mark themselves). ``libreoffice`` is set by the modules
    and tests that convert letters to PDF/A.

    Each server marker adds ``server``: the clock guard leaves those tests out, because a server
    does not run under a shifted clock (Dovecot clears LD_PRELOAD for its imap processes, so
    their clock is the real one; imaplib2's timeouts stall under libfaketime)."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        for marker, names in SERVER_FIXTURES.items():
            if fixtures & names:
                item.add_marker(marker)
        if needs_postgresql(item):
            item.add_marker("postgresql")
        if FLOW_TESTS in Path(item.path).parents:
            item.add_marker("prefect_server")
        if any(item.get_closest_marker(marker) for marker in SERVER_MARKERS):
            item.add_marker("server")
