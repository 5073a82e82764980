"""Answers by e-mail through a transactional outbox (I/O: database, files, SMTP, mailbox).

``queue_answers`` writes every due answer to ``data/postausgang`` and records it ``queued`` in
the same transaction; ``send_due`` sends what is queued. A mail gets at most one answer, naming
all its inputs, and one address at most ``max_answers_per_sender_per_day`` in 24 hours; a mail
that gets none (DMARC failure, limit reached, no sender) is recorded ``withheld`` with the
German reason, so that staff see it and it is decided only once. A mail is marked ``sending`` before
the SMTP transaction and ``sent`` after the copy went to the Sent folder. After a crash, a
mail left ``sending`` is looked up in the Sent folder by its Message-ID: found means sent,
otherwise it is sent again. Only a crash in the milliseconds between the server's "250" and the
copy to Sent can therefore repeat a mail. Temporary refusals (4xx, dropped connections) are
retried with exponential backoff, permanent ones (5xx) end as ``failed`` with a German reason
in the register. Credentials are SecretStr and never logged.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import String, cast, exists, literal, select
from sqlalchemy.orm import Session, sessionmaker

from ews.core.deadlines import BERLIN
from ews.core.models import LetterKind, Outcome
from ews.core.wording import final_letter_states
from ews.register import cases as register
from ews.register.database import session_factory
from ews.register.locks import locks_for
from ews.register.schema import (
    ApplicationRow,
    DeclarationRow,
    Input,
    LetterRow,
    MailInput,
    MailRow,
    OutgoingMail,
)
from ews.runtime import folders, storage
from ews.runtime.settings import OfficeSettings, Settings, SmtpSettings

log = logging.getLogger(__name__)
SEND_WAIT = 900.0  # seconds a sender waits while another process sends the outbox

ANSWER = "antwort"
RESULT_WORDS = {Outcome.REGISTERED.value: "registriert", Outcome.LATE.value: "verspaetet",
                Outcome.INVALID.value: "ungueltig", Outcome.DECLARATION.value: "erklaerung"}
SUBJECTS = {"registriert": "Eingangsbestätigung", "verspaetet": "Verspätete Bewerbung",
            "ungueltig": "Bewerbung konnte nicht registriert werden",
            "erklaerung": "Beitritt zum Kommunen-Netzwerk: engagiert in NRW"}
#: the kinds of mail (``MailRow.kind``) that are answered, or get a withheld answer
ANSWERED_KINDS = ("application", "no_pdf", "staff", "unverified")
#: at most this many letters hang on one answer; the others are named in it
ANSWER_MAX_LETTERS = 25
WITHHELD = "withheld"  # an answer decided against, with the reason in ``last_error``
_WITH_TEAM = (Outcome.REGISTERED.value, Outcome.LATE.value, Outcome.DECLARATION.value)
#: the letters an answer to a mail input carries (the intake's own)
ANSWER_LETTERS = frozenset({LetterKind.EINGANGSBESTAETIGUNG.value,
                            LetterKind.MAENGELSCHREIBEN.value,
                            LetterKind.VERSPAETUNGSSCHREIBEN.value,
                            LetterKind.BEITRITTSBESTAETIGUNG.value})


def queue_answers(settings: Settings, now: datetime) -> list[int]:
    """Write one answer per mail once every input of it has its outcome and letters, naming
    all of them (at most one per mail, at most ``max_answers_per_sender_per_day`` to one
    address within 24 hours before ``now``). A mail that gets none is recorded ``withheld``
    with the German reason (``ews postausgang``). Returns the ids of the queued mails."""
    sessions = session_factory(settings.db_url)
    queued = []
    with sessions.begin() as session:
        sent_to = answers_per_address(session, now)
        for mail, items in _mails_to_answer(session):
            loaded = register.load_inputs(session, [item.id for item in items])
            letters = {item.id: [letter for letter in loaded.letters[item.id]
                                 if letter.kind in ANSWER_LETTERS]  # not the selection's
                       for item in items}
            if not all(_letters_final(found, settings) for found in letters.values()):
                continue  # PDF conversion still to come
            mail_id = _answer_mail(settings, session, mail, items, letters, sent_to, now)
            if mail_id is not None:
                queued.append(mail_id)
    return queued


def _mails_to_answer(session: Session) -> list[tuple[MailRow, list[Input]]]:
    """Mails without an answer (or a withheld one) whose inputs are all done, with those
    inputs; inputs answered one by one before answers were per mail are left out."""
    mail_key = literal("mail:") + cast(MailRow.id, String)
    input_key = literal("eingang:") + cast(Input.id, String)
    answered = (OutgoingMail.purpose == ANSWER)
    rows = session.execute(
        select(MailRow, Input).join(MailInput, MailInput.mail_id == MailRow.id)
        .join(Input, Input.id == MailInput.input_id)
        .where(MailRow.kind.in_(ANSWERED_KINDS),
               ~exists().where(answered, OutgoingMail.subject_key == mail_key),
               ~exists().where(answered, OutgoingMail.subject_key == input_key))
        .order_by(MailRow.id, Input.id)).tuples().all()
    grouped: dict[int, tuple[MailRow, list[Input]]] = {}
    for mail, item in rows:
        grouped.setdefault(mail.id, (mail, []))[1].append(item)
    return [(mail, items) for mail, items in grouped.values()
            if all(item.state == "done" for item in items)]


def _letters_final(letters: list[LetterRow], settings: Settings) -> bool:
    final = final_letter_states(settings.letters.pdf)
    return all(letter.state in final for letter in letters)


def _answer_mail(settings: Settings, session: Session, mail: MailRow, items: list[Input],
                 letters: dict[int, list[LetterRow]], sent_to: Counter[str], now: datetime
                 ) -> int | None:
    """Queue the answer to one mail, or record why there is none; the queued mail's id."""
    key = f"mail:{mail.id}"
    applications = [register.application_of(session, item.application_id) for item in items
                    if item.outcome in _WITH_TEAM]
    if len({application.ags for application in applications if application}) > 1:
        applications = []  # one team must not read another municipality's letters
    reason = no_answer_reason(mail, items)
    recipients = [] if reason else mail_recipients(settings, [mail.sender or ""], *applications)
    limit = settings.smtp.max_answers_per_sender_per_day
    if reason is None and not recipients:
        reason = "Keine automatische Antwort: außer dem Programmbüro gibt es keinen Empfänger."
    elif reason is None and sent_to[normalised_address(recipients[0])] >= limit:
        reason = (f"Keine automatische Antwort: an {recipients[0]} gingen in den letzten 24 "
                  f"Stunden bereits {limit} automatische Antworten (Höchstzahl). Die Eingänge "
                  "sind trotzdem registriert; bitte bei Bedarf persönlich antworten.")
    if reason is not None:
        _withhold(session, key, recipients[:1] or ([mail.sender] if mail.sender else []),
                  reason, now)
        return None
    # the sender is under the limit; team addresses over it are left out
    recipients = recipients[:1] + [address for address in recipients[1:]
                                   if sent_to[normalised_address(address)] < limit]
    if len(items) == 1:
        message = build_answer(settings, session, items[0], mail, letters[items[0].id],
                               recipients, now)
    else:
        message = build_collected_answer(settings, session, mail, items, letters, recipients,
                                         now)
    sent_to.update(normalised_address(address) for address in recipients)
    return enqueue(session, settings, key, message, recipients, now)


