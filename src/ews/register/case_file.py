"""One case (Akte) gathered from the register by its Az., in time order (I/O: database read).

A case is a municipality's applications of one round (the replacement chain) with their
inputs, letters, mails in and out, correspondence, decisions, declarations, follow-ups and
events; or, for a municipality that only signed the Gemeinsame Erklärung, its declaration.
The rows are read in a fixed number of queries, however long the case is, and returned as
plain entries with German titles; times stay aware UTC datetimes (the caller formats them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ews.core.models import OUTCOME_LABELS
from ews.register.case_keys import outgoing_keys
from ews.register.case_titles import (
    DECISION_TITLES,
    EVENT_TITLES,
    FOLLOW_UP_TITLES,
    LETTER_TITLES,
    MATCH_TITLES,
    PURPOSE_TITLES,
)
from ews.register.schema import (
    ApplicationRow,
    CorrespondenceRow,
    DecisionRow,
    DeclarationRow,
    EventRow,
    FollowUpRow,
    Input,
    LetterRow,
    MailInput,
    MailRow,
    OutgoingMail,
)


@dataclass(frozen=True)
class CaseDocument:
    """A document of an entry: its German name (for a file name) and where it is stored."""

    name: str
    location: str


@dataclass(frozen=True)
class CaseEntry:
    """One thing that happened in a case. ``kind``: eingang, stempel, brief, post_ein,
    post_aus, entscheidung, erklaerung, wiedervorlage, ereignis."""

    at: datetime
    kind: str
    title: str
    detail: str
    documents: tuple[CaseDocument, ...] = ()


@dataclass(frozen=True)
class CaseFile:
    """A case: the Az. asked for, the municipality, and its entries in time order."""

    az: str
    kommune: str
    ags: str
    round_name: str | None
    azs: tuple[str, ...]  # every Az. of the case (the chain's and the declarations')
    entries: tuple[CaseEntry, ...] = field(default=())


@dataclass
class _Rows:
    applications: list[ApplicationRow]
    declarations: list[DeclarationRow]
    correspondence: list[CorrespondenceRow]
    inputs: list[Input]
    letters: list[LetterRow]
    mails: list[MailRow]
    decisions: list[DecisionRow]
    follow_ups: list[FollowUpRow]
    outgoing: list[OutgoingMail]
    events: list[EventRow]


def case_azs(session: Session) -> list[str]:
    """Every Az. a case can be asked by (applications and declarations), sorted."""
    return sorted({*session.scalars(select(ApplicationRow.az)),
                   *session.scalars(select(DeclarationRow.az))})


def case_file(session: Session, az: str) -> CaseFile | None:
    """The case with exactly this Az., or None. Ten queries at most."""
    start = session.scalars(select(ApplicationRow).where(ApplicationRow.az == az)).first()
    declaration = None
    if start is None:
        declaration = session.scalars(select(DeclarationRow)
                                      .where(DeclarationRow.az == az)).first()
        if declaration is None:
            return None
    rows = _rows(session, start, declaration)
    head = start or declaration
    assert head is not None
    azs = tuple(sorted({row.az for row in rows.applications}
                       | {row.az for row in rows.declarations}))
    return CaseFile(az=az, kommune=head.kommune_name, ags=head.ags,
                    round_name=start.round_name if start else None, azs=azs,
                    entries=tuple(sorted(_entries(rows), key=lambda entry: entry.at)))


def _rows(session: Session, start: ApplicationRow | None,
          declaration: DeclarationRow | None) -> _Rows:
    applications = [] if start is None else list(session.scalars(
        select(ApplicationRow).where(ApplicationRow.round_name == start.round_name,
                                     ApplicationRow.ags == start.ags)))
    app_ids = [row.id for row in applications]
    declarations = [declaration] if declaration is not None else list(session.scalars(
        select(DeclarationRow).where(DeclarationRow.application_id.in_(app_ids))))
    azs = {row.az for row in applications} | {row.az for row in declarations}
    correspondence = list(session.scalars(select(CorrespondenceRow).where(or_(
        CorrespondenceRow.az.in_(azs), CorrespondenceRow.application_id.in_(app_ids)))))
    decl_ids = [row.id for row in declarations]
    input_ids = {row.input_id for row in applications} | {
        row.returned_input_id for row in declarations} | {
        row.input_id for row in correspondence}
    inputs = list(session.scalars(select(Input).where(or_(
        Input.id.in_(_known(input_ids)), Input.application_id.in_(app_ids),
        Input.declaration_id.in_(decl_ids)))))
    letters = list(session.scalars(select(LetterRow).where(or_(
        LetterRow.application_id.in_(app_ids),
        LetterRow.input_id.in_([row.id for row in inputs])))))
    mails = list(session.scalars(select(MailRow).where(or_(
        MailRow.id.in_(select(MailInput.mail_id).where(
            MailInput.input_id.in_([row.id for row in inputs]))),
        MailRow.id.in_(_known(row.mail_id for row in correspondence))))))
    decisions = list(session.scalars(select(DecisionRow)
                                     .where(DecisionRow.application_id.in_(app_ids))))
    follow_ups = list(session.scalars(select(FollowUpRow).where(or_(
        FollowUpRow.az.in_(azs), FollowUpRow.application_id.in_(app_ids)))))
    exact, prefixes = outgoing_keys(mails=[row.id for row in mails],
                                    inputs=[row.id for row in inputs],
                                    letters=[row.id for row in letters],
                                    correspondence=[row.id for row in correspondence],
                                    follow_ups=[row.id for row in follow_ups], azs=azs)
    outgoing = list(session.scalars(select(OutgoingMail).where(or_(
        OutgoingMail.subject_key.in_(exact),
        *(OutgoingMail.subject_key.startswith(prefix) for prefix in prefixes)))))
    subjects = azs | {f"Eingang {row.id}" for row in inputs} | {
        row.subject_key for row in outgoing} | {f"wiedervorlage:{row.id}" for row in follow_ups}
    events = list(session.scalars(select(EventRow).where(EventRow.subject.in_(subjects))))
    return _Rows(applications, declarations, correspondence, inputs, letters, mails,
                 decisions, follow_ups, outgoing, events)


def _known(ids: Iterable[int | None]) -> list[int]:
    return [row_id for row_id in ids if row_id is not None]


def _entries(rows: _Rows) -> list[CaseEntry]:
    by_input = {row.input_id: row.az for row in rows.applications}
    filed_mails = {row.mail_id for row in rows.correspondence}
    entries = [entry for row in rows.inputs for entry in _input_entries(row, by_input)]
    entries += [_letter_entry(row) for row in rows.letters]
    entries += [_mail_entry(row) for row in rows.mails if row.id not in filed_mails]
    entries += [_correspondence_entry(row) for row in rows.correspondence]
    entries += [_outgoing_entry(row) for row in rows.outgoing]
    entries += [_decision_entry(row) for row in rows.decisions]
    letter_files = {row.docx_path for row in rows.letters}
    entries += [entry for row in rows.declarations
                for entry in _declaration_entries(row, letter_files)]
    entries += [entry for row in rows.follow_ups for entry in _follow_up_entries(row)]
    entries += [_event_entry(row) for row in rows.events]
    return entries


def _input_entries(row: Input, az_of_input: dict[int, str]) -> list[CaseEntry]:
    outcome = OUTCOME_LABELS.get(row.outcome, str(row.outcome))
    az = az_of_input.get(row.id)
    detail = f"Eingangsnummer {row.id}, {_channel(row.channel)}: {row.source_name}"
    if az:
        detail += f"; Aktenzeichen {az}"
    if row.reasons and row.outcome != "registered":
        detail += "; " + "; ".join(row.reasons)
    documents = (CaseDocument(_stem(row.source_name) or "Eingang", row.stored_path),) \
        if row.stored_path else ()
    entries = [CaseEntry(row.received_at, "eingang", f"Eingang ({outcome})", detail, documents)]
    if row.stamped_at is not None:
        entries.append(CaseEntry(row.stamped_at, "stempel", "Eingangsstempel",
                                 f"Papierstempel für Eingangsnummer {row.id}; er gilt als "
                                 "Eingangszeit."))
    return entries


def _letter_entry(row: LetterRow) -> CaseEntry:
    title = LETTER_TITLES.get(row.kind, row.kind)  # StrEnum keys equal their values
    location = row.pdf_path or row.docx_path
    state = {"planned": "geplant", "rendered": "geschrieben", "done": "fertig"}
    return CaseEntry(row.created_at, "brief", f"Brief: {title}",
                     f"Zeichen {row.reference}; {state.get(row.state, row.state)}",
                     (CaseDocument(title, location),) if location else ())


def _mail_entry(row: MailRow) -> CaseEntry:
    return CaseEntry(row.internaldate, "post_ein", f"E-Mail eingegangen: {row.subject or '–'}",
                     f"von {row.sender or 'unbekannt'}",
                     (CaseDocument("E-Mail", row.raw_path),) if row.raw_path else ())


def _correspondence_entry(row: CorrespondenceRow) -> CaseEntry:
    documents = [CaseDocument("E-Mail" if row.channel == "postfach" else "Eingang", row.raw_path)
                 ] if row.raw_path else []
    documents += [CaseDocument(_stem(str(item.get("name") or "Anhang")), str(item["path"]))
                  for item in row.attachments if item.get("path")]
    state = "erledigt" if row.state == "erledigt" else "neu"
    detail = (f"von {row.sender or 'unbekannt'}; zugeordnet durch "
              f"{MATCH_TITLES.get(row.matched_by, row.matched_by)}; {state}")
    if row.excerpt:
        detail += f"\n{row.excerpt}"
    return CaseEntry(row.received_at, "post_ein",
                     f"Schriftverkehr eingegangen: {row.subject or '–'}", detail,
                     tuple(documents))


def _outgoing_entry(row: OutgoingMail) -> CaseEntry:
    state = {"queued": "wartet", "sending": "wird gesendet", "sent": "gesendet",
             "failed": "gescheitert", "withheld": "zurückgehalten"}.get(row.state, row.state)
    title = PURPOSE_TITLES.get(row.purpose, row.purpose)
    return CaseEntry(row.sent_at or row.created_at, "post_aus", f"E-Mail versandt: {title}",
                     f"an {', '.join(row.recipients) or '–'}; {state}",
                     (CaseDocument("E-Mail", row.eml_path),) if row.eml_path else ())


def _decision_entry(row: DecisionRow) -> CaseEntry:
    detail = f"durch {row.decided_by}"
    if row.rank is not None:
        detail += f"; Rang {row.rank}"
    if row.reason_category:
        detail += f"; Grund: {row.reason_category}"
    if row.override_reason:
        detail += f"; Ausnahme: {row.override_reason}"
    return CaseEntry(row.decided_at, "entscheidung",
                     f"Entscheidung: {DECISION_TITLES.get(row.decision, row.decision)}", detail)


def _declaration_entries(row: DeclarationRow, letter_files: set[str]) -> list[CaseEntry]:
    documents = (CaseDocument("Gemeinsame Erklärung", row.docx_path),) \
        if row.docx_path and row.docx_path not in letter_files else ()
    entries = [CaseEntry(row.issued_at, "erklaerung", "Gemeinsame Erklärung ausgestellt",
                         f"Aktenzeichen {row.az}; durch {row.issued_by}", documents)]
    if row.returned_at is not None:
        entries.append(CaseEntry(row.returned_at, "erklaerung",
                                 "Gemeinsame Erklärung unterschrieben zurück",
                                 f"Eingangsnummer {row.returned_input_id}"))
    return entries


def _follow_up_entries(row: FollowUpRow) -> list[CaseEntry]:
    what = FOLLOW_UP_TITLES.get(row.kind, row.kind)
    detail = f"fällig am {_german_day(row.due_on)}; {row.state}; durch {row.created_by}"
    if row.note:
        detail += f"; {row.note}"
    if row.reminded_on:
        detail += f"; erinnert zum {_german_day(row.reminded_on)}"
    entries = [CaseEntry(row.created_at, "wiedervorlage", f"Wiedervorlage: {what}", detail)]
    if row.closed_at is not None:
        entries.append(CaseEntry(row.closed_at, "wiedervorlage", f"Wiedervorlage erledigt: {what}",
                                 f"durch {row.closed_by or '–'}"
                                 + (f"; {row.close_note}" if row.close_note else "")))
    return entries


def _event_entry(row: EventRow) -> CaseEntry:
    title = EVENT_TITLES.get(row.action, f"Ereignis: {row.action}")
    return CaseEntry(row.at, "ereignis", title,
                     f"{row.actor}: {_detail_text(row.detail)}")


def _detail_text(detail: dict[str, Any]) -> str:
    return "; ".join(f"{key} {value}" for key, value in detail.items()) or "–"


def _german_day(iso: str) -> str:
    try:
        return date.fromisoformat(iso).strftime("%d.%m.%Y")
    except ValueError:
        return iso


def _channel(channel: str) -> str:
    return {"ordner": "Ordner", "postfach": "Postfach", "mail": "Postfach"}.get(channel, channel)


def _stem(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else name
