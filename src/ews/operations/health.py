"""The service's health for ``ews status``: what waits, what failed, whether the watchers
still beat, and the German sentences for whatever needs a person (I/O: reads the register in
one short transaction and lists the inbox; writes nothing)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, Field

from ews.core.deadlines import BERLIN
from ews.core.models import WatcherState
from ews.register import follow_ups as follow_ups_register
from ews.register import status as register_status
from ews.register.database import Session, transaction
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
    follow_ups_open: int = 0  # Wiedervorlagen waiting for an answer
    follow_ups_overdue: int = 0  # of those, due before today (Europe/Berlin)
    #: overdue for longer than a day and not reminded for their due date (no address, no
    #: mail server, or the daily check did not run)
    follow_ups_not_reminded: int = 0


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
    with transaction(settings.db_url) as session:
        waiting = _waiting(session, cutoff, pdf=settings.letters.pdf)
        waiting = waiting.model_copy(update=_follow_ups(session, now))
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
    open_count, oldest, stuck = register_status.open_inputs(session, cutoff)
    letters = register_status.letter_counts(session)
    outgoing = register_status.outgoing_counts(session)
    return Waiting(inputs_open=open_count, inputs_oldest=oldest, inputs_stuck=stuck,
                   letters_planned=letters.get("planned", 0),
                   letters_without_pdf=letters.get("rendered", 0) if pdf else 0,
                   mails_taken=register_status.mails_taken(session),
                   outgoing_queued=outgoing["queued"][0],
                   outgoing_retrying=outgoing["queued"][1], outgoing_sending=outgoing["sending"][0])


def _follow_ups(session: Session, now: datetime) -> dict[str, int]:
    today = now.astimezone(BERLIN).date()
    open_count, overdue, not_reminded = follow_ups_register.counts(
        session, today, today - timedelta(days=1))
    return {"follow_ups_open": open_count, "follow_ups_overdue": overdue,
            "follow_ups_not_reminded": not_reminded}


def _failed(session: Session, now: datetime, cutoff: datetime) -> Failed:
    # like quarantine, within the window: an old failure, dealt with by hand, stops alarming
    since = now - QUARANTINE_WINDOW
    mails, last_mails = register_status.failed_mails(session, since, LAST_FEW)
    quarantined, last_inputs = register_status.quarantined_inputs(session, since, LAST_FEW)
    unwritten = register_status.inputs_with_unwritten_letters(session, cutoff)
    for_staff, withheld = register_status.withheld_answers(session, since, LAST_FEW)
    return Failed(
        mails=mails, quarantined=quarantined, letters_not_rendered=unwritten,
        for_staff=for_staff,
        last_for_staff=[StaffMail(subject_key=row.subject_key, sender=", ".join(row.recipients),
                                  reason=row.last_error or "ohne Angabe") for row in withheld],
        last_mails=[FailedMail(id=m.id, purpose=m.purpose, subject_key=m.subject_key,
                               recipients=m.recipients, last_error=m.last_error)
                    for m in last_mails],
        last_quarantined=[QuarantinedInput(id=i.id, source_name=i.source_name,
                                           reason=(i.reasons or ["ohne Angabe"])[0],
                                           finished_at=i.finished_at) for i in last_inputs])


def _watchers(session: Session, now: datetime, limit: timedelta) -> list[WatcherHealth]:
    watchers = []
    for row in register_status.watchers(session):
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
    if waiting.follow_ups_not_reminded:
        count = _count(waiting.follow_ups_not_reminded, "Wiedervorlage", "Wiedervorlagen")
        problems.append(f"{count} seit über einem Tag überfällig und nicht erinnert "
                        "(ews wiedervorlagen erinnern --probelauf)")
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
