"""The office's blank fillable application form (Bewerbungsbogen), drawn with reportlab.

Builds the two-page A4 AcroForm in memory; reads only the fields' Unicode font file
(``ews.letters.form_font``), which pypdf adds after reportlab as the fields' default appearance
font, so that programs drawing the values keep every letter of a name. The field contract it
draws (names, kinds, printed labels, headings) lives in ``ews.core.form_contract``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import cast

from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject
from reportlab.lib.colors import Color, black, white
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from ews.core.form_contract import CHECKBOX_FIELDS, CHOICE_OPTIONS, HEADINGS, LABELS
from ews.letters.form_font import RESOURCE, add_form_font, use_form_font

_SUBTITLE = "Entwicklungswerkstatt für kommunale Engagementstrategien in Nordrhein-Westfalen"
_INTRO = (
    "Bitte füllen Sie den Bogen am Bildschirm aus, speichern Sie ihn und senden Sie ihn",
    "unterschrieben an das Programmbüro. Die Feldnamen bitte nicht verändern.",
)
_FONT = "Helvetica"
_BOLD = "Helvetica-Bold"
_LABEL_X = 56.0
_FIELD_X = 240.0
_FIELD_W = 300.0
_ROW = 23.0
_FIELD_BG = Color(0.92, 0.95, 1.0)
_PAGE_W, _PAGE_H = A4


@dataclass(frozen=True)
class _Row:
    """One printed row: a heading (name empty) or a field with its label."""

    name: str
    heading: str = ""


def _rows(names: str, heading: str) -> list[_Row]:
    return [_Row("", heading), *(_Row(name) for name in names.split())]


_PAGE1 = (
    _rows(
        "runde kommune_name kommune_typ ags regierungsbezirk einwohnerzahl strasse plz ort",
        HEADINGS[0],
    )
    + _rows("hvb_anrede hvb_name hvb_funktion", HEADINGS[1])
    + _rows(
        "team1_name team1_funktion team1_email team1_telefon "
        "team2_name team2_funktion team2_email team2_telefon",
        HEADINGS[2],
    )
)


def build_blank_form(round_name: str) -> bytes:
    """The blank application form for one round as PDF bytes (2 pages A4, German)."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1, invariant=True)
    canvas.setTitle(f"Bewerbungsbogen {round_name}")
    canvas.setAuthor("Programmbüro Entwicklungswerkstatt für kommunale Engagementstrategien")
    canvas.setSubject("Bewerbung um die Teilnahme an der Entwicklungswerkstatt (EWS)")
    _draw_page_one(canvas, round_name)
    canvas.showPage()
    _draw_page_two(canvas, round_name)
    canvas.showPage()
    canvas.save()
    return _with_form_font(buffer.getvalue())


