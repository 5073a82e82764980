"""The selection in the Prefect UI: ``auswahl`` asks for decisions through a run
input form, ``bescheide`` writes and sends the notices.

Each decision is stored in the register the moment it is submitted; the paused run holds
nothing but the question. A timeout (nobody answered) therefore loses nothing: the run ends
as completed with every decision made so far, and the next run asks again.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Annotated, Literal

from prefect import flow, get_client, get_run_logger, pause_flow_run, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout
from prefect.input import RunInput
from prefect.states import Running
from pydantic import Field

from ews.core.errors import SelectionError
from ews.core.models import ApplicationStatus
from ews.intake import passes as intake
from ews.register.database import transaction
from ews.runtime.settings import Settings
from ews.selection import decisions as selection
from ews.selection.deciding import decide_now
from ews.selection.notices import NoticeReport, send_notices
from flows import redacted, service_settings

DECISION_WORDS = {"angenommen": "angenommen", "warteliste": "Warteliste",
                  "abgelehnt": "abgelehnt", "zurueckgezogen": "zurückgezogen", None: "offen"}


class Entscheidung(RunInput):
    """The form the Prefect UI shows for one decision (German labels for staff)."""

    aktenzeichen: str = Field(title="Aktenzeichen", description="z. B. 13.0.70-007/2027")
    entscheidung: Literal["angenommen", "warteliste", "abgelehnt", "zurueckgezogen"] = Field(
        title="Entscheidung")
    rang: int | None = Field(default=None, ge=1, title="Rang auf der Warteliste")
    grund: Literal["plaetze", "kriterien", "verspaetet", "unvollstaendig", "sonstiges"] | None \
        = Field(default=None, title="Begründungsart einer Absage")
    ausnahme: str | None = Field(default=None, title="Begründung einer Ausnahme",
                                 description="Nur für verspätete oder ersetzte Bewerbungen.")
    von: str = Field(title="Entschieden von", min_length=1)
    weitere: bool = Field(default=True, title="Danach eine weitere Entscheidung eingeben")


@task(name="entscheidung-speichern", cache_policy=NONE)
@redacted
def record_decision(settings: Settings, answer: Entscheidung) -> tuple[list[str], str | None]:
    """One decision into the register: German lines describing each change, or the German
    reason why the rules refuse it (then nothing is changed)."""
    try:
        changes = decide_now(settings, answer.aktenzeichen, answer.entscheidung,
                             actor=answer.von, rank=answer.rang, reason=answer.grund,
                             override=answer.ausnahme)
    except SelectionError as exc:
        return [], exc.worded({name: f"Feld „{field.title}“" for name, field
                               in Entscheidung.model_fields.items() if field.title})
    return [f"{c.az} {c.kommune}: {c.before or 'offen'} → {c.after}"
            + (" (rückt von der Warteliste nach)" if c.moved_up else "") for c in changes], None


def _continue_after_timeout() -> None:
    """Prefect fails a run whose pause timed out; nobody answering is no failure here (every
    decision is in the register), so the run is set running again and completes."""
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(context.flow_run.id, Running(), force=True)


@flow(name="auswahl", log_prints=True)
@redacted
def auswahl_entscheiden(
        wartezeit_minuten: Annotated[float, Field(gt=0, le=7 * 24 * 60)] = 60,
        hoechstens: Annotated[int, Field(ge=1, le=500)] = 100,
        abfrage_sekunden: Annotated[int, Field(ge=1, le=300)] = 5) -> int:
    """Entscheidungen über die Bewerbungen der laufenden Runde im Formular eingeben; jede wird
    sofort im Register gespeichert. Returns how many decisions were stored."""
    settings = service_settings()
    intake.prepare(settings)
    logger = get_run_logger()
    stored = 0
    publish_round(settings)
    for _ in range(hoechstens):
        try:
            answer = pause_flow_run(wait_for_input=Entscheidung,
                                    timeout=int(wartezeit_minuten * 60),
                                    poll_interval=abfrage_sekunden)
        except FlowPauseTimeout:
            logger.info("Keine weitere Entscheidung innerhalb von %s Minuten; alle bisherigen "
                        "Entscheidungen sind im Register gespeichert.", wartezeit_minuten)
            _continue_after_timeout()
            break
        lines, refusal = record_decision(settings, answer)
        if refusal is not None:
            logger.error("Nicht gespeichert: %s", refusal)  # asked again: nothing is lost
        else:
            stored += 1
        for line in lines:
            logger.info(line)
        publish_round(settings)
        if not answer.weitere:
            break
    return stored


def publish_round(settings: Settings) -> None:
    """The round as a table and a summary in the Prefect UI."""
    with transaction(settings.db_url) as session:
        records = selection.round_overview(session, settings.round.name)
    rows = [{"Aktenzeichen": r["az"], "Kommune": r["kommune_name"],
             "Eingang": "verspätet" if r["status"] == ApplicationStatus.LATE else "fristgerecht",
             "Entscheidung": DECISION_WORDS[r["entscheidung"]]  # type: ignore[index]
             + (" (nachgerückt)" if r["nachgerueckt"] else ""),
             "Rang": r["rang"] or "", "Grund": r["grund"] or "", "von": r["von"] or ""}
            for r in records]
    create_table_artifact(key="auswahl", table=rows,
                          description=f"Auswahl {settings.round.name}")
    counts = Counter(r["entscheidung"] for r in records)
    create_markdown_artifact(
        key="auswahl-stand",
        markdown=(f"## Auswahl {settings.round.name}\n\n"
                  f"**{counts['angenommen']} von {settings.round.seats} Plätzen vergeben** · "
                  f"{counts['warteliste']} auf der Warteliste · {counts['abgelehnt']} abgelehnt"
                  f" · {counts['zurueckgezogen']} zurückgezogen · {counts[None]} offen\n\n"
                  "Bescheide schreiben und versenden: Lauf „bescheide“ starten oder "
                  "`ews auswahl bescheide`."))


@flow(name="bescheide", log_prints=True)
@redacted
def bescheide_versenden(von: Annotated[str, Field(min_length=1, max_length=100)] = "Prefect"
                        ) -> int:
    """Alle ausstehenden Bescheide schreiben und versenden (jeden genau einmal)."""
    settings = service_settings()
    intake.prepare(settings)
    report = send_notices(settings, datetime.now(UTC), actor=von)
    publish_notices(report)
    publish_round(settings)
    return len(report.planned)


def publish_notices(report: NoticeReport) -> None:
    rows = [{"Aktenzeichen": az, "Kommune": kommune, "Schreiben": title}
            for az, kommune, title in report.planned]
    if rows:
        create_table_artifact(key="bescheide", table=rows, description="Neue Schreiben")
    post = "".join(f"\n- {az} {title}: per Post (keine E-Mail-Adresse)"
                   for az, title in report.by_post)
    create_markdown_artifact(
        key="bescheide-stand",
        markdown=(f"**Bescheide:** {len(rows)} neue Schreiben, {report.queued} E-Mails "
                  f"vorbereitet, {report.sent} gesendet, {report.retrying} warten, "
                  f"{report.failed} gescheitert.{post}"))
