"""SMTP client: connect with verified TLS, hand over one mail, classify the answer (I/O: SMTP).

Credentials are SecretStr and never logged. ``transmit`` turns every refusal and broken
connection into a ``Transmission`` with a detail text; the caller decides about retries.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from typing import Any

from ews.runtime.settings import SmtpSettings

_CLOSING = 421  # the server closes the connection after this reply


@dataclass(frozen=True)
class Transmission:
    """The result of one SMTP transaction: ``accepted`` (``refused`` names the recipients the
    server did not take, as ``code text``), or refused as a whole, ``temporary`` for 4xx
    replies and broken connections, with the ``detail``."""

    accepted: bool
    temporary: bool = False
    detail: str = ""
    refused: dict[str, str] = field(default_factory=dict)


def connect(smtp: SmtpSettings) -> smtplib.SMTP:
    """A connected, authenticated SMTP client (verified TLS unless ``security`` is none)."""
    assert smtp.host
    context = ssl.create_default_context(cafile=str(smtp.ca_file) if smtp.ca_file else None)
    if smtp.security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.effective_port,
                                                timeout=smtp.timeout_seconds, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.effective_port, timeout=smtp.timeout_seconds)
        if smtp.security == "starttls":
            client.starttls(context=context)
    if smtp.user:
        client.login(smtp.user, smtp.password.get_secret_value())
    return client


def transmit(smtp: SmtpSettings, client: smtplib.SMTP | None, sender: str,
             recipients: list[str], raw: bytes) -> tuple[smtplib.SMTP | None, Transmission]:
    """Send ``raw`` over ``client`` (connecting first when None); the client to go on with
    (None when the connection is gone) and what the server said."""
    try:
        if client is None:
            client = connect(smtp)
        refused = client.sendmail(sender, recipients, raw)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = {rcpt: (code, text) for rcpt, (code, text) in exc.recipients.items()}
        temporary = any(400 <= code < 500 for code, _ in codes.values())
        return client, Transmission(False, temporary, refusal_text(codes))
    except smtplib.SMTPResponseException as exc:
        result = Transmission(False, 400 <= exc.smtp_code < 500,
                              f"{exc.smtp_code} {as_text(exc.smtp_error)}")
        return (None if exc.smtp_code == _CLOSING else client), result
    except (smtplib.SMTPException, OSError) as exc:
        return None, Transmission(False, True, f"Verbindung zum Mailserver unterbrochen: {exc}")
    return client, Transmission(True, refused={
        rcpt: f"{code} {as_text(text)}" for rcpt, (code, text) in refused.items()})


def close(client: smtplib.SMTP) -> None:
    """End the session politely; drop the connection when the server is gone."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def refusal_text(refused: dict[str, tuple[int, Any]]) -> str:
    """``rcpt: code text; …`` (the code left out where it is 0)."""
    return "; ".join(f"{rcpt}: {f'{code} ' if code else ''}{as_text(text)}"
                     for rcpt, (code, text) in refused.items())


def as_text(value: Any) -> str:
    """An SMTP reply text (bytes or str) as str."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
