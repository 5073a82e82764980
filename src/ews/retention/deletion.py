"""The deletion run: finds what the retention periods make due, anonymises or deletes it
with its files and writes the deletion log; a Probelauf lists the same and changes nothing
(I/O: database, stored files).

Each case goes in a transaction of its own: its files are deleted inside it, before the
commit, so a failure leaves the rows as they were and the next run takes the case again
(a file already gone counts as deleted)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial

from ews.register import cases as register
from ews.register import retention as queries
from ews.register.database import Session, transaction
from ews.register.schema import ApplicationRow, DecisionRow
from ews.retention import config as classes
from ews.retention.config import Retention, read_retention
from ews.retention.files import remove_files
from ews.retention.network import scrub_former_contacts
from ews.retention.scrub import (
    Removal,
    scrub_bounce,
    scrub_case,
    scrub_input,
    scrub_mail,
    scrub_outgoing,
)
from ews.runtime.settings import Settings

ANONYMISED = "anonymisiert"
DELETED = "geloescht"


@dataclass
class Entry:
    """One line of a run: what went (or would go) by which rule."""

    rule: str
    way: str
    az: str | None
    counts: dict[str, int]


@dataclass
class Stay:
    """A case that is not due, or held, and why (German)."""

    az: str
    reason: str


@dataclass
class RunReport:
    dry_run: bool
    entries: list[Entry] = field(default_factory=list)
    stays: list[Stay] = field(default_factory=list)


@dataclass(frozen=True)
class Run:
    """What every step of one run needs."""

    settings: Settings
    retention: Retention
    now: datetime
    actor: str
    dry_run: bool


def run_deletion(settings: Settings, *, now: datetime, actor: str, dry_run: bool = False
                 ) -> RunReport:
    """Delete or anonymise everything due at ``now``; ``actor`` is the user or "zeitplan"."""
    retention = read_retention(settings.retention_file)
    report = RunReport(dry_run=dry_run)
    with transaction(settings.db_url) as session:
        due = due_cases(session, settings, retention, now, report.stays)
    run = Run(settings, retention, now, actor, dry_run)
    for application_id, rule in due:
        _step(run, report, partial(_case, application_id=application_id, rule=rule))
    for work in (_quarantine, _exports, _network, _circular_sends):
        _step(run, report, work)
    if report.entries and not dry_run:
        queries.compact(settings.db_url)
    return report


def due_cases(session: Session, settings: Settings, retention: Retention, now: datetime,
              stays: list[Stay]) -> list[tuple[int, str]]:
    """The applications whose period ended before ``now``, with their rule; the others that
    have a period running are added to ``stays`` with the reason."""
    notices, held = queries.notice_times(session), queries.held_azs(session)
    current = (settings.round.name, settings.round.proof_of_use_date)
    due = []
    for app, decision in queries.current_applications(session):
        rule, until, why = case_rule(app, decision, notices.get(app.id), retention, current)
        if app.az in held:
            hold = queries.active_hold(session, app.az)
            stays.append(Stay(app.az, f"gesperrt: {hold.reason if hold else ''}"))
        elif until is not None and until <= now:
            due.append((app.id, rule))
        else:
            stays.append(Stay(app.az, why))
    return due


def case_rule(app: ApplicationRow, decision: DecisionRow | None, notice: datetime | None,
              retention: Retention, current: tuple[str, date | None]
              ) -> tuple[str, datetime | None, str]:
    """The retention class of a case, when its period ends (None: not running yet), and a
    German sentence why it stays until then (pure)."""
    if decision is not None and decision.decision == "angenommen":
        proof = retention.proof_of_use(app.round_name, current)
        if proof is None:
            return (classes.PARTICIPANT, None, f"Teilnahme: Verwendungsnachweis der Runde "
                    f"„{app.round_name}“ noch nicht eingetragen")
        until = classes.due_after_proof(proof, retention)
        return (classes.PARTICIPANT, until, f"Teilnahme: {retention.teilnahme.jahre} Jahre "
                f"nach dem Verwendungsnachweis, bis {_last_day(until)}")
    start = max(filter(None, (notice, decision.decided_at if decision else None)), default=None)
    if start is None:
        return classes.NOT_SELECTED, None, "noch kein Bescheid ergangen"
    until = classes.due_after_notice(start, retention)
    return (classes.NOT_SELECTED, until, f"nicht ausgewählt: {retention.nicht_ausgewaehlt.monate}"
            f" Monate nach dem Bescheid, bis {_last_day(until)}")


def _last_day(until: datetime) -> str:
    """The last day a record is kept (``until`` is the first instant after it)."""
    return f"{until - timedelta(seconds=1):%d.%m.%Y}"


def _step(run: Run, report: RunReport, work: Callable[[Session, Run], Entry | None]) -> None:
    """``work`` in a transaction of its own; rolled back in a Probelauf."""
    with transaction(run.settings.db_url, dry_run=run.dry_run) as session:
        entry = work(session, run)
    if entry is not None:
        report.entries.append(entry)


def finish(session: Session, run: Run, removal: Removal, *, rule: str, way: str,
           az: str | None, note: str = "") -> Entry | None:
    """Delete the removal's files and log it (nothing in a Probelauf); its report line."""
    if not removal:
        return None
    counts = dict(removal.counts)
    if not run.dry_run:
        remove_files(run.settings, removal.files)
        queries.add_log(session, at=run.now, actor=run.actor, rule=rule, way=way, az=az,
                        record_ids=removal.ids, counts=counts, note=note)
    return Entry(rule=rule, way=way, az=az, counts=counts)


