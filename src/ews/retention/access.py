"""A person's records (DSGVO Art. 15): every place the register, its files and the contact
list name them — application fields, mails (sender and archived text), letters, the network
roster, the contact list, correspondence, the outbox and circular ledgers (I/O: database,
stored files, the contact file)."""

from __future__ import annotations

from dataclasses import dataclass, field
from email import message_from_bytes, policy
from typing import Any

from ews.circulars.contacts import read_contacts
from ews.core.errors import EwsError
from ews.register import cases as register
from ews.register import retention as queries
from ews.register.database import Session, transaction
from ews.register.schema import (
    ApplicationRow,
    CircularSend,
    CorrespondenceRow,
    DeclarationRow,
    Input,
    LetterRow,
    MailRow,
    NetworkMember,
    OutgoingMail,
)
from ews.retention.matching import Person
from ews.runtime.settings import Settings
from ews.runtime.storage import read_location


@dataclass
class Finding:
    """One record that names the person: where (``source``, ``reference``), what is stored
    (``details``, German), the row (``table``, ``row_id``) and the documents that hold it."""

    source: str
    reference: str
    details: str
    table: str
    row_id: int
    az: str | None = None
    documents: list[str] = field(default_factory=list)


def find_person(settings: Settings, query: str) -> list[Finding]:
    """Every finding for ``query`` (a name or an e-mail address)."""
    if len(query.strip()) < 3:
        raise EwsError("Bitte mindestens drei Zeichen eines Namens oder eine E-Mail-Adresse "
                       "angeben.")
    person = Person(query.strip())
    with transaction(settings.db_url) as session:
        found = (_applications(session, person) + _inputs(session, person)
                 + _mails(session, settings, person)
                 + _letters(session, person) + _roster(session, person)
                 + _declarations(session, person) + _correspondence(session, person)
                 + _outgoing(session, person) + _circular_sends(session, person))
    return found + _contacts(settings, person)


def _matching_fields(values: dict[str, Any], person: Person) -> dict[str, Any]:
    return {key: value for key, value in values.items() if person.matches(value)}


def _shown(values: dict[str, Any]) -> str:
    return "; ".join(f"{key}: {value}" for key, value in values.items())


def _applications(session: Session, person: Person) -> list[Finding]:
    found = []
    for row in queries.rows_of(session, ApplicationRow):
        hits = _matching_fields(row.fields, person)
        if hits:
            item = queries.input_row_of(session, row.input_id)
            found.append(Finding(
                "Bewerbung", f"{row.az} ({row.kommune_name}, {row.round_name})", _shown(hits),
                "applications", row.id, az=row.az,
                documents=[item.stored_path] if item and item.stored_path else []))
    return found


def _inputs(session: Session, person: Person) -> list[Finding]:
    """Inputs whose file name or reasons name the person (the file itself is searched with
    its application)."""
    found = []
    for row in queries.rows_of(session, Input):
        hits = _matching_fields({"Dateiname": row.source_name, "Gründe": row.reasons}, person)
        if hits:
            app = register.application_of(session, row.application_id)
            found.append(Finding("Eingang", f"Nr. {row.id}", _shown(hits), "inputs", row.id,
                                 az=app.az if app else None,
                                 documents=[row.stored_path] if row.stored_path else []))
    return found


def _mails(session: Session, settings: Settings, person: Person) -> list[Finding]:
    found = []
    for row in queries.rows_of(session, MailRow):
        text = _mail_text(settings, row.raw_path) if row.raw_path else ""
        if person.matches(row.sender or "") or (text and person.matches(text)):
            found.append(Finding(
                "E-Mail", f"Nr. {row.id} vom {row.internaldate:%d.%m.%Y}",
                f"Absender: {row.sender or '–'}; Betreff: {row.subject}", "mails", row.id,
                az=queries.case_of_mail(session, row.id),
                documents=[row.raw_path] if row.raw_path else []))
    return found


def _mail_text(settings: Settings, location: str) -> str:
    """The archived mail's headers and text parts, decoded (encoded words, quoted-printable)."""
    try:
        raw = read_location(location, settings.storage.options)
    except (OSError, ValueError):
        return ""
    message = message_from_bytes(raw, policy=policy.default)
    parts = [f"{name}: {value}" for name, value in message.items()]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            try:
                parts.append(str(part.get_content()))
            except (LookupError, ValueError):
                continue
    return "\n".join(parts)


def _letters(session: Session, person: Person) -> list[Finding]:
    found = []
    for row in queries.rows_of(session, LetterRow):
        hits = _matching_fields(row.data, person)
        if hits:
            found.append(Finding("Brief", f"{row.reference} ({row.kind})", _shown(hits),
                                 "letters", row.id, az=row.reference,
                                 documents=[p for p in (row.pdf_path or row.docx_path,) if p]))
    return found


def _roster(session: Session, person: Person) -> list[Finding]:
    found = []
    for row in queries.rows_of(session, NetworkMember):
        hits = _matching_fields({"Ansprechperson": row.contact_person,
                                 "E-Mail": row.contact_email, "Unterzeichnet von":
                                 row.signed_by}, person)
        if hits:
            found.append(Finding("Netzwerkverzeichnis", f"{row.kommune_name} ({row.ags})",
                                 _shown(hits), "network_members", row.id))
    return found


def _declarations(session: Session, person: Person) -> list[Finding]:
    found = []
    for row in queries.rows_of(session, DeclarationRow):
        hits = _matching_fields({"Verwaltungsspitze": row.hvb_name,
                                 "Ansprechperson": row.contact_person}, person)
        if hits:
            found.append(Finding("Gemeinsame Erklärung", f"{row.az} ({row.kommune_name})",
                                 _shown(hits), "declarations", row.id, az=row.az))
    return found


def _correspondence(session: Session, person: Person) -> list[Finding]:
    found = []
    for row in queries.rows_of(session, CorrespondenceRow):
        hits = _matching_fields({"Absender": row.sender or "", "Betreff": row.subject,
                                 "Text": row.excerpt}, person)
        if hits:
            found.append(Finding("Schriftverkehr", f"Nr. {row.id} ({row.az or 'ohne Az.'})",
                                 _shown(hits), "correspondence", row.id, az=row.az,
                                 documents=[row.raw_path] if row.raw_path else []))
    return found


def _outgoing(session: Session, person: Person) -> list[Finding]:
    found = []
    for row in queries.rows_of(session, OutgoingMail):
        if person.matches(row.recipients):
            found.append(Finding("Postausgang", f"Nr. {row.id} ({row.purpose})",
                                 f"Empfänger: {', '.join(row.recipients)}", "outgoing_mails",
                                 row.id, documents=[row.eml_path] if row.eml_path else []))
    return found


def _circular_sends(session: Session, person: Person) -> list[Finding]:
    found = []
    for row in queries.rows_of(session, CircularSend):
        hits = _matching_fields({"E-Mail": row.emails, "Anrede": row.salutation}, person)
        if hits:
            found.append(Finding("Rundschreiben-Verteiler", f"Rundschreiben {row.circular_id}, "
                                 f"{row.kommune}", _shown(hits), "circular_sends", row.id))
    return found


def _contacts(settings: Settings, person: Person) -> list[Finding]:
    contacts, _problems = read_contacts(settings.rundschreiben.contacts_file)
    return [Finding("Kontaktliste", f"{contact.kommune} ({contact.ags})",
                    _shown(hits), "kontakte", 0)
            for contact in contacts.values()
            if (hits := _matching_fields({"Name": contact.name, "E-Mail": list(contact.emails)},
                                         person))]
