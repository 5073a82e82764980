"""The application form's field contract: names, kinds, choices, printed labels (pure, no I/O).

The machine-readable half of ``shared/spec/application-form.md``, shared by the blank form's
drawing (letters), the form readers (documents), the form rules (core) and the exports.
"""

from __future__ import annotations

#: field name → label printed on the form (the human half of the contract), in form order
LABELS: dict[str, str] = {
    "runde": "Runde",
    "kommune_name": "Name der Kommune",
    "kommune_typ": "Art der Kommune",
    "ags": "Amtlicher Gemeindeschlüssel",
    "regierungsbezirk": "Regierungsbezirk",
    "einwohnerzahl": "Einwohnerzahl",
    "strasse": "Straße und Hausnummer",
    "plz": "PLZ",
    "ort": "Ort",
    "hvb_anrede": "Anrede Verwaltungsspitze",
    "hvb_name": "Name Verwaltungsspitze",
    "hvb_funktion": "Funktion Verwaltungsspitze",
    "team1_name": "Teammitglied 1 – Name",
    "team1_funktion": "Teammitglied 1 – Funktion",
    "team1_email": "Teammitglied 1 – E-Mail",
    "team1_telefon": "Teammitglied 1 – Telefon",
    "team2_name": "Teammitglied 2 – Name",
    "team2_funktion": "Teammitglied 2 – Funktion",
    "team2_email": "Teammitglied 2 – E-Mail",
    "team2_telefon": "Teammitglied 2 – Telefon",
    "motivation": "Motivation",
    "strukturen": "Vorhandene Strukturen der Engagementförderung",
    "ehrenamtskarte": "Teilnahme Ehrenamtskarte NRW",
    "freistellung": "Freistellung des Teams bestätigt",
    "datenschutz": "Einwilligung Datenschutz",
    "ort_datum": "Ort, Datum",
    "unterzeichner": "Unterzeichnet von",
}

FIELD_NAMES: tuple[str, ...] = tuple(LABELS)
CHECKBOX_FIELDS: tuple[str, ...] = ("ehrenamtskarte", "freistellung", "datenschutz")
#: every field whose value is a string (text and choice fields)
TEXT_FIELDS: tuple[str, ...] = tuple(name for name in LABELS if name not in CHECKBOX_FIELDS)
MULTILINE_FIELDS: tuple[str, ...] = ("motivation", "strukturen")
#: choice fields and their options (the empty one first); the combo boxes are editable
CHOICE_OPTIONS: dict[str, tuple[str, ...]] = {
    "kommune_typ": ("", "Stadt", "Gemeinde", "Kreis", "kreisfreie Stadt"),
    "regierungsbezirk": ("", "Arnsberg", "Detmold", "Düsseldorf", "Köln", "Münster"),
    "hvb_anrede": ("", "Herr", "Frau"),
}

#: headings printed between the fields; a text reader skips these lines
HEADINGS: tuple[str, ...] = (
    "1. Angaben zur Kommune",
    "2. Verwaltungsspitze",
    "3. Entwicklungsteam",
    "4. Motivation und Voraussetzungen",
    "5. Erklärungen",
)
