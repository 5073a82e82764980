"""What „Bescheide erstellen und senden“ would write and to whom, before anything is written
(I/O: reads the register in one transaction, changes nothing)."""

from __future__ import annotations

from dataclasses import dataclass

from ews.outbox.letters import LETTER_TITLES
from ews.outbox.office import mail_recipients
from ews.register import decisions as decisions_register
from ews.register import letters as letters_register
from ews.register.database import transaction
from ews.runtime.settings import Settings
from ews.selection.notices import letters_due, notice_kind


@dataclass(frozen=True)
class PlannedNotice:
    az: str
    kommune: str
    letters: tuple[str, ...]  # German titles
    recipients: tuple[str, ...]  # empty: by post


def preview_notices(settings: Settings) -> list[PlannedNotice]:
    """Every notice ``send_notices`` would plan now, with the addresses it would mail to
    (none without a mail server or without an address in the form: by post)."""
    with transaction(settings.db_url) as session:
        rows = decisions_register.decisions_with_applications(session, settings.round.name)
        written = letters_register.kinds_written(session, [a.id for _, a in rows])
        plan = []
        for decision, application in rows:
            due = letters_due(notice_kind(decision), application.id, written)
            if not due:
                continue
            recipients = mail_recipients(settings, [], application) if settings.smtp.host \
                else []
            plan.append(PlannedNotice(application.az, application.kommune_name,
                                      tuple(LETTER_TITLES[kind] for kind in due),
                                      tuple(recipients)))
        return plan
