"""Circulars in Prefect: ``rundschreiben`` brings every issued circular out, and
``versand`` is the flow behind each scheduled mailing of ``config/versandplan.toml``
(one deployment per entry, with its cron schedule in Europe/Berlin).

A scheduled run belongs to a slot (the mailing and the day it is due); the slot's circular is
issued at most once, so a duplicated or repeated run only resumes the sending. Each run shows
the state of its mailing as artifacts.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Annotated

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE
from prefect.runtime import flow_run
from pydantic import Field

from ews.circulars.drafts import draft_folder, read_draft
from ews.circulars.due import mailing_due, mailing_list, run_moment
from ews.circulars.issuing import issue_circular
from ews.circulars.mailing import MailingReport, probelauf, send_circulars
from ews.circulars.reports import STATES, circular_details, send_summary
from ews.circulars.schedule import Mailing, mailing_named
from ews.circulars.text import markdown_literal
from ews.intake import passes as intake
from ews.runtime.settings import Settings
from flows import redacted, service_settings


@task(name="rundschreiben-senden", cache_policy=NONE, retries=2, retry_delay_seconds=30)
@redacted
def send_task(settings: Settings, only: int | None = None) -> MailingReport:
    return send_circulars(settings, datetime.now(UTC), only=only)


@flow(name="rundschreiben", log_prints=True)
@redacted
def rundschreiben_versenden() -> list[str]:
    """Alle ausgegebenen Rundschreiben versenden, die noch Empfänger offen haben."""
    settings = service_settings()
    intake.prepare(settings)
    report = send_task(settings)
    for number in report.circulars:
        publish_circular(settings, number)
    print(f"Rundschreiben: {report.queued} E-Mails vorbereitet, {report.sent} gesendet, "
          f"{report.retrying} warten, {report.failed} gescheitert.")
    return report.circulars


@flow(name="versand", log_prints=True)
@redacted
def geplanter_versand(name: Annotated[str, Field(min_length=1, max_length=100)],
                      termin: datetime | None = None) -> str | None:
    """Einen geplanten Versand ausführen: das Rundschreiben des Termins ausgeben (höchstens
    einmal je Termin) und versenden. ``name`` wählt den Eintrag des Versandplans, ``termin``
    den Termin (sonst der geplante Beginn des Laufs)."""
    settings = service_settings()
    intake.prepare(settings)
    mailing = mailing_named(settings.rundschreiben.plan_file, name)
    moment = termin or run_moment(flow_run.scheduled_start_time, datetime.now(UTC))
    due = mailing_due(mailing, settings.round, moment)
    if due.slot is None:
        get_run_logger().info(due.reason)
        return None
    return _run_mailing(settings, mailing, due.slot)


def _run_mailing(settings: Settings, mailing: Mailing, slot: str) -> str:
    logger = get_run_logger()
    draft = read_draft(draft_folder(settings.drafts_dir, mailing.entwurf), settings.round.name)
    spec = mailing_list(mailing, draft.list_spec, settings.round.name)
    now = datetime.now(UTC)
    if mailing.probelauf:
        report = probelauf(settings, draft, now, actor=f"Versandplan {mailing.name}")
        logger.info("Probelauf „%s“: %s E-Mails an %s.", mailing.name, report.queued,
                    report.to)
        return f"Probelauf ({report.queued} E-Mails an {report.to})"
    issued = issue_circular(settings, draft, actor=f"Versandplan {mailing.name}", now=now,
                            slot=slot, list_spec=spec)
    logger.info("Versand „%s“, Termin %s: Mitteilung %s (%s).", mailing.name, slot,
                issued.label, "neu ausgegeben" if issued.created else "bereits ausgegeben")
    send_task(settings, only=issued.id)
    publish_circular(settings, issued.label)
    return issued.label


def publish_circular(settings: Settings, number: str) -> None:
    """The circular's ledger as artifacts: one table row per municipality and a summary."""
    record, entries = circular_details(settings, number)
    key = f"rundschreiben-{number.replace('/', '-')}"
    create_table_artifact(
        key=key, description=f"Versand Mitteilung {number}",
        table=[{"Kommune": e["kommune"], "E-Mail": ", ".join(e["empfaenger"]) or "–",
                "Stand": e["status_text"], "Hinweis": e["hinweis"]} for e in entries])
    counts = Counter(e["status"] for e in entries)
    # names and bounce notes come from outside: shown as text, never as links or markup
    problems = "".join(f"\n- {markdown_literal(e['kommune'])}: {STATES[e['status']]} – "
                       f"{markdown_literal(e['hinweis'])}"
                       for e in entries if e["status"] in
                       ("ohne_adresse", "unzustellbar", "fehlgeschlagen"))
    create_markdown_artifact(
        key=f"{key}-stand",
        markdown=(f"## Mitteilung {number} vom {record['datum']}\n\n"
                  f"**{markdown_literal(record['titel'])}** · "
                  f"Az.: {markdown_literal(record['aktenzeichen'])} · "
                  f"{record['verteiler_text']}\n\n"
                  f"{len(entries)} Empfänger: {send_summary(dict(counts))}"
                  + (f"\n\n### Bitte prüfen{problems}" if problems else "")))
