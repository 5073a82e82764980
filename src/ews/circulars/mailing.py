"""Circulars by e-mail, one personalised mail per municipality (I/O: database, files, SMTP).

The ledger rows of an issued circular are turned into outbox mails in batches, each batch one
transaction: the mail is written to ``data/postausgang`` and linked to its ledger row
(``eingereiht``), and the outbox's key ``rundschreiben/<circular>:<AGS>`` is unique, so a
re-run, a duplicated scheduled run or a second worker queues nothing twice. Sending is the
outbox's (retries, Sent copies, rate limit). A Probelauf renders the same mails for a draft
and sends every one to the staff address, marked as such, without taking a number.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from ews.circulars.contacts import read_contacts
from ews.circulars.distribution import ListSpec, addressees
from ews.circulars.drafts import (
    PROBE_FOLDER,
    SKELETON,
    Draft,
    compiled_text,
    split_front_matter,
    template_problems,
)
from ews.circulars.issuing import (
    circular_values,
    document_bytes,
    finish_documents,
    label,
)
from ews.circulars.text import markdown_html, markdown_literal, markdown_plain
from ews.core.deadlines import BERLIN
from ews.core.errors import EwsError
from ews.core.models import CircularSendState, CircularState
from ews.core.templating import DigestLoader, sandboxed_environment
from ews.outbox.delivery import SendReport
from ews.outbox.office import office_mail
from ews.outbox.queue import enqueue
from ews.outbox.sending import send_queued
from ews.register import cases as register
from ews.register import circulars as circulars_register
from ews.register.database import transaction
from ews.register.schema import CircularRow
from ews.runtime.folders import write_atomic
from ews.runtime.settings import Settings
from ews.runtime.storage import join_location

PURPOSE = "rundschreiben"
PROBE = "probelauf"


@dataclass(frozen=True)
class Letterhead:
    """What every mail of one circular shares."""

    subject: str
    mitteilung: str
    body: jinja2.Template  # the text, compiled once for all recipients
    values: dict[str, Any]
    files: tuple[str, ...]  # locations: paths or storage URLs


def letterhead(row: CircularRow) -> Letterhead:
    document = row.pdf_path or row.docx_path or ""
    files = (document, *(join_location(row.folder, name) for name in row.attachments))
    values = {k: v for k, v in row.values.items() if k != "vorbereitung"}
    return Letterhead(subject=f"Mitteilung {label(row)}: {row.title}",
                      mitteilung=values["mitteilung"], body=compiled_text(row.text),
                      values=values, files=files)


def circular_mail(settings: Settings, head: Letterhead, *, kommune: str, salutation: str,
                  recipients: list[str], key: str, now: datetime, probe_note: str = ""
                  ) -> EmailMessage:
    """One personalised mail: the text filled in for the recipient, as plain text and HTML,
    the circular's PDF and attachments attached."""
    body = head.body.render({**head.values, "anrede": salutation, "kommune": kommune})
    office = settings.office
    markdown = (f"{markdown_literal(salutation)},\n\n{body.strip()}\n\nMit freundlichen "
                f"Grüßen\\\n{markdown_literal(office.signer_name)}\\\n"
                f"{markdown_literal(office.signer_function)}\n")
    context = {"betreff": head.subject, "mitteilung": head.mitteilung,
               "probelauf": probe_note, "buero": office.model_dump()}
    templates = _templates(settings.templates_dir / "mail")
    text = templates.get_template("rundschreiben.txt.j2").render(
        {**context, "inhalt_text": markdown_plain(markdown)})
    html = templates.get_template("rundschreiben.html.j2").render(
        {**context, "inhalt_html": Markup(markdown_html(markdown))})  # noqa: S704 - escaped
    subject = f"[Probelauf] {head.subject}" if probe_note else head.subject
    return office_mail(settings, subject, recipients, now, text, list(head.files),
                       auto_submitted="auto-generated", html=html,
                       headers={"X-EWS-Versand": key})


@functools.cache
def _templates(folder: Path) -> SandboxedEnvironment:
    """Mail templates of circulars; HTML ones escape every value not marked safe."""
    return sandboxed_environment(
        loader=DigestLoader(folder),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",),
                                            default_for_string=False),
        keep_trailing_newline=True)


def queue_circular(settings: Settings, circular_id: int, now: datetime) -> int:
    """Turn the planned ledger rows of a circular into outbox mails; returns how many."""
    queued = 0
    while True:
        with transaction(settings.db_url) as session:
            row = circulars_register.circular_of(session, circular_id)
            if row is None or row.state != CircularState.ISSUED:
                return queued
            head = letterhead(row)
            batch = circulars_register.planned_sends(session, circular_id,
                                                     settings.rundschreiben.batch_size)
            for send in batch:
                key = f"{circular_id}:{send.ags}"
                message = circular_mail(settings, head, kommune=send.kommune,
                                        salutation=send.salutation, recipients=send.emails,
                                        key=f"{PURPOSE}/{key}", now=now)
                send.outgoing_mail_id = enqueue(session, settings, key, message, send.emails,
                                                now, purpose=PURPOSE)
                send.state = CircularSendState.QUEUED
            queued += len(batch)
        if len(batch) < settings.rundschreiben.batch_size:
            return queued


@dataclass
class MailingReport:
    circulars: list[str] = field(default_factory=list)
    queued: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def summary(self, *, mail_server: bool) -> str:
        """What happened, in German, for the office (the CLI and the web say the same)."""
        return (f"{self.queued} E-Mails vorbereitet, {self.sent} gesendet, {self.retrying} "
                f"warten auf einen neuen Versuch, {self.failed} gescheitert."
                + ("" if mail_server else
                   " Kein Mailserver eingestellt: die E-Mails warten im Postausgang."))