def no_answer_reason(mail: MailRow, items: list[Input]) -> str | None:
    """Why a mail gets no automatic answer at all (German), or None."""
    if mail.kind == "unverified":
        return mail.reasons[0] if mail.reasons else "Absender nicht bestätigt."
    if not mail.sender:
        return "Keine automatische Antwort: die E-Mail hat keine gültige Absenderadresse."
    if not any(item.outcome in RESULT_WORDS for item in items):
        return "Keine automatische Antwort: alle Dateien der E-Mail lagen bereits vor."
    return None


def answers_per_address(session: Session, now: datetime) -> Counter[str]:
    """How many automatic answers went (or wait to go) to each address within the 24 hours
    before ``now``, by normalised address."""
    since = now - timedelta(hours=24)
    counts: Counter[str] = Counter()
    for recipients in session.scalars(select(OutgoingMail.recipients).where(
            OutgoingMail.purpose == ANSWER, OutgoingMail.state != WITHHELD,
            OutgoingMail.created_at > since, OutgoingMail.created_at <= now)):
        counts.update({normalised_address(address) for address in recipients})
    return counts


def normalised_address(address: str) -> str:
    """One spelling per mailbox: NFC, lower-case, without a ``+tag`` in the local part."""
    local, _at, domain = unicodedata.normalize("NFC", address).strip().lower().rpartition("@")
    return f"{local.split('+', 1)[0] or local}@{domain}"


