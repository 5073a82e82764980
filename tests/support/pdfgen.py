"""Test-only generators of application PDFs in the variants real PDF programs produce.

Each generator returns bytes. Several libraries are used on purpose, so that the reader is not
only tested against files written the way the product writes them: pypdf (filling, incremental
saves, encryption), a hand-written PDF serialiser (exact string bytes and field structures),
pikepdf (long documents, injected streams), fpdf2 (text-layer-only forms), PIL and pdftoppm
(scans). The heavy generators are cached.
"""

from __future__ import annotations

import io
import random
import subprocess
import tempfile
import zipfile
from functools import cache
from pathlib import Path

import pikepdf
from fpdf import FPDF
from PIL import Image, ImageDraw
from pypdf import PdfWriter

from ews.core.form_contract import CHECKBOX_FIELDS, LABELS, MULTILINE_FIELDS
from ews.letters.blank_form import build_blank_form
from ews.letters.samples import filled_form_pdf
from tests.support.pdfgen_raw import BOMB_SIZE, deflated_zeros, pdf_literal, xfa_only_form
from tests.support.pdfgen_raw import raw_form as _raw_form

__all__ = ["BOMB_SIZE", "pdf_literal", "xfa_only_form"]

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
ROUND = "EWS 6"

#: one complete, valid application (Lüdenscheid), rich in umlauts and line breaks
VALUES: dict[str, str | bool] = {
    "runde": ROUND,
    "kommune_name": "Stadt Lüdenscheid",
    "kommune_typ": "Stadt",
    "ags": "05962032",
    "regierungsbezirk": "Arnsberg",
    "einwohnerzahl": "71.865",
    "strasse": "Rathausplatz 2",
    "plz": "58507",
    "ort": "Lüdenscheid",
    "hvb_anrede": "Herr",
    "hvb_name": "Sebastian Wagemeyer",
    "hvb_funktion": "Bürgermeister",
    "team1_name": "Jürgen Weiß",
    "team1_funktion": "Leiter Fachdienst Bürgerschaftliches Engagement",
    "team1_email": "juergen.weiss@luedenscheid.de",
    "team1_telefon": "02351 17-1234",
    "team2_name": "Änne Schröder-Öztürk",
    "team2_funktion": "Sachbearbeiterin Ehrenamtsbüro",
    "team2_email": "aenne.schroeder@luedenscheid.de",
    "team2_telefon": "(02351) 17-5678",
    "motivation": (
        "Wir möchten das bürgerschaftliche Engagement in Lüdenscheid strategisch stärken.\n"
        "Die Zahl der Ehrenamtlichen in Vereinen und Initiativen sinkt seit Jahren.\n"
        "Mit der Werkstatt wollen wir eine gemeinsame Strategie für Stadt und Vereine erarbeiten."
    ),
    "strukturen": "Freiwilligenzentrum seit 2009\nEhrenamtsbörse und jährlicher Engagementpreis",
    "ehrenamtskarte": True,
    "freistellung": True,
    "datenschutz": True,
    "ort_datum": "Lüdenscheid, 26.02.2027",
    "unterzeichner": "Sebastian Wagemeyer",
}


# --- the office's form, filled with pypdf -------------------------------------------------


@cache
def blank_form() -> bytes:
    return build_blank_form(ROUND)


def filled_form(
    values: dict[str, str | bool] | None = None,
    *,
    on_state: str = "/Yes",
    missing: tuple[str, ...] = (),
) -> bytes:
    """The blank form filled with pypdf; checked boxes use ``on_state`` as their export name.

    Checkboxes named in ``missing`` carry neither /V nor /AS.
    """
    values = VALUES if values is None else values
    return filled_form_pdf(values, ROUND, on_state=on_state, missing=missing)


def _written(writer: PdfWriter) -> bytes:
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def incremental_update(changes: dict[str, str]) -> bytes:
    """The filled form saved once, then saved again incrementally with ``changes`` (pypdf)."""
    writer = PdfWriter(io.BytesIO(filled_form()), incremental=True)
    for page in writer.pages:
        writer.update_page_form_field_values(page, changes, auto_regenerate=False)
    return _written(writer)


