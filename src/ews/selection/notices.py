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

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage

from ews.core.deadlines import BERLIN, answer_due
from ews.core.forms import assess_fields
from ews.core.models import FollowUpKind, LetterKind, Recipient, final_letter_states
from ews.core.wording import REASON_SENTENCES
from ews.letters.context import LetterData, WorkshopDate
from ews.network import declarations as network
from ews.outbox.conversion import convert_pending_letters
from ews.outbox.letters import LETTER_TITLES, letter_path, planned_letters, render_planned
from ews.outbox.office import mail_recipients, office_mail
from ews.outbox.queue import enqueue
from ews.outbox.sending import send_queued
from ews.outbox.templates import render_body
from ews.register import cases as register
from ews.register import decisions as decisions_register
from ews.register import follow_ups
from ews.register import letters as letters_register
from ews.register.database import Session, transaction
from ews.register.schema import ApplicationRow, DecisionRow, LetterRow
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


_ACCEPTANCES = (LetterKind.ZUSAGE, LetterKind.NACHRUECKERZUSAGE)


def letters_due(kind: LetterKind | None, application_id: int,
                written: set[tuple[int, str]]) -> tuple[LetterKind, ...]:
    """The letters to plan for a decision calling for ``kind``, given the (application,
    kind) pairs already written: the notice once, and with an acceptance the Gemeinsame
    Erklärung once."""
    if kind is None or (application_id, kind.value) in written:
        return ()
    if kind in _ACCEPTANCES and (application_id, LetterKind.GEMEINSAME_ERKLAERUNG.value) \
            not in written:
        return kind, LetterKind.GEMEINSAME_ERKLAERUNG
    return (kind,)


def enclosures_if_due(letter: LetterRow, queued: set[str],
                      declarations: dict[int | None, LetterRow], final: Collection[str]
                      ) -> list[LetterRow] | None:
    """The letters a notice's mail encloses besides the notice (an acceptance: its
    declaration), or None when no mail is due: a declaration itself, a notice already queued
    (``queued``: the outbox keys), or one whose files are not final yet."""
    if letter.kind == LetterKind.GEMEINSAME_ERKLAERUNG.value or \
            f"brief:{letter.id}" in queued or letter.state not in final:
        return None
    enclosed = [declarations[letter.application_id]] if letter.kind in (
        LetterKind.ZUSAGE.value, LetterKind.NACHRUECKERZUSAGE.value) and \
        letter.application_id in declarations else []
    if any(extra.state not in final for extra in enclosed):
        return None  # the declaration's PDF is still to come
    return enclosed


@dataclass
class NoticeReport:
    planned: list[tuple[str, str, str]] = field(default_factory=list)  # (az, kommune, title)
    queued: int = 0
    by_post: list[tuple[str, str]] = field(default_factory=list)  # (az, title): no address
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def outstanding_notices(session: Session, round_name: str
                        ) -> list[tuple[DecisionRow, ApplicationRow, tuple[LetterKind, ...]]]:
    """Every decision of the round with the letters still due for it (none: left out);
    reads only. Stage 1 plans exactly these; the web interface shows them beforehand."""
    rows = decisions_register.decisions_with_applications(session, round_name)
    written = letters_register.kinds_written(session, [a.id for _, a in rows])
    due = [(decision, application, letters_due(notice_kind(decision), application.id, written))
           for decision, application in rows]
    return [row for row in due if row[2]]


def plan_notices(session: Session, settings: Settings, now: datetime, *, actor: str
                 ) -> list[tuple[str, str, str]]:
    """Stage 1 (in the caller's transaction): plan every outstanding notice of the round."""
    register.lock_decisions(session)
    planned = []
    for decision, application, due in outstanding_notices(session, settings.round.name):
        kind = due[0]
        data = notice_data(application, decision, kind, settings, now)
        letter = register.plan_letter(session, input_id=application.input_id,
                                      application_id=application.id, kind=kind.value,
                                      reference=application.az,
                                      docx_path=letter_path(data, settings),
                                      data=data.model_dump(mode="json"))
        _expect_release(session, letter, data, now, actor=actor)
        planned.append((application.az, application.kommune_name, _title(kind)))
        register.log_event(session, actor=actor, action="bescheid", subject=application.az,
                           detail={"brief": kind.value, "entscheidung": decision.decision})
        if LetterKind.GEMEINSAME_ERKLAERUNG in due:
            network.plan_declaration_for(session, application, data.recipient, settings, now,
                                         actor=actor)
            planned.append((application.az, application.kommune_name,
                            _title(LetterKind.GEMEINSAME_ERKLAERUNG)))
    return planned


def _expect_release(session: Session, letter: LetterRow, data: LetterData, now: datetime, *,
                    actor: str) -> None:
    """An acceptance asks for the release confirmation by the date it prints: a follow-up."""
    if data.kind not in _ACCEPTANCES or data.reply_by is None:
        return
    session.flush()  # the letter's id
    follow_ups.open_follow_up(session, az=letter.reference, kind=FollowUpKind.RELEASE,
                              due_on=data.reply_by, actor=actor, now=now,
                              application_id=letter.application_id, letter_id=letter.id)


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
        reply_by=answer_due(today, settings.round.reply_days),
        team=team, rank=decision.rank if kind is LetterKind.WARTELISTENBESCHEID else None,
        reason_text=REASON_SENTENCES.get(decision.reason_category or "", "")
        if kind is LetterKind.ABSAGE else "")


def render_notices(settings: Settings) -> int:
    """Stages 2: write every planned letter of the selection and the network (.docx)."""
    with transaction(settings.db_url) as session:
        letters = planned_letters(letters_register.planned_of_kinds(session, _SELECTION_KINDS))
    render_planned(letters, settings)
    with transaction(settings.db_url) as session:
        letters_register.mark_rendered(session, [letter_id for letter_id, _, _ in letters])
    return len(letters)


_SELECTION_KINDS = [kind.value for kind in (*NOTICE_KINDS, LetterKind.GEMEINSAME_ERKLAERUNG)]


def queue_notice_mails(settings: Settings, now: datetime) -> tuple[int, list[tuple[str, str]]]:
    """Stage 4: one mail per finished notice, to the team's addresses; returns the number
    queued and the notices that must go by post (no address)."""
    if not settings.smtp.host:
        return 0, []
    final = final_letter_states(settings.letters.pdf)
    queued, by_post = 0, []
    with transaction(settings.db_url) as session:
        keys = letters_register.mail_keys(session, NOTICE)
        letters = letters_register.of_kinds(session, _SELECTION_KINDS)
        declarations: dict[int | None, LetterRow] = {
            letter.application_id: letter for letter in letters
            if letter.kind == LetterKind.GEMEINSAME_ERKLAERUNG.value}
        for letter in letters:
            enclosed = enclosures_if_due(letter, keys, declarations, final)
            if enclosed is None:
                continue
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
    with transaction(settings.db_url) as session:
        report.planned = plan_notices(session, settings, now, actor=actor)
    render_notices(settings)
    convert_pending_letters(settings)
    report.queued, report.by_post = queue_notice_mails(settings, now)
    sending = send_queued(settings, now)
    report.sent, report.retrying, report.failed = sending.sent, sending.retrying, sending.failed
    return report