def _withhold(session: Session, key: str, recipients: list[str], reason: str,
              now: datetime) -> None:
    """Record that a mail gets no answer, and why: one row, so it is decided once."""
    session.add(OutgoingMail(purpose=ANSWER, subject_key=key, message_id=f"{WITHHELD}:{key}",
                             recipients=recipients, eml_path="", state=WITHHELD, attempts=0,
                             next_attempt_at=now, last_error=reason[:2000], refused={},
                             created_at=now))
    register.log_event(session, actor="postausgang", action="antwort-zurueckgehalten",
                       subject=key, detail={"grund": reason, "empfaenger": recipients})


def _reference(session: Session, item: Input) -> tuple[str, str, ApplicationRow | None]:
    """Az. and municipality of an input (a returned declaration has its own Az.)."""
    application = register.application_of(session, item.application_id)
    az = application.az if application else ""
    if item.declaration_id is not None:
        declaration = session.get(DeclarationRow, item.declaration_id)
        az = declaration.az if declaration else az
    kommune = application.kommune_name if application else (item.kommune_name or "")
    return az, kommune, application


def build_answer(settings: Settings, session: Session, item: Input, mail: MailRow,
                 letters: list[LetterRow], recipients: list[str], now: datetime
                 ) -> EmailMessage:
    """The answer to a mail with one input."""
    result = RESULT_WORDS[item.outcome or Outcome.INVALID.value]
    files = [letter.pdf_path or letter.docx_path for letter in letters]
    az, kommune, _application = _reference(session, item)
    body = render_body(settings, {
        "anrede": "Sehr geehrte Damen und Herren",
        "ergebnis": result,
        "aktenzeichen": az,
        "eingangsnummer": f"{item.id:06d}",
        "kommune": kommune,
        "eingang": _when(item.received_at),
        "runde": settings.round.name,
        "datei": folders.original_name(Path(item.claim_path))
        if mail.kind == "application" else "",
        "gruende": list(item.reasons),
        "anhaenge": [storage.location_name(location) for location in files],
        "nicht_angenommen": list(mail.reasons) if mail.kind == "application" else [],
        "zur_pruefung": mail.kind == "staff",
        "buero": settings.office.model_dump(),
    })
    reference = az or f"Eingang {item.id:06d}"
    return _reply(settings, mail, f"{SUBJECTS[result]} – {settings.round.name} ({reference})",
                  recipients, now, body, files)