def send_circulars(settings: Settings, now: datetime, *, only: int | None = None
                   ) -> MailingReport:
    """Bring every issued circular (or ``only`` that one) out: its documents made, its mails
    queued, and everything due in the outbox sent. Safe to repeat at any time."""
    report = MailingReport()
    with transaction(settings.db_url) as session:
        pending = circulars_register.to_send(session)
    for circular_id in pending:
        if only is not None and circular_id != only:
            continue
        row = finish_documents(settings, circular_id)
        report.circulars.append(label(row))
        report.queued += queue_circular(settings, circular_id, now)
    sending = send_outbox(settings, now)
    report.sent, report.retrying, report.failed = sending.sent, sending.retrying, sending.failed
    return report


def send_outbox(settings: Settings, now: datetime) -> SendReport:
    """Send what is due in the outbox (nothing without an SMTP server)."""
    if not settings.smtp.host:
        return SendReport()
    return send_queued(settings, now)


@dataclass
class ProbeReport:
    to: str
    queued: int = 0
    without_address: list[tuple[str, str]] = field(default_factory=list)
    sent: int = 0
    #: who each mail would have gone to: municipality and addresses
    planned: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)


def draft_values(settings: Settings, draft: Draft, now: datetime) -> dict[str, Any]:
    """The circular's values for a draft not yet issued: the number „(Entwurf)/JJJJ“."""
    issued_on = now.astimezone(BERLIN).date()
    return circular_values(settings, number=f"(Entwurf)/{issued_on.year}",
                           issued_on=issued_on, title=draft.title, az=draft.az)


def draft_letterhead(draft: Draft, values: dict[str, Any], files: tuple[str, ...]
                     ) -> Letterhead:
    """What every mail of a draft shares, as a Probelauf or a preview sends or shows it."""
    return Letterhead(subject=f"Mitteilung {values['nummer']}: {values['titel']}",
                      mitteilung=values["mitteilung"], body=compiled_text(draft.text),
                      values=values, files=files)


def probelauf(settings: Settings, draft: Draft, now: datetime, *, actor: str,
              to: str | None = None) -> ProbeReport:
    """Every mail the draft would give, sent to the staff address instead and marked as a
    Probelauf; no number is taken and the ledger stays untouched."""
    target = to or settings.rundschreiben.test_address or settings.office.email
    values = draft_values(settings, draft, now)
    document = write_atomic(draft.folder / PROBE_FOLDER / "Entwurf.docx",
                            document_bytes(settings, draft.text, values, draft.list_spec,
                                           draft.attachments))
    head = draft_letterhead(draft, values, (str(document), *(
        str(draft.folder / n) for n in draft.attachments)))
    report = ProbeReport(to=target)
    contacts, _problems = read_contacts(settings.rundschreiben.contacts_file)
    token = now.astimezone(BERLIN).strftime("%Y%m%d%H%M%S")
    with transaction(settings.db_url) as session:
        for person in addressees(session, draft.list_spec, contacts,
                                 address_to=draft.address_to):
            if not person.emails:
                report.without_address.append((person.kommune, person.problem or ""))
                continue
            note = (f"Probelauf: Diese E-Mail wäre an {person.kommune} "
                    f"({', '.join(person.emails)}) gegangen.")
            key = f"{draft.name}:{token}:{person.ags}"
            message = circular_mail(settings, head, kommune=person.kommune,
                                    salutation=person.salutation, recipients=[target],
                                    key=f"{PROBE}/{key}", now=now, probe_note=note)
            enqueue(session, settings, key, message, [target], now, purpose=PROBE)
            report.queued += 1
            report.planned.append((person.kommune, person.emails))
        register.log_event(session, actor=actor, action="rundschreiben-probelauf",
                           subject=draft.name, detail={"an": target, "mails": report.queued})
    report.sent = send_outbox(settings, now).sent
    return report


def check_circular_templates(settings: Settings, now: datetime) -> list[str]:
    """German problems of the circular's templates: the skeleton of new drafts, the Word
    layout and both mail templates, each filled with sample values; ``[]`` when fine."""
    skeleton = settings.templates_dir / SKELETON
    try:
        _header, text = split_front_matter(skeleton.read_text(encoding="utf-8"))
    except (OSError, EwsError) as exc:
        return [f"Vorlage „{SKELETON}“: {exc}"]
    problems = [f"Vorlage „{SKELETON}“: {p}" for p in template_problems(text)]
    values = circular_values(settings, number=f"1/{now.year}", issued_on=now.date(),
                             title="Beispiel", az=settings.rundschreiben.az)
    try:
        document_bytes(settings, text, values, ListSpec("netzwerk"), ["Anlage.pdf"])
        head = Letterhead(subject="Mitteilung 1: Beispiel", mitteilung=values["mitteilung"],
                          body=compiled_text(text), values=values, files=())
        for note in ("", "Probelauf: Beispiel"):
            circular_mail(settings, head, kommune="Stadt Musterstadt",
                          salutation="Guten Tag Erika Muster", recipients=["a@example.org"],
                          key="probe", now=now, probe_note=note)
    except EwsError as exc:
        problems.append(str(exc))
    except jinja2.TemplateError as exc:
        problems.append(f"E-Mail-Vorlage für Rundschreiben: {exc}")
    return problems
