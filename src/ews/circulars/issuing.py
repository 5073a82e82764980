"""Issued circulars: numbers, documents and the send ledger (I/O: database, files, LibreOffice).

Issuing is one transaction: the number ``N/YYYY`` moves on in ``circular_counters`` (an upsert,
so two workers queue on the counter's row and never get the same number; it restarts on
1 January), the circular is recorded with its text frozen, and the ledger gets one row per
municipality of its distribution list (those without a usable address as ``ohne_adresse``,
with the reason). The draft's files are copied to a staging folder before and into the
circular's folder after the commit; the .docx and PDF/A are made from the frozen text then, and
again after a crash until they exist. Both folders are in the outbox, or in the store's
``ausgang`` (``ews.runtime.storage``), so any worker can finish or send a circular another one
issued.
A withdrawn circular keeps its number (``aufgehoben``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from babel.dates import format_date

from ews.circulars.contacts import read_contacts
from ews.circulars.distribution import Addressee, ListSpec, addressees
from ews.circulars.document import render_circular_document
from ews.circulars.drafts import DRAFT_FILE, Draft, fill_plain, fill_text
from ews.core.deadlines import BERLIN, Deadline
from ews.core.errors import CircularError
from ews.core.models import CircularSendState
from ews.letters import context as letters
from ews.outbox.conversion import convert_stored
from ews.register import cases as register
from ews.register import circulars as circulars_register
from ews.register.database import IntegrityError, Session, transaction
from ews.register.schema import CircularRow, CircularSend
from ews.runtime.settings import Settings
from ews.runtime.storage import join_location, output_store, read_location, with_suffix

TEMPLATE = "rundschreiben.docx"
CIRCULARS = "rundschreiben"  # their folder in the outbox
#: what the document says where a mail names the recipient
GENERAL = {"anrede": "Sehr geehrte Damen und Herren", "kommune": "Ihre Kommune"}

def label(row: CircularRow) -> str:
    return f"{row.number}/{row.year}"


def parse_label(value: str) -> tuple[int, int]:
    """``12/2026`` (also ``Mitteilung 12/2026``, ``12-2026``) as (number, year)."""
    cleaned = value.strip().removeprefix("Mitteilung").strip().replace("-", "/")
    number, _, year = cleaned.partition("/")
    if not (number.strip().isdigit() and year.strip().isdigit() and len(year.strip()) == 4):
        raise CircularError([f"„{value}“ ist keine Nummer eines Rundschreibens (Form 12/2026)."])
    return int(number), int(year)


def circular_by_label(session: Session, value: str) -> CircularRow:
    number, year = parse_label(value)
    row = circulars_register.circular_by_number(session, number, year)
    if row is None:
        raise CircularError([f"Rundschreiben {number}/{year} gibt es nicht."])
    return row


def circular_values(settings: Settings, *, number: str, issued_on: date, title: str,
                    az: str) -> dict[str, Any]:
    """The values a circular's text is filled with, besides the recipient's."""
    last_day = Deadline(settings.round.deadline, settings.round.extended_until,
                        settings.round.deadline_fixed).last_day
    values: dict[str, Any] = {
        "nummer": number, "mitteilung": f"Mitteilung {number} vom {issued_on:%d.%m.%Y}",
        "datum": f"{issued_on:%d.%m.%Y}", "aktenzeichen": az, "titel": title,
        "runde": settings.round.name, "frist": letters.long_date(last_day),
        "tage_bis_frist": (last_day - issued_on).days,
        "monat": format_date(issued_on, "MMMM y", locale=letters.LOCALE),
        "buero": settings.office.model_dump(),
    }
    # a title may hold placeholders too ("Monatsinfo {{ monat }}")
    values["titel"] = fill_plain(title, {**values, **GENERAL}).strip()
    return values


@dataclass
class Issued:
    id: int
    label: str
    created: bool  # False: the slot's circular existed already
    without_address: list[tuple[str, str]] = field(default_factory=list)
    contact_problems: list[str] = field(default_factory=list)


def next_label(settings: Settings, now: datetime) -> str:
    """The number the next circular issued at ``now`` would take (``146/2026``); takes
    nothing (``issue_circular(expected=…)`` refuses if another took it meanwhile)."""
    year = now.astimezone(BERLIN).year
    with transaction(settings.db_url) as session:
        return f"{circulars_register.last_number(session, year) + 1}/{year}"


def issue_circular(settings: Settings, draft: Draft, *, actor: str, now: datetime,
                   slot: str | None = None, list_spec: ListSpec | None = None,
                   expected: str | None = None) -> Issued:
    """Issue ``draft`` under the next number (for ``slot``: at most once) and make its
    documents; with ``expected`` (``146/2026``, as confirmed by staff) only under that
    number, else CircularError and nothing is taken."""
    check_document(settings, draft, now)
    contacts, contact_problems = read_contacts(settings.rundschreiben.contacts_file)
    store = output_store(settings)
    staging = _stage(settings, draft)
    try:
        row, sends = _record_once(settings, draft, list_spec or draft.list_spec, contacts,
                                  staging, actor=actor, now=now, slot=slot, expected=expected)
    except BaseException:
        store.remove(staging)  # our own copies, never staff files
        raise
    if sends is None:  # the slot's circular, issued before
        store.remove(staging)
        return Issued(row.id, label(row), created=False)
    finish_documents(settings, row.id)
    return Issued(row.id, label(row), created=True, contact_problems=contact_problems,
                  without_address=[(s.kommune, s.problem or "") for s in sends
                                   if s.state == CircularSendState.NO_ADDRESS])


def _record_once(settings: Settings, draft: Draft, spec: ListSpec, contacts: Any,
                 staging: str, *, actor: str, now: datetime, slot: str | None,
                 expected: str | None = None
                 ) -> tuple[CircularRow, list[CircularSend] | None]:
    """The new circular with its ledger rows, or the slot's existing one with None."""
    try:
        with transaction(settings.db_url) as session:
            existing = _by_slot(session, slot)
            if existing is not None:
                return existing, None
            return _record(session, settings, draft, spec, contacts, staging,
                           actor=actor, now=now, slot=slot, expected=expected)
    except IntegrityError:  # another worker issued this slot meanwhile
        with transaction(settings.db_url) as session:
            existing = _by_slot(session, slot)
        if existing is None:
            raise
        return existing, None


