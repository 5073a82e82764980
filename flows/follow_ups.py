"""Follow-ups in Prefect: ``wiedervorlagen`` is the daily check (deployment of the same name,
scheduled by ``EWS_FOLLOW_UPS__CRON`` in Europe/Berlin) that reminds municipalities of
overdue answers, once per follow-up and due date, and sends the reminders through the outbox.
A duplicated or repeated run queues nothing twice (``ews.casefile.reminders``). Each run shows
what went, and what could not, as an artifact."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE

from ews.casefile.reminders import ReminderReport, remind_overdue, report_text
from ews.circulars.text import markdown_literal
from ews.intake import passes as intake
from ews.register.case_titles import FOLLOW_UP_TITLES
from ews.runtime.settings import Settings
from flows import redacted, service_settings


@task(name="erinnerungen-senden", cache_policy=NONE, retries=2, retry_delay_seconds=30)
@redacted
def remind_task(settings: Settings, now: datetime) -> ReminderReport:
    return remind_overdue(settings, now)


@flow(name="wiedervorlagen", log_prints=True)
@redacted
def wiedervorlagen_pruefen(termin: datetime | None = None) -> int:
    """Überfällige Wiedervorlagen prüfen: je Wiedervorlage und Fälligkeit eine Erinnerung an
    die Kommune senden. ``termin``: der Zeitpunkt, zu dem geprüft wird (sonst jetzt). Gibt
    die Zahl der neu eingereihten Erinnerungen zurück."""
    settings = service_settings()
    intake.prepare(settings)
    report = remind_task(settings, termin or datetime.now(UTC))
    print(report_text(report))
    create_markdown_artifact(key="wiedervorlagen", markdown=report_markdown(report),
                             description="Erinnerungen an überfällige Wiedervorlagen")
    return len(report.reminders)


def report_markdown(report: ReminderReport) -> str:
    lines = [f"## {markdown_literal(report_text(report))}"]
    for title, items in (("Erinnert", report.reminders),
                         ("Ohne E-Mail-Adresse, bitte per Post oder Telefon",
                          report.without_address)):
        if items:
            lines.append(f"\n### {title}\n")
            lines += [f"- {markdown_literal(item.az)} ({markdown_literal(item.kommune)}): "
                      f"{FOLLOW_UP_TITLES.get(item.kind, item.kind)}, fällig am "
                      f"{datetime.fromisoformat(item.due_on):%d.%m.%Y}"
                      for item in items]
    return "\n".join(lines)
