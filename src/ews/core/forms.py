"""Raw form fields → a validated Application, or German reasons naming each field (pure)."""

from __future__ import annotations

import re
from datetime import date

from email_validator import EmailNotValidError, validate_email

from ews.core.form_contract import LABELS, MULTILINE_FIELDS
from ews.core.models import Application, Assessment, Municipality, RawFields, Recipient, TeamMember
from ews.core.municipalities import identify
from ews.core.plain_text import plain_text

REQUIRED_TEXT = (
    "runde", "kommune_name", "kommune_typ", "strasse", "plz", "ort", "hvb_name", "hvb_funktion",
    "team1_name", "team1_funktion", "team1_email", "team2_name", "team2_funktion", "team2_email",
    "motivation", "ort_datum", "unterzeichner",
)
REQUIRED_CHECKED = ("freistellung", "datenschutz")
KOMMUNE_TYPEN = {"stadt": "Stadt", "gemeinde": "Gemeinde", "kreis": "Kreis",
                 "kreisfreie stadt": "kreisfreie Stadt"}
REGIERUNGSBEZIRKE = ("Arnsberg", "Detmold", "Düsseldorf", "Köln", "Münster")
_MONTHS = {"januar": 1, "jänner": 1, "februar": 2, "märz": 3, "maerz": 3, "april": 4, "mai": 5,
           "juni": 6, "juli": 7, "august": 8, "september": 9, "oktober": 10, "november": 11,
           "dezember": 12}
_MAX_POPULATION_DIGITS = 12


def _text(fields: RawFields, name: str) -> str | None:
    value = fields.get(name)
    if isinstance(value, bool) or value is None:
        return None
    return value.strip() or None


def _label(name: str) -> str:
    return f"„{LABELS[name]}“"


def normalise_round(text: str) -> str:
    """'EWS6', 'ews 6', 'EWS-6' → 'EWS 6'."""
    # possessive: the spaces around the dash are read once, not tried in every split
    match = re.fullmatch(r"\s*+ews\s*+(?:[-–]\s*+)?(\d++)\s*+", text, flags=re.IGNORECASE)
    return f"EWS {match.group(1)}" if match else " ".join(text.split())


def parse_german_date(text: str) -> date | None:
    """First date written the German way in ``text`` (01.03.2024, 1.3.24, 2024-03-01,
    1. März 2024); None when there is none."""
    patterns = (
        (r"(\d{4})-(\d{1,2})-(\d{1,2})", lambda m: (int(m[1]), int(m[2]), int(m[3]))),
        (r"(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4}|\d{2})(?!\d)",
         lambda m: (_year(m[3]), int(m[2]), int(m[1]))),
        (r"(\d{1,2})\.\s*([A-Za-zäÄ]+)\s+(\d{4})",
         lambda m: (int(m[3]), _MONTHS.get(m[2].casefold(), 0), int(m[1]))),
    )
    for pattern, parts in patterns:
        for match in re.finditer(pattern, text):
            try:
                return date(*parts(match))
            except ValueError:
                continue
    return None


def _year(text: str) -> int:
    return int(text) if len(text) == 4 else 2000 + int(text)


def parse_population(text: str) -> int | None:
    """A whole number written with or without thousands separators; None for anything else
    (also superscripts, which ``int`` refuses, and more digits than any population has)."""
    digits = re.sub(r"[.\s  ']", "", text)
    return int(digits) if digits.isdecimal() and len(digits) <= _MAX_POPULATION_DIGITS else None


def _missing(fields: RawFields) -> list[str]:
    reasons = [f"Das Pflichtfeld {_label(name)} ist nicht ausgefüllt."
               for name in REQUIRED_TEXT if _text(fields, name) is None]
    reasons += [f"Das Feld {_label(name)} muss angekreuzt sein."
                for name in REQUIRED_CHECKED if fields.get(name) is not True]
    return reasons


def _format_reasons(fields: RawFields, round_name: str) -> list[str]:
    reasons: list[str] = []
    runde = _text(fields, "runde")
    if runde and normalise_round(runde) != normalise_round(round_name):
        reasons.append(f"Das Feld {_label('runde')} nennt „{runde}“; ausgeschrieben ist die "
                       f"Runde „{round_name}“.")
    typ = _text(fields, "kommune_typ")
    if typ and typ.casefold() not in KOMMUNE_TYPEN:
        reasons.append(f"Das Feld {_label('kommune_typ')} enthält „{typ}“; erlaubt sind Stadt, "
                       "Gemeinde, Kreis oder kreisfreie Stadt.")
    plz = _text(fields, "plz")
    if plz and not (re.fullmatch(r"\d{5}", plz) and 32000 <= int(plz) <= 59999):
        reasons.append(f"Das Feld {_label('plz')} enthält „{plz}“; erwartet wird eine "
                       "fünfstellige Postleitzahl in Nordrhein-Westfalen.")
    reasons += _optional_format_reasons(fields)
    for member in ("team1", "team2"):
        reasons += _email_reasons(fields, f"{member}_email")
    ort_datum = _text(fields, "ort_datum")
    if ort_datum and parse_german_date(ort_datum) is None:
        reasons.append(f"Das Feld {_label('ort_datum')} enthält kein erkennbares Datum "
                       f"(„{ort_datum}“).")
    return reasons


