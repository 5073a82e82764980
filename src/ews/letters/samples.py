"""Sample application PDFs for demos and load tests, built from the office's blank form.

Pure apart from reading the bundled register: returns (file name, bytes) pairs and writes
nothing. Most samples are the blank form filled with pypdf, the way PDF programs save it (with
varied checkbox export names); some are "printed to PDF" (text layer only, reportlab).
Deterministic for a given seed.
"""

from __future__ import annotations

import io
import random
import re
import zipfile
from functools import cache
from xml.sax.saxutils import escape

from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

from ews.core.form_contract import CHECKBOX_FIELDS, LABELS, MULTILINE_FIELDS
from ews.letters.blank_form import build_blank_form
from ews.letters.sample_data import FormValues, Kommune, application_values, kommunen

#: export names of a ticked box in the wild, weighted by how often they turn up
_ON_STATES = ("/Yes",) * 5 + ("/On", "/Ja", "/1")
_PRINTED_SHARE = 0.125
#: characters Helvetica (WinAnsi) cannot print, as people then type them
_WINANSI_FALLBACK = str.maketrans({"ł": "l", "ş": "s", "ı": "i", "ğ": "g", "Ł": "L", "Ş": "S"})


def sample_applications(
    count: int, *, seed: int = 0, round_name: str = "EWS 6"
) -> list[tuple[str, bytes]]:
    """``count`` filled applications from distinct real municipalities (while they last)."""
    rng = random.Random(seed)
    pool = list(kommunen())
    chosen = rng.sample(pool, min(count, len(pool))) + rng.choices(
        pool, k=max(0, count - len(pool))
    )
    files: list[tuple[str, bytes]] = []
    for kommune in chosen:
        values = application_values(kommune, rng, round_name)
        if rng.random() < _PRINTED_SHARE:
            data = printed_form_pdf(values, round_name)
        else:
            data = filled_form_pdf(values, round_name, on_state=rng.choice(_ON_STATES))
        files.append((file_name(values, kommune, rng, round_name), data))
    return _with_unique_names(files)


@cache
def _blank(round_name: str) -> bytes:
    return build_blank_form(round_name)


def filled_form_pdf(values: FormValues, round_name: str, *, on_state: str = "/Yes",
                    missing: tuple[str, ...] = ()) -> bytes:
    """The blank form with ``values`` filled in; ticked boxes export ``on_state``; boxes named
    in ``missing`` carry neither /V nor /AS (as some PDF programs leave them)."""
    writer = PdfWriter(clone_from=io.BytesIO(_blank(round_name)))
    texts = {name: value for name, value in values.items() if isinstance(value, str)}
    for page in writer.pages:
        writer.update_page_form_field_values(page, texts, auto_regenerate=False)
        for annotation in page.get("/Annots", []):
            widget = annotation.get_object()
            if widget.get("/T") in CHECKBOX_FIELDS:
                name = str(widget["/T"])
                _tick(widget, values.get(name) is True, on_state, name in missing)
    writer.set_need_appearances_writer(True)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _tick(widget: DictionaryObject, checked: bool, on_state: str, missing: bool = False
          ) -> None:
    appearances = widget["/AP"].get_object()
    for key in ("/N", "/D"):
        states = (
            appearances[key].get_object() if isinstance(appearances, DictionaryObject) else None
        )
        if isinstance(states, DictionaryObject) and "/Yes" in states and on_state != "/Yes":
            states[NameObject(on_state)] = states.pop("/Yes")
    for key in ("/V", "/AS"):
        if missing:
            widget.pop(key, None)
        else:
            widget[NameObject(key)] = NameObject(on_state if checked else "/Off")


def printed_form_pdf(values: FormValues, round_name: str) -> bytes:
    """The application "printed to PDF": labels and values as text, no form fields."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    canvas.setTitle(f"Bewerbungsbogen {round_name}")
    canvas.setFont("Helvetica-Bold", 15)
    canvas.drawString(56, 790, f"Bewerbungsbogen {round_name}")
    y = 760.0
    for name, label in LABELS.items():
        for line in _printed_lines(name, label, values.get(name)):
            if y < 60:
                canvas.showPage()
                y = 790.0
            canvas.setFont("Helvetica", 10)
            canvas.drawString(56, y, line.translate(_WINANSI_FALLBACK))
            y -= 14
        y -= 4
    canvas.save()
    return buffer.getvalue()


def _printed_lines(name: str, label: str, value: str | bool | None) -> list[str]:
    if name in CHECKBOX_FIELDS:
        return [f"{'[x]' if value is True else '[ ]'} {label}"]
    text = value if isinstance(value, str) else ""
    if name not in MULTILINE_FIELDS:
        return [f"{label}: {text}"]
    lines = [f"{label}:"]
    for paragraph in text.split("\n"):
        lines.extend(simpleSplit(paragraph, "Helvetica", 10, 480) or [""])
    return lines


def file_name(values: FormValues, kommune: Kommune, rng: random.Random, round_name: str) -> str:
    """A file name the way municipalities name what they send."""
    name = str(values["kommune_name"])
    compact = round_name.replace(" ", "")
    scan = rng.randrange(1, 400)
    return rng.choice([
        f"Bewerbung {compact} {name}.pdf",
        f"Bewerbung {compact} {name}.pdf",
        "Bewerbungsbogen_ausgefüllt.pdf",
        f"Bewerbungsbogen_ausgefüllt ({rng.randrange(1, 4)}).pdf",
        f"scan_{scan:04d}.pdf",
        f"SKM_C258{rng.randrange(10**11, 10**12)}.pdf",
        f"2027-02-{rng.randrange(10, 27)}_Bewerbung_{kommune.short_name.replace(' ', '_')}.pdf",
        f"EWS-Bewerbung_{name.replace(' ', '_')}.pdf",
        f"Bewerbungsbogen {round_name} – {name} (unterschrieben).pdf",
        f"Bewerbung_{kommune.short_name}_final_v2.pdf",
    ])  # fmt: skip


def _with_unique_names(files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Numbered the way a download folder does it: ``x.pdf``, ``x (2).pdf``, ``x (3).pdf``."""
    seen: set[str] = set()
    unique = []
    for name, data in files:
        candidate = name
        numbered = re.fullmatch(r"(.*) \((\d+)\)\.pdf", name)
        stem, number = (numbered[1], int(numbered[2]) + 1) if numbered else (name[:-4], 2)
        while candidate in seen:
            candidate = f"{stem} ({number}).pdf"
            number += 1
        seen.add(candidate)
        unique.append((candidate, data))
    return unique