def build_collected_answer(settings: Settings, session: Session, mail: MailRow,
                           items: list[Input], letters: dict[int, list[LetterRow]],
                           recipients: list[str], now: datetime) -> EmailMessage:
    """The one answer to a mail with several inputs: each input's outcome, the letters
    attached (at most ``ANSWER_MAX_LETTERS``; the others are named)."""
    entries = []
    for item in items:
        az, kommune, _application = _reference(session, item)
        entries.append({"datei": folders.original_name(Path(item.claim_path)),
                        "ergebnis": RESULT_WORDS.get(item.outcome or "", "doppelt"),
                        "aktenzeichen": az, "kommune": kommune,
                        "eingangsnummer": f"{item.id:06d}", "gruende": list(item.reasons)})
    files = [letter.pdf_path or letter.docx_path for item in items for letter in letters[item.id]]
    body = render_body(settings, {
        "anrede": "Sehr geehrte Damen und Herren",
        "eingang": _when(mail.internaldate),
        "runde": settings.round.name,
        "eingaenge": entries,
        "anhaenge": [storage.location_name(location) for location in files[:ANSWER_MAX_LETTERS]],
        "nicht_angehaengt": [storage.location_name(location)
                             for location in files[ANSWER_MAX_LETTERS:]],
        "nicht_angenommen": list(mail.reasons),
        "buero": settings.office.model_dump(),
    }, template="antwort_sammel.txt.j2")
    subject = f"Ihre E-Mail mit {len(items)} Dateien – {settings.round.name}"
    return _reply(settings, mail, subject, recipients, now, body, files[:ANSWER_MAX_LETTERS])


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(BERLIN):%d.%m.%Y, %H:%M} Uhr"


def _reply(settings: Settings, mail: MailRow, subject: str, recipients: list[str],
           now: datetime, body: str, files: list[str]) -> EmailMessage:
    message = office_mail(settings, subject, recipients, now, body, files,
                          auto_submitted="auto-replied")
    if mail.message_id:
        message["In-Reply-To"] = f"<{mail.message_id}>"
        message["References"] = f"<{mail.message_id}>"
    return message


def office_mail(settings: Settings, subject: str, recipients: list[str], now: datetime,
                body: str, files: list[str], *, auto_submitted: str, html: str | None = None,
                headers: dict[str, str] | None = None) -> EmailMessage:
    """A mail from the office: the first recipient in To, the others in Cc, the letters
    attached (their locations: paths or storage URLs), with an HTML version of the text when
    given. ``auto_submitted`` (RFC 3834)
    keeps auto-responders from answering it."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.sender_address
    message["To"] = recipients[0]
    if len(recipients) > 1:
        message["Cc"] = ", ".join(recipients[1:])
    message["Date"] = format_datetime(now.astimezone(BERLIN))
    message["Message-ID"] = make_msgid(domain=settings.sender_address.rpartition("@")[2])
    message["Auto-Submitted"] = auto_submitted
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for location in files:  # PDF, or .docx when PDF output is off
        name = storage.location_name(location)
        subtype = "pdf" if name.casefold().endswith(".pdf") else \
            "vnd.openxmlformats-officedocument.wordprocessingml.document"
        message.add_attachment(storage.read_location(location, settings.storage.options),
                               maintype="application", subtype=subtype, filename=name)
    return message


def mail_recipients(settings: Settings, senders: list[str],
                    *applications: ApplicationRow | None) -> list[str]:
    """The given addresses plus the teams' from the forms; never the office itself."""
    addresses = [sender for sender in senders if sender]
    for application in applications:
        if application is None:
            continue
        for key in ("team1_email", "team2_email"):
            value = application.fields.get(key)
            if isinstance(value, str) and "@" in value:
                addresses.append(value.strip())
    own = settings.sender_address.lower()
    unique: dict[str, str] = {}
    for address in addresses:
        if address.lower() != own:
            unique.setdefault(address.lower(), address)
    return list(unique.values())


def render_body(settings: Settings, context: dict[str, Any],
                template: str = "antwort.txt.j2") -> str:
    return _mail_templates(settings.templates_dir / "mail").get_template(template).render(
        context)


@cache
def _mail_templates(folder: Path) -> SandboxedEnvironment:
    """One environment per folder: a template is compiled once and recompiled only when staff
    changed its file (the loader checks the modification time)."""
    return SandboxedEnvironment(loader=jinja2.FileSystemLoader(folder),
                                undefined=jinja2.StrictUndefined, autoescape=False,
                                keep_trailing_newline=True)