def _case(session: Session, run: Run, *, application_id: int, rule: str) -> Entry | None:
    app = register.application_of(session, application_id)
    if app is None:
        return None
    removal = scrub_case(queries.case_records(session, app))
    return finish(session, run, removal, rule=rule, way=ANONYMISED, az=app.az)


def _quarantine(session: Session, run: Run) -> Entry | None:
    """Quarantined inputs and mails that led to no case, after the quarantine period."""
    before = run.now - timedelta(days=run.retention.quarantaene.tage)
    removal = Removal()
    for item in queries.quarantined_inputs(session, before):
        scrub_input(item, removal)
    mails = queries.unlinked_mails(session, before)
    for mail in mails:
        scrub_mail(mail, removal)
    for outgoing in queries.outgoing_by_keys(session, {f"mail:{m.id}" for m in mails}):
        scrub_outgoing(outgoing, removal)
    for bounce in queries.bounces_of_mails(session, [m.id for m in mails]):
        scrub_bounce(bounce, removal)
    return finish(session, run, removal, rule=classes.QUARANTINE, way=DELETED, az=None)


def _exports(session: Session, run: Run) -> Entry | None:
    removal = Removal()
    before = run.now - timedelta(days=run.retention.exporte.tage)
    for row in queries.exports_before(session, before):
        removal.note("exporte", row.id)
        removal.add_files(row.location)
        row.deleted_at = run.now
    return finish(session, run, removal, rule=classes.EXPORTS, way=DELETED, az=None)


def _network(session: Session, run: Run) -> Entry | None:
    removal = scrub_former_contacts(queries.network_events(session),
                                    queries.members_by_ags(session))
    return finish(session, run, removal, rule=classes.NETWORK, way=DELETED, az=None)


def log_deletion(settings: Settings, *, rule: str, counts: dict[str, int], now: datetime,
                 actor: str) -> None:
    """Log a deletion outside the register (Prefect's runs): counts only."""
    with transaction(settings.db_url) as session:
        queries.add_log(session, at=now, actor=actor, rule=rule, way=DELETED, az=None,
                        record_ids={}, counts=counts)


def _circular_sends(session: Session, run: Run) -> Entry | None:
    """Circulars' send ledgers: addresses and salutations cleared, their mails deleted."""
    removal = Removal()
    before = run.now - timedelta(days=run.retention.rundschreiben.tage)
    for send, mail in queries.old_circular_sends(session, before):
        if send.emails or send.salutation or send.problem:
            send.emails, send.salutation, send.problem = [], "", None
            removal.note("rundschreiben_verteiler", send.id)
        if mail is not None:
            scrub_outgoing(mail, removal)
    return finish(session, run, removal, rule=classes.CIRCULARS, way=DELETED, az=None)
