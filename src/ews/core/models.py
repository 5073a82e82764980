"""Domain models shared by all steps: plain pydantic data and the StrEnum states, no I/O.

Every state, kind and decision the register stores as a string has its StrEnum here; the values
are the strings in the database and in ``--json`` output, so a member compares equal to them.

Longer than 300 lines because every stored state family is declared here, next to the others,
so that one file shows every string the register may hold; each class is a few lines.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: Raw values as read from a form: text fields as str (None when empty or absent),
#: checkboxes as bool.
FieldValue = str | bool | None
RawFields = dict[str, FieldValue]


class Outcome(StrEnum):
    """What became of one input file (journal)."""

    REGISTERED = "registered"
    LATE = "late"
    INVALID = "invalid"
    DUPLICATE = "duplicate"
    #: a signed Gemeinsame Erklärung that came back (not an application)
    DECLARATION = "declaration"


class ApplicationStatus(StrEnum):
    """State of an application in the register."""

    REGISTERED = "registered"
    LATE = "late"
    REPLACED = "replaced"


class InputState(StrEnum):
    """Where an input file is in the journal (``inputs.state``): claimed → decided → done."""

    CLAIMED = "claimed"  # in the register, its outcome not yet decided
    DECIDED = "decided"  # outcome and letters decided, not yet filed
    DONE = "done"  # filed; nothing left to do


class LetterState(StrEnum):
    """A letter of an input (``letters.state``): planned → rendered (docx) → done (PDF/A)."""

    PLANNED = "planned"
    RENDERED = "rendered"
    DONE = "done"


class MailState(StrEnum):
    """A mail of the office mailbox (``mails.state``): taken → done (post-action applied)."""

    TAKEN = "taken"
    DONE = "done"


class MailKind(StrEnum):
    """What a mail of the office mailbox is (``mails.kind``)."""

    APPLICATION = "application"  # it carried PDFs, taken as inputs
    NO_PDF = "no_pdf"
    AUTOMATIC = "automatic"  # an auto-reply or other machine mail
    BOUNCE = "bounce"  # a delivery failure report (``bounces``)
    DUPLICATE = "duplicate"  # same Message-ID (or content) seen before
    UNVERIFIED = "unverified"  # the sender could not be confirmed; staff check it
    STAFF = "staff"  # too many attachments; staff check it
    CORRESPONDENCE = "schriftverkehr"  # a question, a reply …: for staff (``correspondence``)


class OutboxState(StrEnum):
    """An outgoing mail (``outgoing_mails.state``): queued → sending → sent | failed."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    WITHHELD = "withheld"  # an answer decided against, with the reason in ``last_error``
    CANCELLED = "storniert"  # a circular's mail stopped before it went (circular withdrawn)


#: German words for the outbox states, as staff read them
OUTBOX_STATE_LABELS: dict[str, str] = {
    OutboxState.QUEUED: "wartet", OutboxState.SENDING: "wird gesendet",
    OutboxState.SENT: "gesendet", OutboxState.FAILED: "gescheitert",
    OutboxState.WITHHELD: "zurückgehalten", OutboxState.CANCELLED: "storniert",
}


class Decision(StrEnum):
    """The office's decision on an application (``decisions.decision``)."""

    ACCEPTED = "angenommen"
    WAITING = "warteliste"
    REJECTED = "abgelehnt"
    WITHDRAWN = "zurueckgezogen"


class DeclarationState(StrEnum):
    """A Gemeinsame Erklärung (``declarations.state``): issued → returned (signed copy back)."""

    ISSUED = "issued"
    RETURNED = "returned"


class CircularState(StrEnum):
    """An issued circular (``circulars.state``); a withdrawn one keeps its number."""

    ISSUED = "ausgegeben"
    WITHDRAWN = "aufgehoben"


class CircularSendState(StrEnum):
    """One circular to one municipality (``circular_sends.state``): planned → queued in the
    outbox; or without an address, or dropped (the circular was withdrawn before it went)."""

    PLANNED = "geplant"
    QUEUED = "eingereiht"
    NO_ADDRESS = "ohne_adresse"
    DROPPED = "entfallen"


class WatcherState(StrEnum):
    """The heartbeat of a watcher (``watchers.state``)."""

    RUNNING = "laeuft"
    ENDED = "beendet"
    DISTURBED = "gestoert"  # the watched place cannot be reached; ``detail`` says why


class CorrespondenceState(StrEnum):
    """Incoming correspondence (``correspondence.state``): new until staff dealt with it."""

    NEW = "neu"
    DONE = "erledigt"


class CorrespondenceMatch(StrEnum):
    """How a piece of correspondence was filed to its case (``correspondence.matched_by``)."""

    REPLY = "antwort"  # In-Reply-To or References names one of our Message-IDs
    AZ = "az"  # an Az. of ours in the subject or the first lines
    QR = "qr"  # a PDF in it carries our QR code
    FOLDER = "ordner"  # staff put it into an Az.-named subfolder of the inbox
    NONE = "keine"  # no case known: for staff, in the staff folder


class FollowUpKind(StrEnum):
    """What a follow-up (Wiedervorlage) waits for (``follow_ups.kind``)."""

    CORRECTION = "korrektur"  # the corrected form the Mängelschreiben asks for
    RELEASE = "freistellung"  # the release confirmation the Zusage asks for
    DECLARATION = "erklaerung"  # the signed Gemeinsame Erklärung
    MANUAL = "manuell"  # added by staff


class FollowUpState(StrEnum):
    """A follow-up (``follow_ups.state``): open until the answer came or staff closed it."""

    OPEN = "offen"
    CLOSED = "erledigt"