#: every mail template with sample contexts that take each of its branches
_OFFICE_SAMPLE = OfficeSettings().model_dump()
_MAIL_SAMPLES: dict[str, list[dict[str, Any]]] = {
    "antwort.txt.j2": [
        {"anrede": "Sehr geehrte Damen und Herren", "ergebnis": result,
         "aktenzeichen": "13.0.70-001/2027", "eingangsnummer": "000001",
         "kommune": "Stadt Musterstadt", "eingang": "01.03.2027, 14:03 Uhr", "runde": "EWS 6",
         "datei": "bewerbung.pdf", "gruende": ["Ein Grund."], "anhaenge": ["brief.pdf"],
         "nicht_angenommen": ["bild.jpg: keine PDF-Datei"], "zur_pruefung": staff,
         "buero": _OFFICE_SAMPLE}
        for result in RESULT_WORDS.values() for staff in (False, True)],
    "antwort_sammel.txt.j2": [
        {"anrede": "Sehr geehrte Damen und Herren", "eingang": "01.03.2027, 14:03 Uhr",
         "runde": "EWS 6", "eingaenge": [
             {"datei": f"bewerbung-{number}.pdf", "ergebnis": result,
              "aktenzeichen": "13.0.70-001/2027", "kommune": "Stadt Musterstadt",
              "eingangsnummer": f"00000{number}", "gruende": ["Ein Grund."]}
             for number, result in enumerate([*RESULT_WORDS.values(), "doppelt"], start=1)],
         "anhaenge": ["brief.pdf"], "nicht_angehaengt": more,
         "nicht_angenommen": ["bild.jpg: keine PDF-Datei"], "buero": _OFFICE_SAMPLE}
        for more in ([], ["brief-26.pdf"])],
    "bescheid.txt.j2": [
        {"art": art, "anrede": "Sehr geehrte Frau Bürgermeisterin Muster",
         "aktenzeichen": "13.0.70-001/2027", "kommune": "Stadt Musterstadt", "runde": "EWS 6",
         "rueckmeldung_bis": "30.04.2027", "rang": 3, "anhaenge": ["zusage.pdf"],
         "buero": _OFFICE_SAMPLE}
        for art in ("zusage", "nachrueckerzusage", "absage", "wartelistenbescheid")],
}


def check_mail_templates(settings: Settings) -> list[str]:
    """German descriptions of every problem in the mail templates; ``[]`` when fine."""
    folder = settings.templates_dir / "mail"
    problems: list[str] = []
    for name, contexts in _MAIL_SAMPLES.items():
        if not (folder / name).is_file():
            problems.append(f"E-Mail-Vorlage „{name}“ fehlt im Ordner {folder}.")
            continue
        try:
            for context in contexts:
                render_body(settings, context, template=name)
        except jinja2.TemplateSyntaxError as exc:
            problems.append(f"E-Mail-Vorlage „{name}“, Zeile {exc.lineno}: der Platzhalter "
                            f"oder die Anweisung ist fehlerhaft ({exc.message}).")
        except jinja2.UndefinedError as exc:
            problems.append(f"E-Mail-Vorlage „{name}“: unbekannter Platzhalter ({exc.message});"
                            f" verfügbar sind: {', '.join(sorted(contexts[0]))}.")
        except jinja2.TemplateError as exc:
            problems.append(f"E-Mail-Vorlage „{name}“ kann nicht ausgefüllt werden: {exc}.")
    return problems


def enqueue(session: Session, settings: Settings, key: str, message: EmailMessage,
            recipients: list[str], now: datetime, *, purpose: str = ANSWER) -> int:
    """Write the mail to ``data/postausgang`` (or the store's ``postausgang``) and record it
    ``queued`` (caller's transaction; unique per purpose and key)."""
    row = OutgoingMail(purpose=purpose, subject_key=key, message_id=str(message["Message-ID"]),
                       recipients=recipients, eml_path="", state="queued", attempts=0,
                       next_attempt_at=now, refused={}, created_at=now)
    session.add(row)
    session.flush()
    store = storage.outgoing_mail_store(settings)
    # CRLF line ends as SMTP requires; stored before the commit records it
    row.eml_path = store.put(store.location(f"{row.id:06d}.eml"), message.as_bytes(policy=SMTP))
    return row.id


