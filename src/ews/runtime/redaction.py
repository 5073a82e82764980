"""Secrets out of text meant for people, logs and Prefect: passwords in URLs and the known
secret values of the settings become ``***``. Pure (no I/O); the logging filter only rewrites
records it is handed."""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable, Mapping
from typing import Any

from ews.runtime.settings import Settings

MASK = "***"
#: shorter secrets are masked only as the password of a URL: masking every "ab" in a text
#: would make it unreadable and give the secret away just the same
MIN_SECRET_LENGTH = 4
#: storage options whose values are credentials (fsspec: key/secret, token, password, …)
_SECRET_OPTION = re.compile(r"key|secret|token|passw|credential|auth|session|signature",
                            re.IGNORECASE)
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]*):(?P<password>[^\s@/]+)@")


def redact_url(text: str) -> str:
    """``scheme://user:password@host`` anywhere in ``text`` as ``scheme://user:***@host``."""
    return _URL_PASSWORD.sub(lambda match: f"{match['head']}:{MASK}@", text)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without URL passwords and without any of ``secrets``."""
    text = redact_url(text)
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= MIN_SECRET_LENGTH:
            text = text.replace(secret, MASK)
    return text


def secret_values(settings: Settings) -> list[str]:
    """Every secret the settings hold: the mail passwords, the database URL and its
    password, the credentials among the storage options, the Prefect API's auth string."""
    secrets = [settings.imap.password.get_secret_value(),
               settings.smtp.password.get_secret_value()]
    if settings.database_url is not None:
        url = settings.database_url.get_secret_value()
        secrets += [url, *_url_passwords(url)]
    if settings.storage.url:
        secrets += _url_passwords(settings.storage.url)
    secrets += _option_secrets(settings.storage.options)
    if settings.prefect.auth_string is not None:
        auth = settings.prefect.auth_string.get_secret_value()
        secrets += [auth, auth.partition(":")[2]]
    secrets.append(settings.web.secret.get_secret_value())
    return [secret for secret in secrets if secret]


def _url_passwords(url: str) -> list[str]:
    return [match["password"] for match in _URL_PASSWORD.finditer(url)]


def _option_secrets(options: Mapping[str, Any], secret: bool = False) -> list[str]:
    found: list[str] = []
    for name, value in options.items():
        named_secret = secret or bool(_SECRET_OPTION.search(str(name)))
        if isinstance(value, Mapping):
            found += _option_secrets(value, named_secret)
        elif isinstance(value, str) and named_secret:
            found.append(value)
    return found


def redact_exception(exc: BaseException, secrets: Iterable[str]) -> None:
    """Rewrite the text arguments of ``exc`` and of the exceptions it was raised from, so
    that what Prefect stores as the reason of a failed run (``str(exc)``) holds no secret.
    Exceptions that build their text from other attributes are left as they are."""
    secrets = list(secrets)
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        try:
            current.args = tuple(redact(arg, secrets) if isinstance(arg, str) else arg
                                 for arg in current.args)
        except (AttributeError, TypeError):  # args is read-only on a few C exceptions
            pass
        current = current.__cause__ or current.__context__


class RedactingFilter(logging.Filter):
    """Masks secrets in every record passing the handler it is attached to: the message,
    its arguments and the traceback."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__("ews-redaction")
        self.secrets = list(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self.secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True


def redact_logging(secrets: Iterable[str]) -> None:
    """Attach a ``RedactingFilter`` with ``secrets`` to every handler of every logger of
    this process (Prefect's API handler among them); called again, it updates the secrets."""
    secrets = list(secrets)
    loggers = [logging.getLogger(), *(logger for logger in
                                      logging.Logger.manager.loggerDict.values()
                                      if isinstance(logger, logging.Logger))]
    for handler in {id(h): h for logger in loggers for h in logger.handlers}.values():
        existing = [f for f in handler.filters if isinstance(f, RedactingFilter)]
        if existing:
            existing[0].secrets = sorted(set(existing[0].secrets) | set(secrets))
        else:
            handler.addFilter(RedactingFilter(secrets))