def word_document(text: str) -> bytes:
    """A minimal Word document (.docx) with one paragraph: what some send instead of the PDF."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            _zip_entry("[Content_Types].xml"),
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        archive.writestr(
            _zip_entry("word/document.xml"),
            '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.'
            'openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>'
            f"{escape(text)}</w:t></w:r></w:p></w:body></w:document>",
        )
    return buffer.getvalue()


def _zip_entry(name: str) -> zipfile.ZipInfo:
    # a fixed timestamp keeps the bytes reproducible
    return zipfile.ZipInfo(name, date_time=(2027, 2, 1, 9, 0, 0))


#: the demo's valid applicants, by key: Brühl, Kreis Olpe, Finnentrop, Hagen, Bonn, Kerpen,
#: Rhein-Sieg-Kreis, Bergkamen
_DEMO_KEYS = (
    "05362012", "05966", "05966012", "05914000", "05314000", "05362032", "05382", "05978004",
)  # fmt: skip


def demo_inbox_files(round_name: str) -> list[tuple[str, bytes]]:
    """A small inbox for a first run: 8 valid applications and the usual problems.

    The problems: a missing required field with a malformed e-mail address, an unticked
    privacy consent, a town outside NRW, a form printed to PDF (text only, valid), a Word
    document named .pdf, a byte-identical copy of an earlier file, and a corrected second
    application from a municipality that already applied (last in the list).
    """
    rng = random.Random(6)
    by_key = {kommune.ags: kommune for kommune in kommunen()}
    files = []
    for key in _DEMO_KEYS:
        values = application_values(by_key[key], rng, round_name)
        name = f"Bewerbung {round_name.replace(' ', '')} {values['kommune_name']}.pdf"
        files.append((name, filled_form_pdf(values, round_name, on_state=rng.choice(_ON_STATES))))
    files.extend(_demo_problems(by_key, rng, round_name, first_file=files[0][1]))
    return _with_unique_names(files)


def _demo_problems(
    by_key: dict[str, Kommune], rng: random.Random, round_name: str, *, first_file: bytes
) -> list[tuple[str, bytes]]:
    incomplete = application_values(by_key["05962032"], rng, round_name)  # Lüdenscheid
    incomplete.update(hvb_name="", team2_email="m.schulz(at)luedenscheid.de")
    no_consent = application_values(by_key["05570052"], rng, round_name)  # Warendorf
    no_consent["datenschutz"] = False
    outside = application_values(by_key["05566076"], rng, round_name)  # Rheine, moved away
    outside.update(kommune_name="Stadt Osnabrück", kommune_typ="kreisfreie Stadt",
                   ags="03404000", regierungsbezirk="", plz="49074", ort="Osnabrück",
                   ort_datum="Osnabrück, 20.02.2027")  # fmt: skip
    for number in (1, 2):
        local = str(outside[f"team{number}_email"]).split("@")[0]
        outside[f"team{number}_email"] = f"{local}@osnabrueck.de"
    printed = application_values(by_key["05566080"], rng, round_name)  # Saerbeck
    corrected = application_values(by_key["05966"], random.Random(66), round_name)  # Kreis Olpe
    return [
        ("Bewerbungsbogen_ausgefüllt (2).pdf", filled_form_pdf(incomplete, round_name)),
        ("EWS-Bewerbung_Stadt_Warendorf.pdf", filled_form_pdf(no_consent, round_name)),
        ("Bewerbung Stadt Osnabrück.pdf", filled_form_pdf(outside, round_name)),
        ("scan_0012.pdf", printed_form_pdf(printed, round_name)),
        ("Bewerbung Stadt Kamen.pdf", word_document("Bewerbung der Stadt Kamen um die EWS")),
        ("WG Bewerbung.pdf", first_file),
        ("Bewerbung Kreis Olpe – korrigierte Fassung.pdf",
         filled_form_pdf(corrected, round_name, on_state="/On")),
    ]  # fmt: skip