Sessions = sessionmaker[Session]


def _outgoing(session: Session, mail_id: int) -> OutgoingMail:
    row = session.get(OutgoingMail, mail_id)
    if row is None:
        raise LookupError(f"outgoing mail {mail_id} is not in the register")
    return row


@dataclass
class SendReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


SentCopy = Callable[[bytes, datetime], None]
MessageIdLookup = Callable[[str], bool]


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class Pacer:
    """Keeps sending at or below ``per_minute`` mails a minute (0: no limit)."""

    def __init__(self, per_minute: int, clock: Clock | None = None) -> None:
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self.clock: Clock = clock or time
        self.last: float | None = None

    def wait(self) -> None:
        if not self.interval:
            return
        if self.last is not None:
            remaining = self.last + self.interval - self.clock.monotonic()
            if remaining > 0:
                self.clock.sleep(remaining)
        self.last = self.clock.monotonic()


def send_due(settings: Settings, now: datetime, *, copy_to_sent: SentCopy | None = None,
             in_sent: MessageIdLookup | None = None, clock: Clock | None = None) -> SendReport:
    """Send every queued mail that is due, no faster than the rate limit; resolve mails a
    crash left ``sending``."""
    report = SendReport()
    if not settings.smtp.host:
        return report
    # one sender at a time over every worker: a mail another process left ``sending`` is
    # then known to be a crashed one's
    with locks_for(settings) as locks, locks.named("postausgang", wait=SEND_WAIT):
        return _send_due(settings, now, report, copy_to_sent, in_sent, clock)


def _send_due(settings: Settings, now: datetime, report: SendReport,
              copy_to_sent: SentCopy | None, in_sent: MessageIdLookup | None,
              clock: Clock | None) -> SendReport:
    sessions = session_factory(settings.db_url)
    with sessions.begin() as session:
        due = [(row.id, row.state, row.message_id) for row in session.scalars(
            select(OutgoingMail).where(
                (OutgoingMail.state == "sending")
                | ((OutgoingMail.state == "queued") & (OutgoingMail.next_attempt_at <= now)))
            .order_by(OutgoingMail.id))]
    client: smtplib.SMTP | None = None
    pacer = Pacer(settings.smtp.rate_per_minute, clock=clock)
    try:
        for mail_id, state, message_id in due:
            if state == "sending" and in_sent is not None and in_sent(message_id):
                _record(sessions, mail_id, now, sent=True, copied=True)
                report.sent += 1
                continue
            pacer.wait()
            if client is None:
                client = connect_smtp(settings.smtp)
            client = _send_one(settings, sessions, mail_id, client, now, copy_to_sent, report)
    finally:
        if client is not None:
            _quit(client)
    return report


def _send_one(settings: Settings, sessions: Sessions, mail_id: int, client: smtplib.SMTP | None,
              now: datetime, copy_to_sent: SentCopy | None, report: SendReport
              ) -> smtplib.SMTP | None:
    with sessions.begin() as session:
        row = _outgoing(session, mail_id)
        row.state, row.attempts = "sending", row.attempts + 1
        recipients, attempts = list(row.recipients), row.attempts
        raw = storage.read_location(row.eml_path, settings.storage.options)  # before "sending"
    try:
        if client is None:
            client = connect_smtp(settings.smtp)
        refused = client.sendmail(settings.sender_address, recipients, raw)
    except smtplib.SMTPRecipientsRefused as exc:
        refused = {rcpt: (code, text) for rcpt, (code, text) in exc.recipients.items()}
        temporary = any(400 <= code < 500 for code, _ in refused.values())
        _retry_or_fail(settings, sessions, mail_id, now, attempts, temporary,
                       _refusal_text(refused), report)
        return client
    except smtplib.SMTPResponseException as exc:
        _retry_or_fail(settings, sessions, mail_id, now, attempts, 400 <= exc.smtp_code < 500,
                       f"{exc.smtp_code} {_text(exc.smtp_error)}", report)
        return None if exc.smtp_code == 421 else client
    except (smtplib.SMTPException, OSError) as exc:
        _retry_or_fail(settings, sessions, mail_id, now, attempts, True,
                       f"Verbindung zum Mailserver unterbrochen: {exc}", report)
        return None
    copied = False
    if copy_to_sent is not None:
        try:
            copy_to_sent(raw, now)
            copied = True
        except Exception as exc:  # noqa: BLE001 - the mail is out; a missing copy is noted
            log.warning("Kopie in den Ordner Gesendet fehlgeschlagen: %s", exc)
    _record(sessions, mail_id, now, sent=True, copied=copied,
            refused={rcpt: f"{code} {_text(text)}" for rcpt, (code, text) in refused.items()})
    report.sent += 1
    return client