def _with_form_font(data: bytes) -> bytes:
    """The form with the Unicode font in ``/AcroForm /DR`` and in every text field's ``/DA``."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    acroform = cast(DictionaryObject, writer.root_object["/AcroForm"])
    resources = cast(DictionaryObject, acroform["/DR"])
    fonts = cast(DictionaryObject, resources.setdefault(NameObject("/Font"), DictionaryObject()))
    fonts[NameObject(f"/{RESOURCE}")] = add_form_font(writer)
    acroform[NameObject("/DA")] = TextStringObject(use_form_font(str(acroform["/DA"])))
    for reference in cast(ArrayObject, acroform["/Fields"]):
        field = cast(DictionaryObject, reference.get_object())
        if "Tf" in str(field.get("/DA", "")):
            field[NameObject("/DA")] = TextStringObject(use_form_font(str(field["/DA"])))
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def _draw_page_one(canvas: Canvas, round_name: str) -> None:
    canvas.setFont(_BOLD, 16)
    canvas.drawString(_LABEL_X, 790, f"Bewerbungsbogen {round_name}")
    canvas.setFont(_FONT, 10)
    canvas.drawString(_LABEL_X, 772, _SUBTITLE)
    canvas.setFont(_FONT, 8.5)
    for offset, line in enumerate(_INTRO):
        canvas.drawString(_LABEL_X, 754 - offset * 11, line)
    y = 716.0
    for row in _PAGE1:
        if row.heading:
            y -= 6
            _draw_heading(canvas, y, row.heading)
        else:
            _draw_field_row(canvas, y, row.name, round_name)
        y -= _ROW
    _draw_footer(canvas, round_name, 1)


def _draw_page_two(canvas: Canvas, round_name: str) -> None:
    _draw_heading(canvas, 790, HEADINGS[3])
    _draw_multiline(canvas, top=768, height=210, name="motivation")
    _draw_multiline(canvas, top=520, height=150, name="strukturen")
    _draw_heading(canvas, 330, HEADINGS[4])
    for index, name in enumerate(CHECKBOX_FIELDS):
        _draw_checkbox_row(canvas, 306 - index * 22, name)
    _draw_field_row(canvas, 220, "ort_datum", round_name)
    _draw_field_row(canvas, 196, "unterzeichner", round_name)
    canvas.setLineWidth(0.6)
    canvas.line(_FIELD_X, 130, _FIELD_X + _FIELD_W, 130)
    canvas.setFont(_FONT, 8)
    canvas.drawString(_FIELD_X, 120, "Unterschrift und Dienstsiegel")
    _draw_footer(canvas, round_name, 2)


def _draw_heading(canvas: Canvas, y: float, text: str) -> None:
    canvas.setFont(_BOLD, 11)
    canvas.drawString(_LABEL_X, y, text)


def _draw_footer(canvas: Canvas, round_name: str, page: int) -> None:
    canvas.setFont(_FONT, 8)
    canvas.drawRightString(_PAGE_W - 56, 36, f"Bewerbungsbogen {round_name} · Seite {page} von 2")


def _draw_field_row(canvas: Canvas, y: float, name: str, round_name: str) -> None:
    canvas.setFont(_FONT, 10)
    canvas.drawString(_LABEL_X, y + 4, f"{LABELS[name]}:")
    common = {
        "name": name,
        "tooltip": LABELS[name],
        "x": _FIELD_X,
        "y": y,
        "width": _FIELD_W,
        "height": 17,
        "fontSize": 10,
        # underlined, not boxed: a box's left edge reads as "|" or "1" when a printout is OCRed
        "borderWidth": 0.8,
        "borderStyle": "underlined",
        "borderColor": black,
        "fillColor": _FIELD_BG,
        "textColor": black,
        "annotationFlags": "print",
    }
    if name in CHOICE_OPTIONS:
        # value=[""] selects the empty option; a plain "" trips reportlab's choice builder
        canvas.acroForm.choice(
            value=[""], options=list(CHOICE_OPTIONS[name]), fieldFlags="combo edit", **common
        )
        return
    value = round_name if name == "runde" else ""
    canvas.acroForm.textfield(value=value, maxlen=300, **common)


def _draw_multiline(canvas: Canvas, *, top: float, height: float, name: str) -> None:
    canvas.setFont(_FONT, 10)
    canvas.drawString(_LABEL_X, top, f"{LABELS[name]}:")
    canvas.acroForm.textfield(
        name=name,
        tooltip=LABELS[name],
        x=_LABEL_X,
        y=top - 8 - height,
        width=_PAGE_W - 2 * _LABEL_X,
        height=height,
        fontSize=10,
        borderWidth=0.8,
        borderStyle="underlined",
        borderColor=black,
        fillColor=_FIELD_BG,
        textColor=black,
        fieldFlags="multiline",
        maxlen=None,
    )


def _draw_checkbox_row(canvas: Canvas, y: float, name: str) -> None:
    canvas.acroForm.checkbox(
        name=name,
        tooltip=LABELS[name],
        x=_LABEL_X,
        y=y - 2,
        size=13,
        buttonStyle="cross",
        borderWidth=0.8,
        borderColor=black,
        fillColor=white,
        textColor=black,
        fieldFlags="",
    )
    canvas.setFont(_FONT, 10)
    canvas.drawString(_LABEL_X + 22, y + 1, LABELS[name])
