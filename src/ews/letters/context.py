"""Letters as plain data and the template context made of them (pure, no I/O).

``LetterData`` is everything one letter says; ``letter_context`` turns it and the office's
details into the German placeholders of the staff-editable Word templates (display strings,
dates the German way, text cleaned for XML). Rendering the templates: ``ews.letters.render``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

from babel.dates import format_date, format_time
from pydantic import AwareDatetime, BaseModel, Field, field_validator

from ews.core.deadlines import BERLIN
from ews.core.models import LetterKind, Recipient
from ews.runtime.settings import OfficeSettings

LOCALE = "de_DE"
MAX_ADDRESS_LINES = 6
# XML 1.0 forbids these; \t and \n stay (docxtpl turns them into tabs and line breaks).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class WorkshopDate(BaseModel):
    """One workshop date as a Zusage lists it."""

    datum: date
    zeit: str = ""
    titel: str
    ort: str


class LetterData(BaseModel):
    """Everything one letter says, as plain data (display formatting is ``letter_context``).

    The intake's letters use the receipt fields, the selection's notices the workshop, team,
    reason and rank fields, the network's documents the signatory fields; the rest stay
    empty."""

    kind: LetterKind
    recipient: Recipient  # address lines (<= 6) + full salutation line
    reference: str = Field(min_length=1)  # "Unser Zeichen": the Az. or else the Eingangsnummer
    letter_date: date
    round_name: str
    kommune_name: str  # how the municipality is named in the letter, e.g. "Stadt Hagen"
    received_at: AwareDatetime | None = None  # shown in Europe/Berlin
    deadline_day: date | None = None  # last day of the (shifted) deadline; ends 24:00
    reasons: list[str] = Field(default_factory=list)  # German sentences (Mängelschreiben)
    replaces_reference: str | None = None
    source_name: str = ""  # original file name of the input
    summary: list[tuple[str, str]] = Field(default_factory=list)  # (printed label, value)
    # the selection's notices
    workshops: list[WorkshopDate] = Field(default_factory=list)
    reply_by: date | None = None  # the team's release from duty is to be confirmed by then
    team: list[tuple[str, str]] = Field(default_factory=list)  # (name, function)
    reason_text: str = ""  # why an application was not accepted (Absage)
    rank: int | None = None  # place on the waiting list
    # the network: the Gemeinsame Erklärung and the confirmation of joining
    ags: str = ""
    hvb_name: str = ""
    hvb_function: str = ""
    contact_person: str = ""
    qr_payload: str | None = None  # printed as a QR code where the template has {{ qr_code }}
    signed_by: str = ""
    signed_function: str = ""
    signed_on: date | None = None
    joined_on: date | None = None

    @field_validator("recipient")
    @classmethod
    def _address_fits_field(cls, value: Recipient) -> Recipient:
        count = len(address_lines(value))
        if not 1 <= count <= MAX_ADDRESS_LINES:
            raise ValueError(
                f"Die Anschrift muss 1 bis {MAX_ADDRESS_LINES} Zeilen haben, hat aber {count}."
            )
        return value


def long_date(day: date) -> str:
    """``Freitag, 1. März 2024`` (DIN 5008, independent of the server locale)."""
    return format_date(day, "EEEE, d. MMMM y", locale=LOCALE)


def clock_time(moment: datetime) -> str:
    """``14:03 Uhr`` in Europe/Berlin, summer time included."""
    return f"{format_time(moment, 'HH:mm', tzinfo=BERLIN, locale=LOCALE)} Uhr"


def address_lines(recipient: Recipient) -> list[str]:
    """The non-empty lines of the address, cleaned for XML."""
    lines = (part for line in recipient.lines for part in clean_text(line).split("\n"))
    return [line.strip() for line in lines if line.strip()]


def clean_text(value: str) -> str:
    """NFC text without characters XML cannot carry; line breaks normalised to ``\\n``."""
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    return _XML_ILLEGAL.sub("", text)


def letter_context(data: LetterData, office: OfficeSettings) -> dict[str, object]:
    """The placeholders of every letter template as display strings (pure)."""
    return {**office_context(office), **_letter_values(data)}


def office_context(office: OfficeSettings) -> dict[str, object]:
    values = {
        "absender_name": office.name,
        "absender_einheit": office.unit,
        "absender_strasse": office.street,
        "absender_plz": office.plz,
        "absender_ort": office.ort,
        "absender_telefon": office.phone,
        "absender_email": office.email,
        "absender_website": office.website,
        "absender_register": office.register_note,
        "ansprechpartner": office.contact_name,
        "unterzeichner_name": office.signer_name,
        "unterzeichner_funktion": office.signer_function,
    }
    return {key: clean_text(value) for key, value in values.items()}


def _letter_values(data: LetterData) -> dict[str, object]:
    received = data.received_at.astimezone(BERLIN) if data.received_at else None
    return {
        "anschrift": "\n".join(address_lines(data.recipient)),
        "anrede": clean_text(data.recipient.salutation),
        "unser_zeichen": clean_text(data.reference),
        "briefdatum": format_date(data.letter_date, "dd.MM.y", locale=LOCALE),
        "runde": clean_text(data.round_name),
        "kommune": clean_text(data.kommune_name),
        "eingang_datum": long_date(received.date()) if received else "",
        "eingang_uhrzeit": clock_time(received) if received else "",
        "frist": f"{long_date(data.deadline_day)}, 24:00 Uhr" if data.deadline_day else "",
        "frist_datum": long_date(data.deadline_day) if data.deadline_day else "",
        "gruende": [clean_text(reason) for reason in data.reasons],
        "ersetzt_zeichen": clean_text(data.replaces_reference or ""),
        "dateiname": clean_text(data.source_name),
        "angaben": [
            {"bezeichnung": clean_text(label), "wert": clean_text(value)}
            for label, value in data.summary
        ],
        "workshops": [
            {"datum": long_date(w.datum), "zeit": clean_text(w.zeit),
             "titel": clean_text(w.titel), "ort": clean_text(w.ort)}
            for w in data.workshops
        ],
        "rueckmeldung_bis": long_date(data.reply_by) if data.reply_by else "",
        "team": [{"name": clean_text(name), "funktion": clean_text(function)}
                 for name, function in data.team],
        "grund": clean_text(data.reason_text),
        "rang": str(data.rank) if data.rank is not None else "",
        "ags": clean_text(data.ags),
        "hvb_name": clean_text(data.hvb_name),
        "hvb_funktion": clean_text(data.hvb_function),
        "ansprechperson": clean_text(data.contact_person),
        "qr_code": data.qr_payload or "",
        "unterzeichnet_von": clean_text(data.signed_by),
        "unterzeichnet_funktion": clean_text(data.signed_function),
        "unterzeichnet_am": long_date(data.signed_on) if data.signed_on else "",
        "beitritt_am": long_date(data.joined_on) if data.joined_on else "",
    }


def sample_letter_data(kind: LetterKind) -> LetterData:
    """Sample data that takes every branch of a template (for checks and previews)."""
    return LetterData(
        kind=kind,
        recipient=Recipient(
            lines=["Stadt Musterstadt", "Der Bürgermeister", "Rathausplatz 1", "40210 Musterstadt"],
            salutation="Sehr geehrte Damen und Herren,",
        ),
        reference="13.0.70-001/2027",
        letter_date=date(2027, 3, 2),
        round_name="EWS 6",
        kommune_name="Stadt Musterstadt",
        received_at=datetime(2027, 3, 1, 14, 3, tzinfo=BERLIN),
        deadline_day=date(2027, 3, 1),
        reasons=["Das Feld „Motivation“ ist leer.", "Die Einwilligung fehlt."],
        replaces_reference="13.0.70-000/2027",
        source_name="bewerbung.pdf",
        summary=[("Name der Kommune", "Stadt Musterstadt"), ("Motivation", "Zeile 1\nZeile 2")],
        workshops=[
            WorkshopDate(datum=date(2027, 5, 4), zeit="10:00–16:00 Uhr", titel="Auftakt",
                         ort="Düsseldorf"),
            WorkshopDate(datum=date(2027, 9, 14), titel="Zweiter Workshop", ort="Dortmund"),
        ],
        reply_by=date(2027, 4, 30),
        team=[("Maria Beispiel", "Sachgebietsleitung"), ("Jan Muster", "Sachbearbeitung")],
        reason_text="Alle Plätze der Runde sind vergeben.",
        rank=3,
        ags="05999999",
        hvb_name="Erika Mustermann",
        hvb_function="Bürgermeisterin",
        contact_person="Maria Beispiel",
        # a code of the real size; its checksum is made up (a template check has no key)
        qr_payload="EWS-GE|13.0.70-001/2027|05999999|XPVVNAQEYJ34C6JXXFBLAL5OFE",
        signed_by="Erika Mustermann",
        signed_function="Bürgermeisterin",
        signed_on=date(2027, 6, 1),
        joined_on=date(2027, 6, 3),
    )