def _by_slot(session: Session, slot: str | None) -> CircularRow | None:
    if slot is None:
        return None
    return circulars_register.circular_by_slot(session, slot)


def _stage(settings: Settings, draft: Draft) -> str:
    """Copies of the draft's text and attachments, taken before the number is reserved;
    returns the staging folder's location."""
    store = output_store(settings)
    staging = store.location(f"{CIRCULARS}/.vorbereitung/{uuid.uuid4().hex}")
    try:
        for name in (DRAFT_FILE, *draft.attachments):
            store.put(join_location(staging, name), (draft.folder / name).read_bytes())
    except BaseException:
        store.remove(staging)
        raise
    return staging


def _record(session: Session, settings: Settings, draft: Draft, spec: ListSpec,
            contacts: Any, staging: str, *, actor: str, now: datetime, slot: str | None,
            expected: str | None = None) -> tuple[CircularRow, list[CircularSend]]:
    issued_on = now.astimezone(BERLIN).date()
    number = circulars_register.next_number(session, issued_on.year)
    if expected is not None and f"{number}/{issued_on.year}" != expected:
        raise CircularError([f"Bestätigt war Mitteilung {expected}, die nächste Nummer ist "
                             f"jetzt aber {number}/{issued_on.year} (inzwischen wurde ein "
                             "anderes Rundschreiben ausgegeben). Nichts wurde ausgegeben; "
                             "bitte erneut bestätigen."])
    folder = output_store(settings).location(
        f"{CIRCULARS}/{issued_on.year}/{number:03d}_{draft.name}")
    values = circular_values(settings, number=f"{number}/{issued_on.year}",
                             issued_on=issued_on, title=draft.title, az=draft.az)
    row = CircularRow(
        number=number, year=issued_on.year, issued_on=issued_on.isoformat(), az=draft.az,
        title=values["titel"], list_spec=str(spec), address_to=draft.address_to, draft=draft.name,
        slot=slot, text=draft.text, values={**values, "vorbereitung": staging},
        attachments=list(draft.attachments), folder=folder, state="ausgegeben",
        issued_by=actor, issued_at=now)
    circulars_register.add_circular(session, row)
    own = settings.sender_address.casefold()
    sends = [_send_row(row.id, person, own)
             for person in addressees(session, spec, contacts, address_to=draft.address_to)]
    circulars_register.add_sends(session, sends)
    register.log_event(session, actor=actor, action="rundschreiben-ausgegeben",
                       subject=f"Mitteilung {label(row)}",
                       detail={"titel": row.title, "verteiler": row.list_spec, "slot": slot})
    return row, sends


