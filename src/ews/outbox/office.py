"""Mails from the office: its sender address, its recipients, its letters attached (I/O: files).

The message itself is built by ``ews.mail.messages``; here the letters are read from their
locations (paths or storage URLs) and the office's own address is kept out of the recipients.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Protocol

from ews.mail.messages import Attached, build_message, team_addresses, unique_recipients
from ews.runtime import storage
from ews.runtime.settings import Settings


class HasFormFields(Protocol):
    """An application (``ApplicationRow`` or plain data) with its form's fields."""

    @property
    def fields(self) -> Mapping[str, Any]: ...


def office_mail(settings: Settings, subject: str, recipients: list[str], now: datetime,
                body: str, files: list[str], *, auto_submitted: str, html: str | None = None,
                headers: dict[str, str] | None = None) -> EmailMessage:
    """A mail from the office: the first recipient in To, the others in Cc, the letters
    attached (their locations: paths or storage URLs; PDF, or .docx when PDF output is off),
    with an HTML version of the text when ``html`` is given; ``auto_submitted`` (RFC 3834)
    keeps auto-responders from answering it."""
    attached = [Attached(storage.location_name(location),
                         storage.read_location(location, settings.storage.options))
                for location in files]
    return build_message(settings.sender_address, subject, recipients, now, body, attached,
                         auto_submitted=auto_submitted, html=html, headers=headers)


def mail_recipients(settings: Settings, senders: list[str],
                    *applications: HasFormFields | None) -> list[str]:
    """The given addresses plus the teams' from the forms; never the office itself."""
    teams = [address for application in applications if application is not None
             for address in team_addresses(application.fields)]
    return unique_recipients(settings.sender_address, [*senders, *teams])
