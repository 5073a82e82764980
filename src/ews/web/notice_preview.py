"""What „Bescheide erstellen und senden“ would write and to whom, before anything is written
(I/O: reads the register in one transaction, changes nothing)."""

from __future__ import annotations

from dataclasses import dataclass

from ews.outbox.letters import LETTER_TITLES
from ews.outbox.office import mail_recipients
from ews.register.database import transaction
from ews.runtime.settings import Settings
from ews.selection.notices import outstanding_notices


@dataclass(frozen=True)
class PlannedNotice:
    az: str
    kommune: str
    letters: tuple[str, ...]  # German titles
    recipients: tuple[str, ...]  # empty: by post


def preview_notices(settings: Settings) -> list[PlannedNotice]:
    """Every notice ``send_notices`` would plan now (``outstanding_notices``), with the
    addresses it would mail to (none without a mail server or without an address in the
    form: by post)."""
    with transaction(settings.db_url) as session:
        return [PlannedNotice(application.az, application.kommune_name,
                              tuple(LETTER_TITLES[kind] for kind in due),
                              tuple(mail_recipients(settings, [], application)
                                    if settings.smtp.host else ()))
                for _, application, due in outstanding_notices(session, settings.round.name)]