def encrypted_form(algorithm: str, *, user_password: str = "") -> bytes:
    """The filled form encrypted by pypdf; an empty user password means owner password only."""
    writer = PdfWriter(clone_from=io.BytesIO(filled_form()))
    writer.encrypt(user_password=user_password, owner_password="Büro-2027", algorithm=algorithm)
    return _written(writer)


def truncated_form() -> bytes:
    data = filled_form()
    return data[: len(data) // 2]


def last_save_removed(data: bytes) -> bytes:
    """The file as it was before its last incremental save (up to the first %%EOF)."""
    return data[: data.index(b"%%EOF") + len(b"%%EOF")] + b"\n"


# --- hand-serialised forms (see pdfgen_raw) ------------------------------------------------


def raw_form(values: dict[str, str | bool] | None = None, **options: object) -> bytes:
    """``pdfgen_raw.raw_form`` with the standard values."""
    return _raw_form(VALUES if values is None else values, **options)  # type: ignore[arg-type]


# --- deflate bombs --------------------------------------------------------------------------


@cache
def value_bomb_form(*, in_appearance: bool = False) -> bytes:
    """The hand-written form whose motivation /V (or a tick's appearance) is a 512 MiB bomb."""
    return raw_form(bomb="appearance" if in_appearance else "value")


@cache
def content_bomb_form(*, with_fields: bool) -> bytes:
    """A page whose content stream inflates to 512 MiB (pikepdf); on the filled form or alone."""
    source = filled_form() if with_fields else printed_form()
    with pikepdf.open(io.BytesIO(source)) as pdf:
        stream = pikepdf.Stream(pdf, b"")
        stream.write(deflated_zeros(), filter=pikepdf.Name.FlateDecode)
        target = pdf.pages[-1] if with_fields else pdf.pages[0]
        target.obj.Contents = stream
        buffer = io.BytesIO()
        pdf.save(buffer)
    return buffer.getvalue()


# --- long documents -------------------------------------------------------------------------


@cache
def long_form(pages: int = 3000, *, with_fields: bool = True) -> bytes:
    """The filled form (or the printed one) followed by many one-line annex pages (pikepdf)."""
    source = filled_form() if with_fields else printed_form()
    with pikepdf.open(io.BytesIO(source)) as pdf:
        content = pdf.make_stream(b"BT /F1 10 Tf 56 800 Td (Anlage zur Bewerbung) Tj ET")
        font = pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                  BaseFont=pikepdf.Name.Helvetica)  # fmt: skip
        resources = pdf.make_indirect(pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)))
        for _ in range(pages - len(pdf.pages)):
            page = pikepdf.Dictionary(
                Type=pikepdf.Name.Page, MediaBox=[0, 0, 595, 842], Contents=content,
                Resources=resources,
            )  # fmt: skip
            pdf.pages.append(pikepdf.Page(pdf.make_indirect(page)))
        buffer = io.BytesIO()
        pdf.save(buffer, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return buffer.getvalue()


# --- printed and scanned forms (no fields) --------------------------------------------------

CHECK_MARKS = {
    "brackets": ("[x] ", "[ ] "),
    "brackets_upper": ("[X] ", "[ ] "),
    "glyphs": ("☒ ", "☐ "),
    "ticked": ("☑ ", "☐ "),
}


def printed_form(
    values: dict[str, str | bool] | None = None,
    *,
    checkbox_style: str = "brackets",
    dash: str = "–",
    font_size: float = 11,
) -> bytes:
    """The form "printed to PDF" (fpdf2, DejaVuSans): labels and values, no fields.

    ``checkbox_style``: a mark before the label (``brackets``, ``brackets_upper``, ``glyphs``,
    ``ticked``), after it (``after``), or ``words`` (``: ja`` / ``: nein``).
    """
    values = VALUES if values is None else values
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.add_page()
    pdf.set_font("DejaVu", size=15)
    pdf.cell(text=f"Bewerbungsbogen {ROUND}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=font_size)
    pdf.ln(4)
    for name, label in LABELS.items():
        _print_field(pdf, label.replace("–", dash), values.get(name), name, checkbox_style)
    return bytes(pdf.output())


def _print_field(
    pdf: FPDF, label: str, value: str | bool | None, name: str, checkbox_style: str
) -> None:
    line_height = pdf.font_size * 1.6
    if name in CHECKBOX_FIELDS:
        checked = value is True
        if checkbox_style == "words":
            text = f"{label}: {'ja' if checked else 'nein'}"
        elif checkbox_style == "after":
            text = f"{label} {'[x]' if checked else '[ ]'}"
        else:
            text = CHECK_MARKS[checkbox_style][0 if checked else 1] + label
        pdf.cell(text=text, new_x="LMARGIN", new_y="NEXT", h=line_height)
    elif name in MULTILINE_FIELDS:
        pdf.cell(text=f"{label}:", new_x="LMARGIN", new_y="NEXT", h=line_height)
        pdf.multi_cell(w=0, h=line_height, text=str(value or ""), new_x="LMARGIN", new_y="NEXT")
    else:
        pdf.cell(text=f"{label}: {value or ''}", new_x="LMARGIN", new_y="NEXT", h=line_height)


def printed_office_form(values: dict[str, str | bool] | None = None) -> bytes:
    """The filled office form "printed to PDF" by ghostscript: text layer, ticks as lines."""
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "form.pdf", Path(folder) / "printed.pdf"
        source.write_bytes(filled_form(values))
        command = ["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite",
                   "-dPrinted", f"-sOutputFile={target}", str(source)]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True, timeout=120)
        return target.read_bytes()


def rendered_pages(data: bytes, dpi: int = 300) -> list[Image.Image]:
    """The pages as grayscale images, rendered by pdftoppm."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "form.pdf"
        source.write_bytes(data)
        command = ["pdftoppm", "-r", str(dpi), "-gray", "-png", str(source), f"{folder}/p"]
        subprocess.run(command, check=True, capture_output=True, timeout=120)
        return [Image.open(path).copy() for path in sorted(Path(folder).glob("p*.png"))]


@cache
def scanned_form() -> bytes:
    """The printed (fpdf2) form, printed and scanned at 300 dpi."""
    return scanned_pages(printed_form())


@cache
def scanned_office_form() -> bytes:
    """The office's form filled on screen, printed and scanned at 300 dpi (ticks as crosses)."""
    return scanned_pages(filled_form())


def blank_scan() -> bytes:
    """An image-only PDF of an empty white page (nothing to read)."""
    buffer = io.BytesIO()
    Image.new("L", (2480, 3508), 255).save(buffer, "PDF", resolution=300)
    return buffer.getvalue()


# --- files that are not PDFs ----------------------------------------------------------------


def docx_bytes() -> bytes:
    """A minimal Word document (.docx) that someone renamed or attached instead of the PDF."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr(
            "word/document.xml",
            '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
            'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Bewerbung</w:t></w:r></w:p>'
            "</w:body></w:document>",
        )
    return buffer.getvalue()


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (200, 100), 255).save(buffer, "PNG")
    return buffer.getvalue()


def scanned_pages(data: bytes, *, angle: float = 0.4, seed: int = 7, dpi: int = 300) -> bytes:
    """``data`` printed and scanned: grayscale, slightly rotated, with dust (pdftoppm, PIL)."""
    rng = random.Random(seed)
    images = []
    for page in rendered_pages(data, dpi=dpi):
        page = page.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
        draw = ImageDraw.Draw(page)
        for _ in range(400):
            x, y = rng.randrange(page.width), rng.randrange(page.height)
            draw.point((x, y), fill=rng.randrange(60, 160))
        images.append(page)
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return buffer.getvalue()
