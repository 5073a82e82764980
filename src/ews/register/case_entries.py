"""The entries of a case made from its register rows, with German titles and details
(pure: reads the rows' attributes only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ews.core.models import LETTER_TITLES, OUTBOX_STATE_LABELS, OUTCOME_LABELS
from ews.register.case_titles import (
    DECISION_TITLES,
    EVENT_TITLES,
    FOLLOW_UP_TITLES,
    MATCH_TITLES,
    PURPOSE_TITLES,
)
from ews.register.schema import (
    CorrespondenceRow,
    DecisionRow,
    DeclarationRow,
    EventRow,
    FollowUpRow,
    Input,
    LetterRow,
    MailRow,
    OutgoingMail,
)


@dataclass(frozen=True)
class CaseDocument:
    """A document of an entry: its German name (for a file name), where it is stored, and
    the SHA-256 the register recorded for its bytes when it came in (None for our own)."""

    name: str
    location: str
    sha256: str | None = None


@dataclass(frozen=True)
class CaseEntry:
    """One thing that happened in a case. ``kind``: eingang, stempel, brief, post_ein,
    post_aus, entscheidung, erklaerung, wiedervorlage, ereignis."""

    at: datetime
    kind: str
    title: str
    detail: str
    documents: tuple[CaseDocument, ...] = ()


def input_entries(row: Input, az_of_input: dict[int, str]) -> list[CaseEntry]:
    outcome = OUTCOME_LABELS.get(row.outcome, str(row.outcome))
    az = az_of_input.get(row.id)
    detail = f"Eingangsnummer {row.id}, {_channel(row.channel)}: {row.source_name}"
    if az:
        detail += f"; Aktenzeichen {az}"
    if row.reasons and row.outcome != "registered":
        detail += "; " + "; ".join(row.reasons)
    name = _stem(row.source_name) or "Eingang"
    documents = (CaseDocument(name, row.stored_path, row.sha256),) if row.stored_path else ()
    entries = [CaseEntry(row.received_at, "eingang", f"Eingang ({outcome})", detail, documents)]
    if row.stamped_at is not None:
        entries.append(CaseEntry(row.stamped_at, "stempel", "Eingangsstempel",
                                 f"Papierstempel für Eingangsnummer {row.id}; er gilt als "
                                 "Eingangszeit."))
    return entries


def letter_entry(row: LetterRow) -> CaseEntry:
    title = LETTER_TITLES.get(row.kind, row.kind)  # StrEnum keys equal their values
    location = row.pdf_path or row.docx_path
    state = {"planned": "geplant", "rendered": "geschrieben", "done": "fertig"}
    return CaseEntry(row.created_at, "brief", f"Brief: {title}",
                     f"Zeichen {row.reference}; {state.get(row.state, row.state)}",
                     (CaseDocument(title, location),) if location else ())


def mail_entry(row: MailRow) -> CaseEntry:
    return CaseEntry(row.internaldate, "post_ein", f"E-Mail eingegangen: {row.subject or '–'}",
                     f"von {row.sender or 'unbekannt'}",
                     (CaseDocument("E-Mail", row.raw_path, row.sha256),) if row.raw_path else ())


def correspondence_entry(row: CorrespondenceRow) -> CaseEntry:
    documents = [CaseDocument("E-Mail" if row.channel == "postfach" else "Eingang", row.raw_path,
                              row.sha256 or None)
                 ] if row.raw_path else []
    documents += [CaseDocument(_stem(str(item.get("name") or "Anhang")), str(item["path"]),
                               str(item.get("sha256") or "") or None)
                  for item in row.attachments if item.get("path")]
    state = "erledigt" if row.state == "erledigt" else "neu"
    detail = (f"von {row.sender or 'unbekannt'}; zugeordnet durch "
              f"{MATCH_TITLES.get(row.matched_by, row.matched_by)}; {state}")
    if row.excerpt:
        detail += f"\n{row.excerpt}"
    return CaseEntry(row.received_at, "post_ein",
                     f"Schriftverkehr eingegangen: {row.subject or '–'}", detail,
                     tuple(documents))


def outgoing_entry(row: OutgoingMail) -> CaseEntry:
    state = OUTBOX_STATE_LABELS.get(row.state, row.state)
    title = PURPOSE_TITLES.get(row.purpose, row.purpose)
    return CaseEntry(row.sent_at or row.created_at, "post_aus", f"E-Mail versandt: {title}",
                     f"an {', '.join(row.recipients) or '–'}; {state}",
                     (CaseDocument("E-Mail", row.eml_path),) if row.eml_path else ())


def decision_entry(row: DecisionRow) -> CaseEntry:
    detail = f"durch {row.decided_by}"
    if row.rank is not None:
        detail += f"; Rang {row.rank}"
    if row.reason_category:
        detail += f"; Grund: {row.reason_category}"
    if row.override_reason:
        detail += f"; Ausnahme: {row.override_reason}"
    return CaseEntry(row.decided_at, "entscheidung",
                     f"Entscheidung: {DECISION_TITLES.get(row.decision, row.decision)}", detail)


def declaration_entries(row: DeclarationRow, letter_files: set[str]) -> list[CaseEntry]:
    documents = (CaseDocument("Gemeinsame Erklärung", row.docx_path),) \
        if row.docx_path and row.docx_path not in letter_files else ()
    entries = [CaseEntry(row.issued_at, "erklaerung", "Gemeinsame Erklärung ausgestellt",
                         f"Aktenzeichen {row.az}; durch {row.issued_by}", documents)]
    if row.returned_at is not None:
        entries.append(CaseEntry(row.returned_at, "erklaerung",
                                 "Gemeinsame Erklärung unterschrieben zurück",
                                 f"Eingangsnummer {row.returned_input_id}"))
    return entries


def follow_up_entries(row: FollowUpRow) -> list[CaseEntry]:
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


def event_entry(row: EventRow) -> CaseEntry:
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