def _optional_format_reasons(fields: RawFields) -> list[str]:
    reasons: list[str] = []
    anrede = _text(fields, "hvb_anrede")
    if anrede and anrede.casefold() not in ("herr", "frau"):
        reasons.append(f"Das Feld {_label('hvb_anrede')} enthält „{anrede}“; erlaubt sind "
                       "Herr, Frau oder ein leeres Feld.")
    bezirk = _text(fields, "regierungsbezirk")
    if bezirk and bezirk.casefold() not in {b.casefold() for b in REGIERUNGSBEZIRKE}:
        reasons.append(f"Das Feld {_label('regierungsbezirk')} enthält „{bezirk}“; erlaubt "
                       f"sind {', '.join(REGIERUNGSBEZIRKE)}.")
    einwohner = _text(fields, "einwohnerzahl")
    if einwohner and parse_population(einwohner) is None:
        reasons.append(f"Das Feld {_label('einwohnerzahl')} enthält „{einwohner}“; erwartet "
                       "wird eine ganze Zahl.")
    return reasons


def _email_reasons(fields: RawFields, name: str) -> list[str]:
    address = _text(fields, name)
    if address is None:
        return []
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return [f"Das Feld {_label(name)} enthält „{address}“; das ist keine gültige "
                "E-Mail-Adresse."]
    return []


def identify_applicant(fields: RawFields) -> tuple[Municipality | None, str | None]:
    """The municipality the form names (by key, or by name with type and Ort)."""
    match = identify(ags=_text(fields, "ags"), name=_text(fields, "kommune_name"),
                     kind_hint=_text(fields, "kommune_typ"), ort=_text(fields, "ort"))
    return match.municipality, match.reason


def recipient_for(fields: RawFields, municipality: Municipality | None) -> Recipient | None:
    """Address block and salutation from the form; None when nobody can be addressed."""
    name = municipality.letter_name if municipality else _text(fields, "kommune_name")
    if name is None:
        return None
    anrede, hvb = _text(fields, "hvb_anrede"), _text(fields, "hvb_name")
    funktion = _text(fields, "hvb_funktion")
    lines = [name]
    if funktion:
        prefix = {"herr": "Herrn ", "frau": "Frau "}.get((anrede or "").casefold(), "")
        lines.append(f"{prefix}{funktion}")
    if hvb:
        lines.append(hvb)
    lines += [v for v in (_text(fields, "strasse"),) if v]
    town = " ".join(v for v in (_text(fields, "plz"), _text(fields, "ort")) if v)
    lines += [town] if town else []
    return Recipient(lines=lines[:6], salutation=salutation(anrede, funktion, hvb))


def salutation(anrede: str | None, funktion: str | None, name: str | None) -> str:
    """The salutation line with its comma: Anrede, function and surname, or the neutral form."""
    surname = name.split()[-1] if name else ""
    title = f"{funktion} {surname}".strip() if funktion else surname
    match (anrede or "").casefold():
        case "frau" if title:
            return f"Sehr geehrte Frau {title},"
        case "herr" if title:
            return f"Sehr geehrter Herr {title},"
    return "Sehr geehrte Damen und Herren,"


def readable_fields(fields: RawFields) -> RawFields:
    """The fields without control characters or bidi controls (line breaks only where the
    form has a multi-line field): what a sender typed, as a person should read it."""
    return {name: plain_text(value, multiline=name in MULTILINE_FIELDS)
            if isinstance(value, str) else value for name, value in fields.items()}


def assess_fields(fields: RawFields, *, round_name: str) -> Assessment:
    """Validate raw fields: an Assessment with the Application, or with German reasons."""
    fields = readable_fields(fields)
    municipality, identify_reason = identify_applicant(fields)
    reasons = _missing(fields) + _format_reasons(fields, round_name)
    if identify_reason and _text(fields, "kommune_name"):
        reasons.append(f"{_label('kommune_name')}: {identify_reason}")
    recipient = recipient_for(fields, municipality)
    if reasons or municipality is None:
        return Assessment(fields=fields, municipality=municipality, recipient=recipient,
                          reasons=reasons)
    return Assessment(fields=fields, municipality=municipality, recipient=recipient,
                      application=_application(fields, municipality))


def _application(fields: RawFields, municipality: Municipality) -> Application:
    def text(name: str) -> str:
        value = _text(fields, name)
        assert value is not None  # checked by _missing
        return value

    team = [TeamMember(name=text(f"{m}_name"), funktion=text(f"{m}_funktion"),
                       email=text(f"{m}_email"), telefon=_text(fields, f"{m}_telefon"))
            for m in ("team1", "team2")]
    anrede = (_text(fields, "hvb_anrede") or "").capitalize() or None
    einwohner = _text(fields, "einwohnerzahl")
    return Application(
        runde=text("runde"), kommune_name=text("kommune_name"),
        kommune_typ=KOMMUNE_TYPEN[text("kommune_typ").casefold()], municipality=municipality,
        regierungsbezirk=_text(fields, "regierungsbezirk"),
        einwohnerzahl=parse_population(einwohner) if einwohner else None,
        strasse=text("strasse"), plz=text("plz"), ort=text("ort"),
        hvb_anrede=anrede if anrede in ("Herr", "Frau") else None,  # type: ignore[arg-type]
        hvb_name=text("hvb_name"), hvb_funktion=text("hvb_funktion"), team=team,
        motivation=text("motivation"), strukturen=_text(fields, "strukturen"),
        ehrenamtskarte=fields.get("ehrenamtskarte") is True, freistellung=True, datenschutz=True,
        ort_datum=text("ort_datum"), signed_on=parse_german_date(text("ort_datum")),
        unterzeichner=text("unterzeichner"),
    )


def summary_of(fields: RawFields) -> list[tuple[str, str]]:
    """(printed label, value) pairs for the letters, in form order."""
    rows = []
    for name, label in LABELS.items():
        value = fields.get(name)
        if isinstance(value, bool):
            rows.append((label, "ja" if value else "nein"))
        elif value:
            rows.append((label, value))
    return rows