def _send_row(circular_id: int, person: Addressee, own: str) -> CircularSend:
    emails = [e for e in person.emails if e.casefold() != own]
    problem = None if emails else \
        person.problem or "Keine E-Mail-Adresse außer der des Büros bekannt."
    return CircularSend(circular_id=circular_id, ags=person.ags, kommune=person.kommune,
                        emails=emails, salutation=person.salutation, source=person.source,
                        state="geplant" if emails else "ohne_adresse", problem=problem)


def check_document(settings: Settings, draft: Draft, now: datetime) -> None:
    """Render the document once with a provisional number, so that a broken template or text
    is reported before a number is taken."""
    issued_on = now.astimezone(BERLIN).date()
    values = circular_values(settings, number=f"0/{issued_on.year}", issued_on=issued_on,
                             title=draft.title, az=draft.az)
    document_bytes(settings, draft.text, values, draft.list_spec, draft.attachments)


def document_bytes(settings: Settings, body: str, values: dict[str, Any], spec: ListSpec,
                   attachments: tuple[str, ...] | list[str]) -> bytes:
    """The circular as a .docx: the general version of its text (no recipient's name)."""
    context: dict[str, object] = {
        **letters.office_context(settings.office), "anschrift": spec.address_block(),
        "unser_zeichen": values["aktenzeichen"], "briefdatum": values["datum"],
        "mitteilung": values["mitteilung"], "titel": values["titel"],
        "anrede": f"{GENERAL['anrede']},", "anlagen": list(attachments)}
    return render_circular_document(settings.templates_dir / TEMPLATE, context,
                                    document_markdown(body, values))


def document_markdown(body: str, values: dict[str, Any]) -> str:
    """The circular's text as its document shows it: filled with the general values."""
    return fill_text(body, {**values, **GENERAL})


def finish_documents(settings: Settings, circular_id: int) -> CircularRow:
    """Copy the staged files into place and make the .docx and PDF/A (idempotent)."""
    with transaction(settings.db_url) as session:
        row = _circular(session, circular_id)
    store, folder, staging = output_store(settings), row.folder, row.values.get("vorbereitung")
    for name in (DRAFT_FILE, *row.attachments):
        target = join_location(folder, name)
        if not store.exists(target):  # the staging folder goes only once all are copied
            if not staging:
                raise CircularError([f"Die Datei „{name}“ von Mitteilung {label(row)} fehlt "
                                     f"unter {folder} und ist nicht mehr vorbereitet."])
            store.put(target, read_location(join_location(str(staging), name),
                                            settings.storage.options))
    docx = join_location(folder, f"Mitteilung_{row.number:03d}-{row.year}.docx")
    if not store.exists(docx):
        store.put(docx, document_bytes(settings, row.text, row.values, ListSpec.parse(
            row.list_spec, settings.round.name), row.attachments))
    pdf = with_suffix(docx, ".pdf")
    if settings.letters.pdf and not store.exists(pdf):
        _made, failure = convert_stored([docx], settings)
        if failure is not None:
            raise failure
    if staging and store.exists(staging):
        store.remove(staging)
    with transaction(settings.db_url) as session:
        row = _circular(session, circular_id)
        row.docx_path = docx
        row.pdf_path = pdf if store.exists(pdf) else None
    return row


def _circular(session: Session, circular_id: int) -> CircularRow:
    row = circulars_register.circular_of(session, circular_id)
    if row is None:
        raise LookupError(f"circular {circular_id} is not in the register")
    return row
