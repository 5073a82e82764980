"""Reminders of overdue follow-ups: one mail per follow-up and due date to the municipality's
addresses, queued through the outbox and sent (I/O: database, files, SMTP).

The ledger is the outbox itself: the key ``("erinnerung", "wiedervorlage:<id>:<due_on>")`` is
unique, and the mail is written and ``reminded_on`` set in one transaction per follow-up. A
crash before the commit leaves nothing queued (the next run queues it), one after it leaves the
mail queued (the next run only sends it); a duplicated run on another worker hits the unique
key and queues nothing. An extended follow-up has a new key, so it may be reminded again once
the new date passed. A follow-up without any address is reported, not mailed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from email.message import EmailMessage

from ews.casefile.follow_ups import (
    REMINDER,
    is_overdue,
    reminder_key,
    today_in_berlin,
)
from ews.core.models import FollowUpKind
from ews.outbox.office import mail_recipients, office_mail
from ews.outbox.queue import enqueue
from ews.outbox.sending import send_queued
from ews.outbox.templates import render_body
from ews.register import follow_ups
from ews.register.database import IntegrityError, Session, transaction
from ews.register.follow_ups import FollowUpFacts
from ews.register.schema import FollowUpRow
from ews.runtime.settings import Settings

#: who reminders are logged as
ACTOR = "wiedervorlagen"
SUBJECTS = {FollowUpKind.CORRECTION.value: "Erinnerung: berichtigter Bewerbungsbogen",
            FollowUpKind.RELEASE.value: "Erinnerung: Bestätigung der Freistellung",
            FollowUpKind.DECLARATION.value: "Erinnerung: Gemeinsame Erklärung",
            FollowUpKind.MANUAL.value: "Erinnerung: Ihre Rückmeldung"}


@dataclass(frozen=True)
class Reminder:
    """One reminder that went (or, in a Probelauf, would go) out."""

    follow_up_id: int
    az: str
    kommune: str
    kind: str
    due_on: str
    recipients: list[str]


@dataclass
class ReminderReport:
    reminders: list[Reminder] = field(default_factory=list)  # queued (Probelauf: would be)
    without_address: list[Reminder] = field(default_factory=list)
    #: overdue but not queued: no SMTP server set up (``EWS_SMTP__HOST``)
    no_mail_server: bool = False
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def reminder_due(row: FollowUpRow, today: date) -> bool:
    """Overdue, and no reminder yet for its current due date."""
    return is_overdue(row, today) and row.reminded_on != row.due_on


def remind_overdue(settings: Settings, now: datetime, *, dry_run: bool = False
                   ) -> ReminderReport:
    """The daily check: queue a reminder for every overdue follow-up not yet reminded for its
    due date, then send what the outbox holds. ``dry_run``: only say what would go."""
    report = queue_reminders(settings, now, dry_run=dry_run)
    if dry_run or not settings.smtp.host:
        return report
    sending = send_queued(settings, now)
    report.sent, report.retrying, report.failed = sending.sent, sending.retrying, sending.failed
    return report


def queue_reminders(settings: Settings, now: datetime, *, dry_run: bool = False
                    ) -> ReminderReport:
    """Queue the due reminders, each in its own transaction (see the module docstring)."""
    today = today_in_berlin(now)
    report = ReminderReport(no_mail_server=not settings.smtp.host)
    with transaction(settings.db_url) as session:
        due = [row.id for row in follow_ups.overdue(session, today) if reminder_due(row, today)]
    for follow_up_id in due:
        try:
            with transaction(settings.db_url) as session:
                _queue_one(session, settings, follow_up_id, now, report, dry_run=dry_run)
        except IntegrityError:
            continue  # another run queued it at the same moment: its key is taken
    return report


def _queue_one(session: Session, settings: Settings, follow_up_id: int, now: datetime,
               report: ReminderReport, *, dry_run: bool) -> None:
    row = follow_ups.follow_up(session, follow_up_id)
    if row is None or not reminder_due(row, today_in_berlin(now)):
        return  # closed, extended or reminded meanwhile
    key = reminder_key(row)
    if follow_ups.reminder_mails(session, REMINDER, [key]):
        follow_ups.mark_reminded(session, row, actor=ACTOR, now=now, outbox_key=key)
        return
    facts = follow_ups.facts_of(session, [row])[0]
    recipients = mail_recipients(settings, facts.senders, facts)
    reminder = Reminder(row.id, row.az, facts.kommune, row.kind, row.due_on, recipients)
    if not recipients:
        report.without_address.append(reminder)
        return
    if dry_run or not settings.smtp.host:
        if dry_run:
            report.reminders.append(reminder)
        return
    enqueue(session, settings, key, reminder_mail(settings, facts, recipients, now),
            recipients, now, purpose=REMINDER)
    follow_ups.mark_reminded(session, row, actor=ACTOR, now=now, outbox_key=key)
    report.reminders.append(reminder)


def reminder_mail(settings: Settings, facts: FollowUpFacts, recipients: list[str],
                  now: datetime) -> EmailMessage:
    """The reminder from the staff-editable template ``erinnerung.txt.j2``."""
    row = facts.row
    body = render_body(settings, {
        "art": row.kind, "anrede": "Sehr geehrte Damen und Herren", "aktenzeichen": row.az,
        "kommune": facts.kommune, "runde": settings.round.name,
        "schreiben_vom": f"{facts.asked_on:%d.%m.%Y}",
        "faellig_am": f"{date.fromisoformat(row.due_on):%d.%m.%Y}", "notiz": row.note,
        "buero": settings.office.model_dump(),
    }, template="erinnerung.txt.j2")
    subject = f"{SUBJECTS.get(row.kind, 'Erinnerung')} – {settings.round.name} ({row.az})"
    return office_mail(settings, subject, recipients, now, body, [],
                       auto_submitted="auto-generated",
                       headers={"X-EWS-Versand": f"{REMINDER}/{reminder_key(row)}"})


def report_text(report: ReminderReport) -> str:
    """One German line on a check (the flow's log, ``ews wiedervorlagen erinnern``)."""
    text = (f"Wiedervorlagen: {len(report.reminders)} Erinnerung(en) eingereiht; Postausgang: "
            f"{report.sent} E-Mail(s) gesendet, {report.retrying} warten, {report.failed} "
            "gescheitert")
    if report.without_address:
        text += f"; {len(report.without_address)} überfällig ohne E-Mail-Adresse"
    if report.no_mail_server:
        text += "; kein E-Mail-Versand eingerichtet (EWS_SMTP__HOST)"
    return text + "."