def _retry_or_fail(settings: Settings, sessions: Sessions, mail_id: int, now: datetime,
                   attempts: int, temporary: bool, detail: str, report: SendReport) -> None:
    smtp = settings.smtp
    with sessions.begin() as session:
        row = _outgoing(session, mail_id)
        if temporary and attempts < smtp.max_attempts:
            row.state = "queued"
            row.next_attempt_at = now + timedelta(seconds=smtp.retry_seconds * 2 ** (attempts - 1))
            row.last_error = f"Vorübergehend abgelehnt, neuer Versuch folgt: {detail}"[:2000]
            report.retrying += 1
            return
        row.state = "failed"
        row.last_error = (f"Zustellung nach {attempts} Versuchen aufgegeben: {detail}"
                          if temporary else
                          f"Der Mailserver hat die Zustellung endgültig abgelehnt: {detail}")[:2000]
        register.log_event(session, actor="postausgang", action="mail-fehlgeschlagen",
                           subject=row.subject_key, detail={"grund": row.last_error,
                                                            "empfaenger": row.recipients})
        report.failed += 1


def _record(sessions: Sessions, mail_id: int, now: datetime, *, sent: bool, copied: bool,
            refused: dict[str, str] | None = None) -> None:
    with sessions.begin() as session:
        row = _outgoing(session, mail_id)
        row.state = "sent" if sent else row.state
        row.sent_at, row.copied_to_sent = now, copied
        row.refused = refused or {}
        if refused:
            row.last_error = "Nicht zugestellt an: " + _refusal_text(
                {rcpt: (0, text) for rcpt, text in refused.items()})


def _refusal_text(refused: dict[str, tuple[int, Any]]) -> str:
    return "; ".join(f"{rcpt}: {f'{code} ' if code else ''}{_text(text)}"
                     for rcpt, (code, text) in refused.items())


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def connect_smtp(smtp: SmtpSettings) -> smtplib.SMTP:
    """A connected, authenticated SMTP client (verified TLS unless ``security`` is none)."""
    assert smtp.host
    context = ssl.create_default_context(cafile=str(smtp.ca_file) if smtp.ca_file else None)
    if smtp.security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.effective_port,
                                                timeout=smtp.timeout_seconds, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.effective_port, timeout=smtp.timeout_seconds)
        if smtp.security == "starttls":
            client.starttls(context=context)
    if smtp.user:
        client.login(smtp.user, smtp.password.get_secret_value())
    return client


def _quit(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def outgoing_records(settings: Settings) -> list[dict[str, Any]]:
    """The outbox for display: one dict per mail."""
    with session_factory(settings.db_url).begin() as session:
        return [{"id": row.id, "zweck": row.purpose, "bezug": row.subject_key,
                 "empfaenger": row.recipients, "status": row.state, "versuche": row.attempts,
                 "fehler": row.last_error, "gesendet": row.sent_at.isoformat()
                 if row.sent_at else None}
                for row in session.scalars(select(OutgoingMail).order_by(OutgoingMail.id))]
