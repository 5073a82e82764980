"""The service's health for ``ews status``: what waits, what failed, whether the watchers
still beat, and the German sentences for whatever needs a person (I/O: reads the register in
one short transaction and lists the inbox; writes nothing)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, Field
from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session

from ews.core.models import InputState, LetterState, MailState, OutboxState, Outcome, WatcherState
from ews.register.database import session_factory
from ews.register.schema import Input, LetterRow, MailRow, OutgoingMail, WatcherRow
from ews.runtime.folders import observe_inbox
from ews.runtime.settings import Settings

#: an input, a letter or an inbox file unchanged this long hangs
STUCK_AFTER = timedelta(minutes=15)
#: a running watcher that did not beat this long is silent
HEARTBEAT_LIMIT = timedelta(seconds=180)
QUARANTINE_WINDOW = timedelta(days=7)
LAST_FEW = 5
WATCHER_LABELS = {"ordner": "Ordner-Beobachter", "postfach": "Postfach-Beobachter"}


class Waiting(BaseModel):
    """Work not finished yet; it needs a person only once it waits too long."""

    inbox_files: int = 0
    inbox_oldest: datetime | None = None  # mtime of the oldest file
    inbox_stale: int = 0  # files unchanged for longer than the threshold
    inputs_open: int = 0
    inputs_oldest: datetime | None = None  # received_at of the oldest open input
    inputs_stuck: int = 0  # claimed longer than the threshold ago and still open
    letters_planned: int = 0
    letters_without_pdf: int = 0  # rendered, PDF/A pending (only when PDFs are made)
    mails_taken: int = 0
    outgoing_queued: int = 0
    outgoing_retrying: int = 0  # queued again after a temporary failure
    outgoing_sending: int = 0


class FailedMail(BaseModel):
    id: int
    purpose: str
    subject_key: str
    recipients: list[str]
    last_error: str | None


class QuarantinedInput(BaseModel):
    id: int
    source_name: str
    reason: str
    finished_at: datetime | None


class StaffMail(BaseModel):
    """A mail that got no automatic answer, with the reason (DMARC failure, daily limit …)."""

    subject_key: str  # "mail:42"
    sender: str
    reason: str


class Failed(BaseModel):
    """Outcomes that did not go through: failed mails, invalid inputs, unwritten letters."""

    mails: int = 0  # within QUARANTINE_WINDOW
    last_mails: list[FailedMail] = Field(default_factory=list)
    quarantined: int = 0  # within QUARANTINE_WINDOW
    last_quarantined: list[QuarantinedInput] = Field(default_factory=list)
    letters_not_rendered: int = 0  # inputs whose letters stayed planned too long
    #: mails whose automatic answer was withheld (mail_out), within QUARANTINE_WINDOW
    for_staff: int = 0
    last_for_staff: list[StaffMail] = Field(default_factory=list)


class WatcherHealth(BaseModel):
    name: str
    kind: str
    holder: str
    started_at: datetime
    beat_at: datetime
    state: str
    detail: str
    age_seconds: float
    problem: str | None = None


class Health(BaseModel):
    checked_at: datetime
    waiting: Waiting
    failed: Failed
    watchers: list[WatcherHealth]
    problems: list[str]


def register_health(settings: Settings, now: datetime, *,
                    heartbeat_limit: timedelta = HEARTBEAT_LIMIT,
                    stuck_after: timedelta = STUCK_AFTER) -> Health:
    """Everything ``ews status`` shows from the register and the inbox at ``now``."""
    cutoff = now - stuck_after
    with session_factory(settings.db_url).begin() as session:
        waiting = _waiting(session, cutoff, pdf=settings.letters.pdf)
        failed = _failed(session, now, cutoff)
        watchers = _watchers(session, now, heartbeat_limit)
    files, oldest, stale = _inbox(settings.inbox_dir, cutoff)
    waiting = waiting.model_copy(update={"inbox_files": files, "inbox_oldest": oldest,
                                         "inbox_stale": stale})
    return Health(checked_at=now, waiting=waiting, failed=failed, watchers=watchers,
                  problems=problems_of(waiting, failed, watchers, stuck_after))


def _inbox(inbox: Path, cutoff: datetime) -> tuple[int, datetime | None, int]:
    try:
        mtimes = [datetime.fromtimestamp(obs.mtime_ns / 1e9, cutoff.tzinfo)
                  for obs in observe_inbox(inbox).values()]
    except FileNotFoundError:  # no inbox yet: nothing waits in it
        return 0, None, 0
    return len(mtimes), min(mtimes, default=None), sum(1 for m in mtimes if m < cutoff)


def _waiting(session: Session, cutoff: datetime, *, pdf: bool) -> Waiting:
    open_count, oldest, stuck = session.execute(
        select(func.count(), func.min(Input.received_at),
               func.count(case((Input.created_at < cutoff, 1))))
        .where(Input.state != InputState.DONE)).one()
    letters = dict(session.execute(
        select(LetterRow.state, func.count()).where(LetterRow.state.in_((LetterState.PLANNED,
                                                                         LetterState.RENDERED)))
        .group_by(LetterRow.state)).tuples().all())
    mails = session.scalar(select(func.count()).where(MailRow.state == MailState.TAKEN)) or 0
    outgoing = _outgoing_counts(session)
    return Waiting(inputs_open=open_count, inputs_oldest=oldest, inputs_stuck=stuck,
                   letters_planned=letters.get("planned", 0),
                   letters_without_pdf=letters.get("rendered", 0) if pdf else 0,
                   mails_taken=mails, outgoing_queued=outgoing["queued"][0],
                   outgoing_retrying=outgoing["queued"][1], outgoing_sending=outgoing["sending"][0])


def _outgoing_counts(session: Session) -> dict[str, tuple[int, int]]:
    """Per state: mails, and of those how many were tried before."""
    rows = session.execute(
        select(OutgoingMail.state, func.count(), func.count(case((OutgoingMail.attempts > 0, 1))))
        .where(OutgoingMail.state.in_((OutboxState.QUEUED, OutboxState.SENDING))).group_by(
            OutgoingMail.state))
    return {"queued": (0, 0), "sending": (0, 0)} | {s: (n, tried) for s, n, tried in rows}


def _failed(session: Session, now: datetime, cutoff: datetime) -> Failed:
    # like quarantine, within the window: an old failure, dealt with by hand, stops alarming
    failed_mail = (OutgoingMail.state == OutboxState.FAILED) & (
        OutgoingMail.created_at >= now - QUARANTINE_WINDOW)
    mails = session.scalar(select(func.count()).where(failed_mail)) or 0
    last_mails = session.scalars(select(OutgoingMail).where(failed_mail)
                                 .order_by(OutgoingMail.id.desc()).limit(LAST_FEW))
    invalid = (Input.outcome == Outcome.INVALID.value) & (
        Input.finished_at >= now - QUARANTINE_WINDOW)
    quarantined = session.scalar(select(func.count()).where(invalid)) or 0
    last_inputs = session.scalars(select(Input).where(invalid)
                                  .order_by(Input.finished_at.desc()).limit(LAST_FEW))
    unwritten = session.scalar(select(func.count(distinct(LetterRow.input_id))).where(
        LetterRow.state == LetterState.PLANNED, LetterRow.created_at < cutoff)) or 0
    for_staff, last_for_staff = _for_staff(session, now)
    return Failed(
        mails=mails, quarantined=quarantined, letters_not_rendered=unwritten,
        for_staff=for_staff, last_for_staff=last_for_staff,
        last_mails=[FailedMail(id=m.id, purpose=m.purpose, subject_key=m.subject_key,
                               recipients=m.recipients, last_error=m.last_error)
                    for m in last_mails],
        last_quarantined=[QuarantinedInput(id=i.id, source_name=i.source_name,
                                           reason=(i.reasons or ["ohne Angabe"])[0],
                                           finished_at=i.finished_at) for i in last_inputs])


def _for_staff(session: Session, now: datetime) -> tuple[int, list[StaffMail]]:
    """Answers withheld (with their reason) within the window, the latest first."""
    withheld = (OutgoingMail.purpose == "antwort") & (
        OutgoingMail.state == OutboxState.WITHHELD) & (
        OutgoingMail.created_at >= now - QUARANTINE_WINDOW)
    count = session.scalar(select(func.count()).where(withheld)) or 0
    rows = session.scalars(select(OutgoingMail).where(withheld)
                           .order_by(OutgoingMail.id.desc()).limit(LAST_FEW))
    return count, [StaffMail(subject_key=row.subject_key, sender=", ".join(row.recipients),
                             reason=row.last_error or "ohne Angabe") for row in rows]


def _watchers(session: Session, now: datetime, limit: timedelta) -> list[WatcherHealth]:
    rows = session.scalars(select(WatcherRow).order_by(WatcherRow.kind, WatcherRow.name))
    watchers = []
    for row in rows:
        age = max((now - row.beat_at).total_seconds(), 0.0)
        watchers.append(WatcherHealth(
            name=row.name, kind=row.kind, holder=row.holder, started_at=row.started_at,
            beat_at=row.beat_at, state=row.state, detail=row.detail, age_seconds=age,
            problem=watcher_problem(row.kind, row.name, row.state, row.detail, age, limit)))
    return watchers


def watcher_problem(kind: str, name: str, state: str, detail: str, age_seconds: float,
                    limit: timedelta) -> str | None:
    """What is wrong with one watcher, in German; None when it beats or ended cleanly."""
    label = f"{WATCHER_LABELS.get(kind, 'Beobachter')} {name}"
    if state == WatcherState.DISTURBED:
        return f"{label} gestört: {detail or 'ohne Angabe'}"
    if state == WatcherState.RUNNING and age_seconds > limit.total_seconds():
        return f"{label} ohne Herzschlag seit {duration_de(age_seconds)}"
    return None


def problems_of(waiting: Waiting, failed: Failed, watchers: list[WatcherHealth],
                stuck_after: timedelta) -> list[str]:
    """Everything that needs a person, one German sentence each (empty: all is well)."""
    limit = duration_de(stuck_after.total_seconds())
    problems = [w.problem for w in watchers if w.problem]
    if failed.mails:
        problems.append(f"{_count(failed.mails, 'E-Mail', 'E-Mails')} in den letzten 7 Tagen "
                        "endgültig nicht zugestellt")
    if waiting.inputs_stuck:
        verb = "hängt" if waiting.inputs_stuck == 1 else "hängen"
        problems.append(f"{_count(waiting.inputs_stuck, 'Eingang', 'Eingänge')} {verb} seit "
                        f"über {limit}")
    if failed.letters_not_rendered:
        problems.append(f"Für {_count(failed.letters_not_rendered, 'Eingang', 'Eingänge')} "
                        "konnten die Briefe nicht geschrieben werden")
    if waiting.inbox_stale:
        verb = "liegt" if waiting.inbox_stale == 1 else "liegen"
        problems.append(f"{_count(waiting.inbox_stale, 'Datei', 'Dateien')} {verb} seit über "
                        f"{limit} unbearbeitet im Posteingang")
    return problems


def duration_de(seconds: float) -> str:
    """``45 Sekunden``, ``7 Minuten``, ``2 Stunden``, ``3 Tagen`` (after „seit“)."""
    for size, one, many in ((86400, "Tag", "Tagen"), (3600, "Stunde", "Stunden"),
                            (60, "Minute", "Minuten")):
        if seconds >= size:
            return _count(int(seconds // size), one, many)
    return _count(int(seconds), "Sekunde", "Sekunden")


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"
