"""Outgoing mails as MIME messages: recipients, headers, text and attachments (pure, no I/O).

The caller supplies the attachments' bytes; nothing here reads files or talks to a server.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from ews.core.deadlines import BERLIN

DOCX_SUBTYPE = "vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class Attached:
    """One file attached to a mail: its name and bytes."""

    name: str
    data: bytes


def normalised_address(address: str) -> str:
    """One spelling per mailbox: NFC, lower-case, without a ``+tag`` in the local part."""
    local, _at, domain = unicodedata.normalize("NFC", address).strip().lower().rpartition("@")
    return f"{local.split('+', 1)[0] or local}@{domain}"


def team_addresses(fields: Mapping[str, object]) -> list[str]:
    """The team's e-mail addresses from an application form's fields."""
    addresses = []
    for key in ("team1_email", "team2_email"):
        value = fields.get(key)
        if isinstance(value, str) and "@" in value:
            addresses.append(value.strip())
    return addresses


def unique_recipients(own_address: str, addresses: Iterable[str]) -> list[str]:
    """The non-empty addresses in order, each once (case-insensitive), never ``own_address``."""
    own = own_address.lower()
    unique: dict[str, str] = {}
    for address in addresses:
        if address and address.lower() != own:
            unique.setdefault(address.lower(), address)
    return list(unique.values())


def attachment_subtype(name: str) -> str:
    """The MIME subtype of a letter: PDF, or .docx when PDF output is off."""
    return "pdf" if name.casefold().endswith(".pdf") else DOCX_SUBTYPE


def build_message(sender: str, subject: str, recipients: list[str], now: datetime, body: str,
                  files: list[Attached], *, auto_submitted: str, html: str | None = None,
                  headers: Mapping[str, str] | None = None) -> EmailMessage:
    """A mail from ``sender``: the first recipient in To, the others in Cc, the files attached,
    with an HTML version of the text when ``html`` is given, and extra ``headers``."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = recipients[0]
    if len(recipients) > 1:
        message["Cc"] = ", ".join(recipients[1:])
    message["Date"] = format_datetime(now.astimezone(BERLIN))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    message["Auto-Submitted"] = auto_submitted
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for attached in files:
        message.add_attachment(attached.data, maintype="application",
                               subtype=attachment_subtype(attached.name), filename=attached.name)
    return message


def mark_as_reply(message: EmailMessage, message_id: str | None) -> EmailMessage:
    """``message`` as an answer to the mail with ``message_id`` (In-Reply-To, References)."""
    if message_id:
        message["In-Reply-To"] = f"<{message_id}>"
        message["References"] = f"<{message_id}>"
    return message