class LetterKind(StrEnum):
    """Letters and documents the service writes; the value is the template's file stem."""

    # the intake's letters
    EINGANGSBESTAETIGUNG = "eingangsbestaetigung"
    MAENGELSCHREIBEN = "maengelschreiben"
    VERSPAETUNGSSCHREIBEN = "verspaetungsschreiben"
    # the selection's notices
    ZUSAGE = "zusage"
    ABSAGE = "absage"
    WARTELISTENBESCHEID = "wartelistenbescheid"
    NACHRUECKERZUSAGE = "nachrueckerzusage"
    # the network: the sign-up document and the confirmation once it came back signed
    GEMEINSAME_ERKLAERUNG = "gemeinsame_erklaerung"
    BEITRITTSBESTAETIGUNG = "beitrittsbestaetigung"


class MunicipalityKind(StrEnum):
    """The four types of the Destatis register."""

    KREISFREIE_STADT = "kreisfreie Stadt"
    KREIS = "Kreis"
    STADT = "kreisangehörige Stadt"
    GEMEINDE = "kreisangehörige Gemeinde"


class Municipality(BaseModel):
    """One row of the NRW register (../shared/data, Destatis GV100AD)."""

    model_config = ConfigDict(frozen=True)

    ags: str  # 8 digits; a Kreis has its 5-digit Kreisschlüssel
    name: str  # register name, e.g. "Hagen, Stadt der FernUniversität"
    short_name: str  # "Hagen"
    letter_name: str  # "Stadt Hagen"
    kind: MunicipalityKind
    kreis: str
    regierungsbezirk: str
    plz: str | None = None  # PLZ of the seat of administration
    population: int


class TeamMember(BaseModel):
    name: str
    funktion: str
    email: str
    telefon: str | None = None


class Application(BaseModel):
    """A validated application form."""

    runde: str
    kommune_name: str  # as written on the form
    kommune_typ: str
    municipality: Municipality
    regierungsbezirk: str | None = None
    einwohnerzahl: int | None = None
    strasse: str
    plz: str
    ort: str
    hvb_anrede: Literal["Herr", "Frau"] | None = None
    hvb_name: str
    hvb_funktion: str
    team: list[TeamMember] = Field(min_length=2, max_length=2)
    motivation: str
    strukturen: str | None = None
    ehrenamtskarte: bool = False
    freistellung: bool
    datenschutz: bool
    ort_datum: str
    signed_on: date | None = None  # parsed from ort_datum when possible
    unterzeichner: str


class DeclarationMark(BaseModel):
    """A returned sign-up document of the Gemeinsame Erklärung, as recognised in a PDF."""

    model_config = ConfigDict(frozen=True)

    az: str
    ags: str | None = None
    method: Literal["qr", "text", "ocr"]
    #: the checksum our QR code carried: None without a code of ours, "" for a code printed
    #: before there were checksums
    checksum: str | None = None
    signatory: str | None = None
    function: str | None = None
    signed_on: date | None = None
    place: str | None = None


class ReadMethod(StrEnum):
    ACROFORM = "acroform"
    TEXT = "text"
    OCR = "ocr"


class FormReading(BaseModel):
    """What the PDF adapter read from one document."""

    fields: RawFields
    method: ReadMethod
    page_count: int
    declaration: DeclarationMark | None = None  # set instead of fields for a declaration


class Recipient(BaseModel):
    """Address block of a letter (DIN 5008 Anschriftzone, at most 6 lines)."""

    lines: list[str]
    salutation: str  # complete line, e.g. "Sehr geehrte Frau Müller,"


class Assessment(BaseModel):
    """Result of reading and validating one input (pure data, crosses process boundaries)."""

    fields: RawFields = Field(default_factory=dict)
    method: ReadMethod | None = None
    application: Application | None = None
    municipality: Municipality | None = None  # identified even when the form is invalid
    recipient: Recipient | None = None  # whom a letter can go to, when identifiable
    reasons: list[str] = Field(default_factory=list)
    declaration: DeclarationMark | None = None  # the document is a returned declaration

    @property
    def is_valid(self) -> bool:
        return self.application is not None and not self.reasons


#: German words for the outcomes, as staff read them in tables and artifacts
OUTCOME_LABELS: dict[str | None, str] = {
    Outcome.REGISTERED.value: "registriert", Outcome.LATE.value: "verspätet",
    Outcome.INVALID.value: "ungültig", Outcome.DUPLICATE.value: "Duplikat",
    Outcome.DECLARATION.value: "Gemeinsame Erklärung", None: "in Arbeit",
}

#: German names of the letters: in letter file names and in the case file
LETTER_TITLES: dict[str, str] = {
    LetterKind.EINGANGSBESTAETIGUNG: "Eingangsbestätigung",
    LetterKind.MAENGELSCHREIBEN: "Mängelschreiben",
    LetterKind.VERSPAETUNGSSCHREIBEN: "Verspätungsschreiben",
    LetterKind.ZUSAGE: "Zusage",
    LetterKind.ABSAGE: "Absage",
    LetterKind.WARTELISTENBESCHEID: "Wartelistenbescheid",
    LetterKind.NACHRUECKERZUSAGE: "Nachrückerzusage",
    LetterKind.GEMEINSAME_ERKLAERUNG: "Gemeinsame Erklärung",
    LetterKind.BEITRITTSBESTAETIGUNG: "Beitrittsbestätigung",
}


def final_letter_states(pdf: bool) -> frozenset[LetterState]:
    """The letter states in which nothing is left to do: done, or also rendered when the service
    makes no PDF/A (``letters.pdf`` off)."""
    return frozenset({LetterState.DONE} if pdf else {LetterState.RENDERED, LetterState.DONE})
