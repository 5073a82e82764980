"""Domain models shared by all steps: plain pydantic data, no I/O."""

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
