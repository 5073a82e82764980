"""Anonymising one case's rows in place: every personal value is cleared, the statistics
(municipality, AGS, round, receipt, status, decision) stay; the files the rows named are
returned for deletion (no I/O: changes ORM rows only)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ews.core.models import OutboxState
from ews.core.names import REASON_SUFFIX
from ews.register.case_keys import ACKNOWLEDGMENT
from ews.register.retention import CaseRecords
from ews.register.schema import (
    BounceRow,
    CorrespondenceRow,
    DeclarationRow,
    EventRow,
    Input,
    LetterRow,
    MailRow,
    OutgoingMail,
)
from ews.runtime.storage import with_suffix

#: the state of a letter whose content was deleted (``letters.state``; not a LetterState:
#: nothing renders, converts or mails it again)
LETTER_DELETED = "deleted"
UNSENT = (OutboxState.QUEUED, OutboxState.SENDING)
CANCELLED_NOTE = "nach dem Löschkonzept gelöscht"


@dataclass
class Removal:
    """What a deletion took away: counts and record ids per kind (for the log, no content)
    and the locations of the files to delete."""

    counts: Counter[str] = field(default_factory=Counter)
    ids: dict[str, list[int]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def note(self, kind: str, record_id: int) -> None:
        self.counts[kind] += 1
        self.ids.setdefault(kind, []).append(record_id)

    def add_files(self, *locations: str | None) -> None:
        for location in locations:
            if location:
                self.files.append(location)
                self.counts["dateien"] += 1

    def __bool__(self) -> bool:
        return bool(self.counts)

    def merge(self, other: Removal) -> None:
        self.counts.update(other.counts)
        for kind, ids in other.ids.items():
            self.ids.setdefault(kind, []).extend(ids)
        self.files += other.files


def scrub_case(case: CaseRecords) -> Removal:
    """Clear every personal value of the case; returns what went."""
    removal = Removal()
    for app in case.applications:
        if app.fields:
            app.fields = {}
            removal.note("bewerbungen", app.id)
    for decision in case.decisions:
        if decision.override_reason:
            decision.override_reason = None
            removal.note("entscheidungsgruende", decision.id)
    for item in case.inputs:
        scrub_input(item, removal)
    for letter in case.letters:
        scrub_letter(letter, removal)
    for mail in case.mails:
        scrub_mail(mail, removal)
    for outgoing in case.outgoing:
        scrub_outgoing(outgoing, removal)
    for row in case.correspondence:
        scrub_correspondence(row, removal)
    for follow_up in case.follow_ups:
        if follow_up.note or follow_up.close_note:
            follow_up.note, follow_up.close_note = "", None
            removal.note("wiedervorlagen", follow_up.id)
    for declaration in case.declarations:
        scrub_declaration(declaration, removal)
    azs = case.azs
    for event in case.events:
        scrub_event(event, case.az, azs, removal)
    for bounce in case.bounces:
        scrub_bounce(bounce, removal)
    return removal


def anonymous_name(item: Input) -> str:
    return f"eingang-{item.id}"


def scrub_input(item: Input, removal: Removal) -> None:
    if item.source_name == anonymous_name(item) and not (item.reasons or item.stored_path
                                                          or item.last_error):
        return
    if item.stored_path:
        reason_file = item.stored_path + REASON_SUFFIX
        removal.add_files(item.stored_path)
        removal.files.append(reason_file)  # a quarantined file's reason (may not exist)
    item.source_name, item.claim_path = anonymous_name(item), f"geloescht/{item.id}"
    item.reasons, item.last_error, item.stored_path = [], None, None
    removal.note("eingaenge", item.id)


def scrub_letter(letter: LetterRow, removal: Removal) -> None:
    if not (letter.data or letter.docx_path or letter.pdf_path):
        return
    removal.add_files(letter.docx_path, letter.pdf_path)
    letter.data, letter.docx_path, letter.pdf_path = {}, "", None
    letter.state = LETTER_DELETED  # out of rendering, conversion and mailing for good
    removal.note("briefe", letter.id)


def scrub_mail(mail: MailRow, removal: Removal) -> None:
    if not (mail.sender or mail.subject or mail.raw_path or mail.reasons or mail.error):
        return
    removal.add_files(mail.raw_path)
    mail.sender, mail.subject, mail.raw_path, mail.reasons, mail.error = None, "", "", [], None
    removal.note("mails", mail.id)


def scrub_outgoing(row: OutgoingMail, removal: Removal) -> None:
    if not (row.recipients or row.eml_path or row.refused
            or row.last_error not in (None, CANCELLED_NOTE)):
        return
    removal.add_files(row.eml_path)
    row.recipients, row.eml_path, row.refused, row.last_error = [], "", {}, None
    if row.subject_key.startswith(ACKNOWLEDGMENT):  # absender:<address>:<day>
        day = row.subject_key.rsplit(":", 1)[-1]
        row.subject_key = f"{ACKNOWLEDGMENT}geloescht-{row.id}:{day}"
    if row.state in UNSENT:  # never sent now: its file is gone
        row.state, row.last_error = OutboxState.CANCELLED, CANCELLED_NOTE
    removal.note("ausgehende_mails", row.id)


def scrub_correspondence(row: CorrespondenceRow, removal: Removal) -> None:
    if not (row.sender or row.subject or row.excerpt or row.raw_path or row.attachments):
        return
    removal.add_files(row.raw_path, *(str(item.get("path") or "") for item in row.attachments))
    row.sender, row.subject, row.excerpt, row.raw_path, row.attachments = None, "", "", None, []
    removal.note("schriftverkehr", row.id)


def scrub_declaration(row: DeclarationRow, removal: Removal) -> None:
    if not (row.hvb_name or row.hvb_function or row.contact_person or row.docx_path):
        return
    if row.docx_path:
        removal.add_files(row.docx_path, with_suffix(row.docx_path, ".pdf"))
    row.hvb_name, row.hvb_function, row.contact_person, row.docx_path = "", "", "", None
    removal.note("erklaerungen", row.id)


def scrub_event(event: EventRow, az: str, azs: set[str], removal: Removal) -> None:
    """An event of the case keeps no detail; a subject that names a file (a path) or a
    recipient (an acknowledgment's outbox key) becomes the case's Az. The case's own
    Aktenzeichen (its application's and its declarations', which hold a ``/`` too) stay."""
    named = event.subject not in azs and any(mark in event.subject
                                             for mark in ("/", "\\", "@"))
    if not event.detail and not named:
        return
    event.detail = {}
    if named:
        event.subject = az
    removal.note("ereignisse", event.id)


def scrub_bounce(row: BounceRow, removal: Removal) -> None:
    if not (row.recipient or row.reason or row.status):
        return
    row.recipient, row.reason, row.status = "", "", ""
    removal.note("unzustellbar", row.id)
