"""Secrets out of text: URL passwords, the settings' secret values, errors and log records."""

from __future__ import annotations

import logging

from sqlalchemy.exc import ArgumentError

from ews.runtime.redaction import (
    MASK,
    RedactingFilter,
    redact,
    redact_exception,
    redact_url,
    secret_values,
)
from ews.runtime.settings import Settings


def _settings() -> Settings:
    return Settings(_env_file=None, database_url="postgresql://ews:db-geheim@db.example/ews",
                    imap={"password": "imap-geheim"}, smtp={"password": "smtp-geheim"},
                    storage={"url": "s3://ablage/ews", "options": {
                        "key": "AKIA-KEY", "secret": "s3-geheim", "anon": False,
                        "client_kwargs": {"endpoint_url": "https://s3.example.org",
                                          "aws_session_token": "token-geheim"}}},
                    prefect={"auth_string": "admin:prefect-geheim"})  # type: ignore[arg-type]


def test_a_url_loses_its_password_but_keeps_user_and_host() -> None:
    text = "Verbindung zu postgresql+psycopg://ews:g3h:eim@db.example:5432/ews fehlgeschlagen"
    assert redact_url(text) == ("Verbindung zu postgresql+psycopg://ews:***@db.example:5432/ews "
                                "fehlgeschlagen")
    assert redact_url("http://127.0.0.1:4200/api") == "http://127.0.0.1:4200/api"


def test_the_secret_values_are_passwords_database_url_credentials_and_auth_string() -> None:
    found = set(secret_values(_settings()))
    assert {"imap-geheim", "smtp-geheim", "db-geheim", "AKIA-KEY", "s3-geheim",
            "token-geheim", "admin:prefect-geheim", "prefect-geheim"} <= found
    assert "https://s3.example.org" not in found  # an endpoint is no secret
    assert "" not in found  # unset passwords


def test_every_secret_in_a_text_is_masked() -> None:
    secrets = secret_values(_settings())
    text = "Anmeldung mit imap-geheim und {'key': 'AKIA-KEY', 'secret': 's3-geheim'}"
    assert redact(text, secrets) == f"Anmeldung mit {MASK} und {{'key': '{MASK}', " \
                                    f"'secret': '{MASK}'}}"


def test_an_error_and_its_cause_lose_the_secrets() -> None:
    secrets = secret_values(_settings())
    try:
        try:
            raise ArgumentError("Could not parse postgresql://ews:db-geheim@db.example/ews")
        except ArgumentError as cause:
            raise RuntimeError("Register nicht erreichbar (imap-geheim)") from cause
    except RuntimeError as exc:
        redact_exception(exc, secrets)
        assert "geheim" not in str(exc) and "geheim" not in str(exc.__cause__)
        assert str(exc) == f"Register nicht erreichbar ({MASK})"


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_a_log_record_and_its_traceback_lose_the_secrets() -> None:
    # a handler of its own: filters that other tests' flows attached to pytest's capturing
    # handlers (redact_logging reaches every handler of the process) must not mask first
    handler = _Lines()
    handler.addFilter(RedactingFilter(secret_values(_settings())))
    logger = logging.getLogger("ews.test-redaction")
    logger.addHandler(handler)
    try:
        raise ValueError("smtp-geheim abgelehnt")
    except ValueError:
        logger.exception("Versand an %s mit %s", "smtp://u:smtp-geheim@mail", "imap-geheim")
    finally:
        logger.removeHandler(handler)
    text = "\n".join(handler.lines)
    assert "geheim" not in text
    assert "Versand an smtp://u:***@mail mit ***" in text
    assert f"ValueError: {MASK} abgelehnt" in text
