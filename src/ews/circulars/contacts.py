"""The contact address file staff maintain for municipalities (I/O: reads the file).

``config/kontakte.csv`` (``;``, ``,`` or tab; UTF-8 or Windows-1252, as Excel writes it) or
``.xlsx`` (first sheet): the first row names the columns (Schlüssel, Kommune, Anrede, Name,
Funktion, E-Mail, Rolle); keys that lost their leading zero in Excel are repaired; every
problem is reported with its row number, as Excel shows it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from zipfile import BadZipFile

from email_validator import EmailNotValidError, validate_email
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from ews.core.errors import DistributionError
from ews.core.municipalities import identify

HVB, CONTACT_PERSON = "hvb", "ansprechperson"
#: the contact file's column names, folded, by field
_HEADERS = {"ags": "schluessel ags gemeindeschluessel amtlichergemeindeschluessel",
            "kommune": "kommune namederkommune gemeinde", "anrede": "anrede",
            "name": "name ansprechperson", "funktion": "funktion",
            "email": "email mail emailadresse emailadressen", "rolle": "rolle"}
_HVB_ROLES = ("hvb", "verwaltungsspitze", "hauptverwaltungsbeamter", "hauptverwaltungsbeamtin")
_CONTACT_ROLES = ("", "ansprechperson", "ansprechpartner", "ansprechpartnerin")


def folded(text: str) -> str:
    """'Ohne Bewerbung', 'ohne-bewerbung', 'Gemeindeschlüssel' → comparable words."""
    text = text.casefold()
    for umlaut, spelled in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, spelled)
    return re.sub(r"[^a-z0-9]", "", text)


@dataclass(frozen=True)
class Contact:
    """One row of the contact file."""

    ags: str
    kommune: str
    anrede: str | None
    name: str
    funktion: str
    emails: tuple[str, ...]
    invalid: tuple[str, ...]
    role: str  # "hvb" | "ansprechperson"


def addresses(*cells: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Valid (normalised, no case-insensitive repeats) and invalid addresses in the cells."""
    valid: list[str] = []
    invalid: list[str] = []
    for part in re.split(r"[;,\s]+", " ".join(cells)):
        if not part:
            continue
        try:
            address = validate_email(part, check_deliverability=False).normalized
        except EmailNotValidError:
            invalid.append(part)
            continue
        if address.casefold() not in {known.casefold() for known in valid}:
            valid.append(address)
    return tuple(valid), tuple(invalid)


def anrede_of(text: str) -> str | None:
    return {"herr": "Herr", "herrn": "Herr", "frau": "Frau"}.get(text.strip().casefold())


# -- the contact file ------------------------------------------------------------------------

def _csv_rows(path: Path) -> list[list[str]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DistributionError(f"Die Kontaktdatei {path} kann nicht gelesen werden: "
                                f"{exc.strerror}.") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # Excel's "CSV (Trennzeichen-getrennt)"
    header = text.splitlines()[0] if text else ""
    delimiter = max(";,\t", key=header.count)
    return [[cell.strip() for cell in row]
            for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a key Excel turned into a number
    return "" if value is None else str(value).strip()


def _xlsx_rows(path: Path) -> list[list[str]]:
    try:
        workbook = load_workbook(path, data_only=True)
    except (OSError, InvalidFileException, BadZipFile, KeyError, ValueError) as exc:
        raise DistributionError(f"Die Kontaktdatei {path} ist keine lesbare Excel-Datei "
                                "(.xlsx).") from exc
    sheet = workbook.worksheets[0]
    return [[_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]


def _columns(header: list[str], path: Path) -> dict[str, int]:
    names_found = [folded(name) for name in header]
    columns = {field: names_found.index(name) for field, names in _HEADERS.items()
               for name in reversed(names.split()) if name in names_found}
    if "email" not in columns or not ({"ags", "kommune"} & columns.keys()):
        raise DistributionError(
            f"Die Kontaktdatei {path.name} braucht in der ersten Zeile eine Spalte „E-Mail“ und "
            f"eine Spalte „Schlüssel“ oder „Kommune“ (gefunden: {', '.join(header) or 'nichts'}).")
    return columns


def _key(text: str) -> str | None:
    """A key as Excel may have left it: 5111000 → 05111000, 5966 → 05966."""
    digits = re.sub(r"[\s.\-/]", "", text)
    lost_zero = digits.isdigit() and len(digits) in (4, 7) and digits.startswith("5")
    return "0" + digits if lost_zero else (digits or None)


def _contact(cells: dict[str, str]) -> tuple[Contact | None, list[str]]:
    match = identify(ags=_key(cells["ags"]), name=cells["kommune"] or None)
    if match.municipality is None:
        return None, [match.reason or "Die Kommune ist unbekannt."]
    emails, invalid = addresses(cells["email"])
    problems = [f"„{address}“ ist keine gültige E-Mail-Adresse." for address in invalid]
    anrede, role = anrede_of(cells["anrede"]), folded(cells["rolle"])
    if cells["anrede"] and anrede is None:
        problems.append(f"Die Anrede „{cells['anrede']}“ ist weder „Frau“ noch „Herr“; "
                        "die Anrede bleibt neutral.")
    if role not in _HVB_ROLES + _CONTACT_ROLES:
        problems.append(f"Die Rolle „{cells['rolle']}“ ist unbekannt (möglich: HVB, "
                        "Ansprechperson); gelesen als Ansprechperson.")
    found = match.municipality
    return Contact(ags=found.ags, kommune=found.letter_name, anrede=anrede, name=cells["name"],
                   funktion=cells["funktion"], emails=emails, invalid=invalid,
                   role=HVB if role in _HVB_ROLES else CONTACT_PERSON), problems


def read_contacts(path: Path) -> tuple[dict[str, Contact], list[str]]:
    """Contacts by AGS and German problems with row numbers as Excel shows them; a missing
    file is no error. ``.csv`` (``;``, ``,`` or tab; UTF-8 or Windows-1252) or ``.xlsx``
    (first sheet); the first row names the columns; the first row of a municipality counts."""
    if not path.exists():
        return {}, []
    if path.suffix.casefold() not in (".csv", ".xlsx"):
        raise DistributionError(f"Die Kontaktdatei {path.name} muss eine .csv- oder "
                                ".xlsx-Datei sein.")
    rows = _csv_rows(path) if path.suffix.casefold() == ".csv" else _xlsx_rows(path)
    columns = _columns(rows[0], path) if rows else {}
    contacts: dict[str, Contact] = {}
    first_row: dict[str, int] = {}
    problems: list[str] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(row):
            continue
        row += [""] * (len(rows[0]) - len(row))  # a short CSV line
        contact, found = _contact({field: row[columns[field]] if field in columns else ""
                                   for field in _HEADERS})
        if contact is not None and contact.ags in contacts:
            found.append(f"{contact.kommune} steht schon in Zeile {first_row[contact.ags]}; "
                         "diese Zeile wird nicht verwendet.")
        elif contact is not None:
            contacts[contact.ags], first_row[contact.ags] = contact, number
        problems += [f"Zeile {number}: {problem}" for problem in found]
    return contacts, problems
