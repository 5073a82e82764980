"""The selection's notices: Zusage, Absage, Wartelistenbescheid, Nachrückerzusage, each exactly
once (I/O: database, letter files, mail outbox).

``send_notices`` runs in resumable stages, each committed before the next starts:

1. plan (one transaction): every decision whose letter is not yet in ``letters`` gets one,
   an acceptance also its Gemeinsame Erklärung; ``letters`` is unique per (input, kind), so a
   rerun or a second worker plans nothing twice;
2. render the planned .docx files (rendering again overwrites them) and mark them rendered;
3. convert to PDF/A (the intake's batched conversion picks up every rendered letter);
4. queue one mail per notice in the transactional outbox (unique per letter), when the team
   gave e-mail addresses and SMTP is configured; otherwise the letter waits in ``outbox/``;
5. send what is due.

A crash between any two stages leaves a state the next run continues from: no letter is
written twice and none is lost. A decision changed after its letter went out gets the letter
of the new decision; the same kind of letter is never sent twice to one application.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from ews.core.deadlines import BERLIN, next_werktag
from ews.core.forms import assess_fields
from ews.core.models import LetterKind, Recipient
from ews.core.wording import REASON_SENTENCES, final_letter_states
from ews.letters.render import LetterData, WorkshopDate
from ews.network import declarations as network
from ews.outbox.conversion import convert_pending_letters
from ews.outbox.letters import LETTER_TITLES, letter_path, planned_letters, render_planned
from ews.outbox.queue import enqueue, mail_recipients, office_mail, render_body
from ews.outbox.sending import send_queued
from ews.register import cases as register
from ews.register.database import session_factory
from ews.register.schema import ApplicationRow, DecisionRow, LetterRow, OutgoingMail
from ews.runtime.settings import Settings
from ews.runtime.storage import location_name
from ews.selection.decisions import ACCEPTED, REJECTED, WAITING

NOTICE = "bescheid"
NOTICE_KINDS = (LetterKind.ZUSAGE, LetterKind.NACHRUECKERZUSAGE, LetterKind.ABSAGE,
                LetterKind.WARTELISTENBESCHEID)
SUBJECTS = {
    LetterKind.ZUSAGE: "Zusage",
    LetterKind.NACHRUECKERZUSAGE: "Zusage – ein Platz ist frei geworden",
    LetterKind.ABSAGE: "Ihre Bewerbung",
    LetterKind.WARTELISTENBESCHEID: "Platz auf der Warteliste",
}


def notice_kind(decision: DecisionRow) -> LetterKind | None:
    """The letter a decision calls for; a withdrawal gets none (the municipality withdrew)."""
    if decision.decision == ACCEPTED:
        return LetterKind.NACHRUECKERZUSAGE if decision.moved_up else LetterKind.ZUSAGE
    if decision.decision == WAITING:
        return LetterKind.WARTELISTENBESCHEID
    if decision.decision == REJECTED:
        return LetterKind.ABSAGE
    return None


@dataclass
class NoticeReport:
    planned: list[tuple[str, str, str]] = field(default_factory=list)  # (az, kommune, title)
    queued: int = 0
    by_post: list[tuple[str, str]] = field(default_factory=list)  # (az, title): no address
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def plan_notices(session: Session, settings: Settings, now: datetime, *, actor: str
                 ) -> list[tuple[str, str, str]]:
    """Stage 1 (in the caller's transaction): plan every outstanding notice of the round."""
    register.lock_decisions(session)
    rows = session.execute(
        select(DecisionRow, ApplicationRow)
        .join(ApplicationRow, ApplicationRow.id == DecisionRow.application_id)
        .where(DecisionRow.round_name == settings.round.name)
        .order_by(ApplicationRow.az_year, ApplicationRow.az_serial)).all()
    written = {(letter.application_id, letter.kind) for letter in session.scalars(
        select(LetterRow).where(LetterRow.application_id.in_([a.id for _, a in rows])))}
    planned = []
    for decision, application in rows:
        kind = notice_kind(decision)
        if kind is None or (application.id, kind.value) in written:
            continue
        data = notice_data(application, decision, kind, settings, now)
        register.plan_letter(session, input_id=application.input_id,
                             application_id=application.id, kind=kind.value,
                             reference=application.az, docx_path=letter_path(data, settings),
                             data=data.model_dump(mode="json"))
        planned.append((application.az, application.kommune_name, _title(kind)))
        register.log_event(session, actor=actor, action="bescheid", subject=application.az,
                           detail={"brief": kind.value, "entscheidung": decision.decision})
        if kind in (LetterKind.ZUSAGE, LetterKind.NACHRUECKERZUSAGE) and (
                application.id, LetterKind.GEMEINSAME_ERKLAERUNG.value) not in written:
            network.plan_declaration_for(session, application, data.recipient, settings, now,
                                         actor=actor)
            planned.append((application.az, application.kommune_name,
                            _title(LetterKind.GEMEINSAME_ERKLAERUNG)))
    return planned


def notice_data(application: ApplicationRow, decision: DecisionRow, kind: LetterKind,
                settings: Settings, now: datetime) -> LetterData:
    """What one notice says (pure apart from reading the stored form fields)."""
    assessment = assess_fields(dict(application.fields), round_name=application.round_name)
    recipient = assessment.recipient or Recipient(lines=[application.kommune_name],
                                                  salutation="Sehr geehrte Damen und Herren,")
    today = now.astimezone(BERLIN).date()
    fields = application.fields
    team = [(str(fields.get(f"team{n}_name") or ""), str(fields.get(f"team{n}_funktion") or ""))
            for n in (1, 2) if fields.get(f"team{n}_name")]
    name = assessment.municipality.letter_name if assessment.municipality \
        else application.kommune_name
    return LetterData(
        kind=kind, recipient=recipient, reference=application.az, letter_date=today,
        round_name=application.round_name, kommune_name=name,
        received_at=application.received_at,
        workshops=[WorkshopDate(**w.model_dump()) for w in settings.round.workshops],
        reply_by=next_werktag(today + timedelta(days=settings.round.reply_days)),
        team=team, rank=decision.rank if kind is LetterKind.WARTELISTENBESCHEID else None,
        reason_text=REASON_SENTENCES.get(decision.reason_category or "", "")
        if kind is LetterKind.ABSAGE else "")


def render_notices(settings: Settings) -> int:
    """Stages 2: write every planned letter of the selection and the network (.docx)."""
    sessions = session_factory(settings.db_url)
    with sessions.begin() as session:
        letters = planned_letters(list(session.scalars(
            select(LetterRow).where(LetterRow.state == "planned",
                                    LetterRow.kind.in_(_SELECTION_KINDS)))))
    render_planned(letters, settings)
    with sessions.begin() as session:
        for letter_id, _, _ in letters:
            row = session.get(LetterRow, letter_id)
            if row is not None and row.state == "planned":
                row.state = "rendered"
    return len(letters)


_SELECTION_KINDS = [kind.value for kind in (*NOTICE_KINDS, LetterKind.GEMEINSAME_ERKLAERUNG)]


def queue_notice_mails(settings: Settings, now: datetime) -> tuple[int, list[tuple[str, str]]]:
    """Stage 4: one mail per finished notice, to the team's addresses; returns the number
    queued and the notices that must go by post (no address)."""
    if not settings.smtp.host:
        return 0, []
    final = final_letter_states(settings.letters.pdf)
    queued, by_post = 0, []
    with session_factory(settings.db_url).begin() as session:
        keys = set(session.scalars(select(OutgoingMail.subject_key)
                                   .where(OutgoingMail.purpose == NOTICE)))
        letters = list(session.scalars(select(LetterRow).where(
            LetterRow.kind.in_(_SELECTION_KINDS)).order_by(LetterRow.id)))
        declarations = {letter.application_id: letter for letter in letters
                        if letter.kind == LetterKind.GEMEINSAME_ERKLAERUNG.value}
        for letter in letters:
            if letter.kind == LetterKind.GEMEINSAME_ERKLAERUNG.value or \
                    f"brief:{letter.id}" in keys or letter.state not in final:
                continue
            enclosed = [declarations[letter.application_id]] if letter.kind in (
                LetterKind.ZUSAGE.value, LetterKind.NACHRUECKERZUSAGE.value) and \
                letter.application_id in declarations else []
            if any(extra.state not in final for extra in enclosed):
                continue  # the declaration's PDF is still to come
            application = register.application_of(session, letter.application_id)
            assert application is not None
            recipients = mail_recipients(settings, [], application)
            if not recipients:
                by_post.append((letter.reference, _title(LetterKind(letter.kind))))
                continue
            message = _notice_mail(settings, application, letter, enclosed, recipients, now)
            enqueue(session, settings, f"brief:{letter.id}", message, recipients, now,
                    purpose=NOTICE)
            queued += 1
    return queued, by_post


def _notice_mail(settings: Settings, application: ApplicationRow, letter: LetterRow,
                 enclosed: list[LetterRow], recipients: list[str], now: datetime
                 ) -> EmailMessage:
    kind = LetterKind(letter.kind)
    files = [row.pdf_path or row.docx_path for row in (letter, *enclosed)]
    data = LetterData.model_validate(letter.data)
    body = render_body(settings, {
        "art": kind.value, "aktenzeichen": application.az, "kommune": data.kommune_name,
        "runde": application.round_name, "anrede": data.recipient.salutation.rstrip(","),
        "rueckmeldung_bis": f"{data.reply_by:%d.%m.%Y}" if data.reply_by else "",
        "rang": data.rank or "", "anhaenge": [location_name(location) for location in files],
        "buero": settings.office.model_dump(),
    }, template="bescheid.txt.j2")
    return office_mail(settings, f"{application.round_name}: {SUBJECTS[kind]} "
                       f"({application.az})", recipients, now, body, files,
                       auto_submitted="auto-generated")


def _title(kind: LetterKind) -> str:
    return LETTER_TITLES[kind]


def send_notices(settings: Settings, now: datetime, *, actor: str) -> NoticeReport:
    """All stages: every outstanding notice written, converted, queued and sent (idempotent)."""
    report = NoticeReport()
    with session_factory(settings.db_url).begin() as session:
        report.planned = plan_notices(session, settings, now, actor=actor)
    render_notices(settings)
    convert_pending_letters(settings)
    report.queued, report.by_post = queue_notice_mails(settings, now)
    sending = send_queued(settings, now)
    report.sent, report.retrying, report.failed = sending.sent, sending.retrying, sending.failed
    return report
