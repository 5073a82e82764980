"""A person's erasure request (DSGVO Art. 17): every finding of the access search is
erased where no retention duty stands against it, and what stays is shown with the reason;
logged without content (I/O: database, stored files).

What stays: a case within its period (a participant's application for five years after the
Verwendungsnachweis, one not selected until six months after its notice, an open one until
decided) with its mails, letters and correspondence; a held case; the signature of a
network member's Gemeinsame Erklärung (the proof of membership); the contact list, which
staff keep (its line is named for them to delete). Erased at once: mails and
correspondence outside a case, outgoing mails outside a case, the person's address in
circular ledgers, and the roster's contact person."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from ews.register import cases as register
from ews.register import decisions
from ews.register import retention as queries
from ews.register.database import Session, transaction
from ews.register.schema import (
    CircularSend,
    CorrespondenceRow,
    Input,
    MailRow,
    NetworkMember,
    OutgoingMail,
)
from ews.retention.access import Finding, find_person
from ews.retention.config import REQUEST, read_retention
from ews.retention.deletion import case_rule
from ews.retention.files import remove_files
from ews.retention.matching import Person
from ews.retention.scrub import (
    Removal,
    scrub_case,
    scrub_correspondence,
    scrub_input,
    scrub_mail,
    scrub_outgoing,
)
from ews.runtime.settings import Settings


@dataclass
class ErasureReport:
    erased: list[Finding] = field(default_factory=list)
    stays: list[tuple[Finding, str]] = field(default_factory=list)  # with the reason
    counts: Counter[str] = field(default_factory=Counter)


def erase_person(settings: Settings, query: str, *, reason: str, actor: str, now: datetime,
                 dry_run: bool = False) -> ErasureReport:
    """Erase what may go of the person ``query``; a Probelauf shows the same, changes
    nothing."""
    findings = find_person(settings, query)
    report = ErasureReport()
    with transaction(settings.db_url, dry_run=dry_run) as session:
        removal = Removal()
        for finding in findings:
            why = _erase(session, settings, finding, Person(query), removal, now)
            if why is None:
                report.erased.append(finding)
            else:
                report.stays.append((finding, why))
        report.counts = removal.counts
        if not dry_run:
            remove_files(settings, removal.files)
            register.log_event(session, actor=actor, action="loeschantrag",
                               subject="datenschutz", detail=dict(removal.counts))
            queries.add_log(session, at=now, actor=actor, rule=REQUEST, way="geloescht",
                            az=None, record_ids=removal.ids, counts=dict(removal.counts),
                            note=reason)
    return report


def _erase(session: Session, settings: Settings, finding: Finding, person: Person,
           removal: Removal, now: datetime) -> str | None:
    """Erase one finding's record; the reason it stays instead (German), or None."""
    if finding.az is not None and finding.table != "outgoing_mails":
        why = case_duty(session, settings, finding.az, now)
        if why is not None:
            return why
        application = register.application_by_az(session, finding.az)
        if application is not None:
            removal.merge(scrub_case(queries.case_records(session, application)))
            return None
    return _erase_loose(session, finding, person, removal)


def case_duty(session: Session, settings: Settings, az: str, now: datetime) -> str | None:
    """Why the case ``az`` must still be kept at ``now`` (German), or None."""
    if queries.active_hold(session, az) is not None:
        return f"bleibt, weil der Vorgang {az} gesperrt ist"
    application = register.application_by_az(session, az)
    if application is None:
        return None
    decision = decisions.decision_of(session, application.id)
    notice = queries.notice_times(session, [application.id]).get(application.id)
    retention = read_retention(settings.retention_file)
    _rule, until, why = case_rule(application, decision, notice, retention,
                                  (settings.round.name, settings.round.proof_of_use_date))
    if until is None or until > now:
        return f"bleibt, weil zum Vorgang {az} gehörig ({why})"
    return None


def _erase_loose(session: Session, finding: Finding, person: Person, removal: Removal
                 ) -> str | None:
    """A record outside a case."""
    if finding.table == "kontakte":
        return ("bleibt, weil die Kontaktliste (config/kontakte.csv) vom Büro gepflegt wird: "
                "die Zeile bitte dort von Hand löschen")
    row = queries.found_row(session, finding.table, finding.row_id)
    if isinstance(row, Input):
        scrub_input(row, removal)
    elif isinstance(row, MailRow):
        scrub_mail(row, removal)
    elif isinstance(row, CorrespondenceRow):
        scrub_correspondence(row, removal)
    elif isinstance(row, OutgoingMail):
        scrub_outgoing(row, removal)
    elif isinstance(row, CircularSend):
        row.emails = [address for address in row.emails if not person.matches(address)]
        removal.note("rundschreiben_verteiler", row.id)
    elif isinstance(row, NetworkMember):
        return _erase_contact(row, person, removal)
    else:
        return "bleibt, weil der Nachweis zum Vorgang gehört"
    return None


def _erase_contact(member: NetworkMember, person: Person, removal: Removal) -> str | None:
    if person.matches(member.contact_person) or person.matches(member.contact_email):
        member.contact_person, member.contact_email = "", ""
        removal.note("netzwerk_ansprechperson", member.id)
    if person.matches(member.signed_by):
        return ("bleibt, weil die Unterschrift der Gemeinsamen Erklärung den Beitritt "
                f"von {member.kommune_name} nachweist")
    return None
