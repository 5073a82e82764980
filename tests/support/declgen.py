"""Test-only generators of returned „Gemeinsame Erklärung“ PDFs, as they come back in reality.

(a) the document laid out like the office's template (reportlab, Liberation Sans, the QR code
of ``ews.letters.qr.qr_png`` top right), filled and signed; (b) its scan: pdftoppm
(``pdfgen.rendered_pages``), then skew, dust, blur and JPEG with PIL; (c) a receipt stamp over
the QR code; (d) a phone photo with keystone and shadow; (e) a date written by hand (a chancery
face above the fill-in line); (f) a page fed upside down; (g) a "searchable PDF" with the
scanner's own OCR layer; (h) the office's real template rendered by docxtpl and LibreOffice.
Each generator returns PDF bytes; the heavy ones are cached. The QR codes carry their checksum
under ``KEY`` (the key ``tests.conftest.make_settings`` sets), unless a test asks for a forged
(``FORGED``), altered (``altered_payload``) or unsigned (``unsigned_payload``) one.
"""

from __future__ import annotations

import io
import random
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from ews.core.models import LetterKind
from ews.documents.declaration_code import PAYLOAD_PREFIX, payload_checksum, qr_payload
from ews.letters.context import sample_letter_data
from ews.letters.pdfa import convert_to_pdfa
from ews.letters.qr import qr_png
from ews.letters.render import render_letter
from ews.runtime.settings import OfficeSettings
from tests.conftest import QR_KEY
from tests.support.pdfgen import rendered_pages

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
_FONTS = Path("/usr/share/fonts/truetype/liberation2")
#: a chancery face standing in for a date written by hand (URW's Zapf Chancery clone)
_HAND_AFM = Path("/usr/share/fonts/type1/urw-base35/Z003-MediumItalic.afm")
_HAND_PFB = Path("/usr/share/fonts/X11/Type1/Z003-MediumItalic.pfb")
_STAMP_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")

#: the office's key in the tests (set by tests.conftest.make_settings and cli_env)
KEY = QR_KEY
#: the key of someone who does not have the office's
FORGER_KEY = "geraten-nicht-der-schluessel-des-bueros"

TITLE = "Gemeinsame Erklärung zur Förderung des bürgerschaftlichen Engagements in NRW"
SUBTITLE = "Beitritt zum Kommunen-Netzwerk: engagiert in NRW"
BLANK = "______________________"
_CRITERIA = (
    "eine kommunale Ansprechperson für Engagement",
    "Engagementförderung als Querschnittsaufgabe in der Verwaltung verankert",
    "Unterzeichnung der Gemeinsamen Erklärung zur Förderung des bürgerschaftlichen "
    "Engagements in NRW",
    "Teilnahme am Programm Ehrenamtskarte NRW, geplante Einführung der Ehrenamtskarte oder "
    "ein vergleichbares Instrument der Anerkennung",
    "kontinuierliche Mitarbeit im Netzwerk",
)
_FOOTER = (
    "Forum für soziale Innovation gGmbH · Musterstraße 1 · 42103 Wuppertal",
    "Telefon 0202 000000-0 · ews@example.org · www.engagiert-in-nrw.de",
)


def signed_payload(az: str, ags: str) -> str:
    """The code the office prints (checksum under ``KEY``)."""
    return qr_payload(az, ags, KEY.encode())


def checksum(az: str, ags: str) -> str:
    return payload_checksum(az, ags, KEY.encode())


def forged_payload(az: str, ags: str) -> str:
    """A code made up by someone without the office's key: the checksum is wrong."""
    return qr_payload(az, ags, FORGER_KEY.encode())


def altered_payload(az: str, ags: str, other_ags: str) -> str:
    """The office's code for ``ags``, with the municipality key changed to ``other_ags``."""
    return signed_payload(az, ags).replace(f"|{ags}|", f"|{other_ags}|")


def unsigned_payload(az: str, ags: str) -> str:
    """A code as printed before there were checksums."""
    return f"{PAYLOAD_PREFIX}|{az}|{ags}"


@dataclass(frozen=True)
class Declaration:
    """What the office prints and the municipality fills in before signing."""

    az: str = "13.0.70-007/2027"
    ags: str = "05914000"
    kommune: str = "Stadt Hagen"
    name: str = "Erik O. Schulz"
    function: str = "Oberbürgermeister"
    contact: str = "Maria Beispiel"
    #: what the municipality wrote after „Ort, Datum:“; empty leaves the printed line
    date_text: str = ""
    #: (e) True: the date looks handwritten (a chancery face), added after printing
    handwritten_date: bool = False
    signed: bool = True


HAGEN = Declaration(date_text="Hagen, 12.05.2027")


# --- the document with its text layer ------------------------------------------------------


def _register_fonts() -> None:
    if "Liberation" in pdfmetrics.getRegisteredFontNames():
        return
    pdfmetrics.registerFont(TTFont("Liberation", str(_FONTS / "LiberationSans-Regular.ttf")))
    pdfmetrics.registerFont(TTFont("Liberation-Bold", str(_FONTS / "LiberationSans-Bold.ttf")))
    face = pdfmetrics.EmbeddedType1Face(str(_HAND_AFM), str(_HAND_PFB))
    pdfmetrics.registerTypeFace(face)
    pdfmetrics.registerFont(pdfmetrics.Font("Hand", face.name, "WinAnsiEncoding"))


def declaration_pdf(
    declaration: Declaration = HAGEN, *, qr: bool = True, qr_text: str | None = None
) -> bytes:
    """(a) The document laid out like the office's template, filled and signed (reportlab).

    ``qr_text`` replaces the code's payload (another Az., someone else's code).
    """
    _register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    width, height = A4
    if qr:
        payload = qr_text or signed_payload(declaration.az, declaration.ags)
        image = ImageReader(io.BytesIO(qr_png(payload)))
        canvas.drawImage(image, width - 50 * mm, height - 48 * mm, 30 * mm, 30 * mm)
    page = _Writer(canvas, height - 27 * mm)
    page.paragraph(TITLE, "Liberation-Bold", 15, width=115 * mm, leading=19)
    page.paragraph(SUBTITLE, "Liberation-Bold", 12, space=14)
    page.paragraph(f"Die Kommune {declaration.kommune} tritt dem Kommunen-Netzwerk: engagiert in "
                   "NRW bei und unterzeichnet die Gemeinsame Erklärung zur Förderung des "
                   "bürgerschaftlichen Engagements in NRW. Der Wortlaut der Gemeinsamen "
                   "Erklärung liegt bei.", "Liberation", 10.5, space=10)  # fmt: skip
    page.paragraph("Kriterien für die Mitgliedschaft im Netzwerk (zur Information)",
                   "Liberation-Bold", 9.5)  # fmt: skip
    for criterion in _CRITERIA:
        page.paragraph(f"•  {criterion}", "Liberation", 9.5, space=0)
    page.paragraph("Angaben der Kommune und Unterschrift der Hauptverwaltungsbeamtin oder des "
                   "Hauptverwaltungsbeamten", "Liberation-Bold", 9.5, space=14)  # fmt: skip
    for label, value in _field_lines(declaration):
        if label == "Unterschrift":
            page.y -= 30  # room for the signature
        page.field(label, value)
        if label == "Ort, Datum":
            _write_date(canvas, declaration, page.y + 22)
    if declaration.signed:
        _draw_signature(canvas, 52 * mm, page.y + 4)
    page.paragraph("Bitte unterschreiben Sie die Erklärung und senden Sie sie eingescannt an "
                   "ews@example.org oder per Post an uns zurück. Der QR-Code oben rechts ordnet "
                   "Ihre Erklärung automatisch zu; bitte nicht überkleben.", "Liberation", 9,
                   space=8)  # fmt: skip
    canvas.setFont("Liberation", 7)
    for number, line in enumerate(_FOOTER):
        canvas.drawCentredString(width / 2, 22 * mm - number * 9, line)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


@dataclass
class _Writer:
    """Lines down the page from ``y``, left-aligned at 20 mm."""

    canvas: Canvas
    y: float
    left: float = 20 * mm

    def paragraph(self, text: str, font: str, size: float, *, width: float = 170 * mm,
                  leading: float | None = None, space: float = 6) -> None:  # fmt: skip
        self.y -= space
        self.canvas.setFont(font, size)
        for line in simpleSplit(text, font, size, width):
            self.y -= leading or size * 1.3
            self.canvas.drawString(self.left, self.y, line)

    def field(self, label: str, value: str) -> None:
        """A bold label and its value, as the template prints them."""
        self.y -= 22
        self.canvas.setFont("Liberation-Bold", 12)
        self.canvas.drawString(self.left, self.y, f"{label}:")
        offset = pdfmetrics.stringWidth(f"{label}: ", "Liberation-Bold", 12)
        self.canvas.setFont("Liberation", 12)
        self.canvas.drawString(self.left + offset, self.y, value)


def _field_lines(declaration: Declaration) -> list[tuple[str, str]]:
    typed_date = declaration.date_text if not declaration.handwritten_date else ""
    return [
        ("Kommune", declaration.kommune),
        ("Amtlicher Gemeindeschlüssel", declaration.ags),
        ("Aktenzeichen", declaration.az),
        ("Name", declaration.name),
        ("Funktion", declaration.function),
        ("Ansprechperson für Engagement", declaration.contact),
        ("Ort, Datum", typed_date or BLANK),
        ("Unterschrift", BLANK),
    ]


def _write_date(canvas: Canvas, declaration: Declaration, y: float) -> None:
    """A handwritten date sits on the printed fill-in line, slightly above it."""
    if not (declaration.handwritten_date and declaration.date_text):
        return
    canvas.setFont("Hand", 17)
    x = 20 * mm + pdfmetrics.stringWidth("Ort, Datum: ", "Liberation-Bold", 12)
    canvas.drawString(x + 6, y - 22 + 4, declaration.date_text)


def _draw_signature(canvas: Canvas, x: float, y: float) -> None:
    """A pen stroke over the signature line."""
    canvas.setLineWidth(1.3)
    path = canvas.beginPath()
    path.moveTo(x, y)
    path.curveTo(x + 15, y + 25, x + 25, y - 10, x + 40, y + 12)
    path.curveTo(x + 55, y + 30, x + 60, y - 8, x + 90, y + 6)
    path.curveTo(x + 100, y + 10, x + 110, y, x + 130, y + 3)
    canvas.drawPath(path)


# --- scans -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scan:
    """How the paper went through the scanner."""

    dpi: int = 200
    angle: float = 1.2
    blur: float = 0.6
    noise: int = 1500
    jpeg_quality: int = 70
    upside_down: bool = False
    seed: int = 11


def scanned(data: bytes, scan: Scan = Scan()) -> bytes:
    """(b) ``data`` printed and scanned: grayscale, skewed, dusty, blurred, JPEG in a PDF."""
    pages = [_degraded(page, scan) for page in rendered_pages(data, dpi=scan.dpi)]
    return _image_pdf(pages, scan.dpi, scan.jpeg_quality)


@cache
def scanned_declaration(declaration: Declaration = HAGEN, scan: Scan = Scan()) -> bytes:
    return scanned(declaration_pdf(declaration), scan)


@cache
def stamped_scan(declaration: Declaration = HAGEN, scan: Scan = Scan()) -> bytes:
    """(c) A receipt stamp pressed over the QR code before scanning: the code is unreadable."""
    page = rendered_pages(declaration_pdf(declaration), dpi=scan.dpi)[0].convert("L")
    _stamp(page, scan.dpi)
    return _image_pdf([_degraded(page, scan)], scan.dpi, scan.jpeg_quality)


@cache
def phone_photo(declaration: Declaration = HAGEN, *, long_side: int = 1600) -> bytes:
    """(d) A phone photo sent by messenger: ~135 dpi, keystone, shadow, soft, strong JPEG."""
    page = rendered_pages(declaration_pdf(declaration), dpi=300)[0].convert("L")
    page = _keystoned(page, 0.025)
    size = (round(page.width * long_side / page.height), long_side)
    page = page.resize(size, Image.Resampling.LANCZOS).rotate(
        -1.8, resample=Image.Resampling.BICUBIC, fillcolor=235
    )
    page = _shaded(page).filter(ImageFilter.GaussianBlur(0.7))
    dpi = round(long_side / (A4[1] / 72))
    return _image_pdf([page], dpi, jpeg_quality=55)


@cache
def upside_down_scan(declaration: Declaration = HAGEN) -> bytes:
    """(f) The sheet fed into the scanner head first: the page image is turned by 180°."""
    return scanned(declaration_pdf(declaration), Scan(upside_down=True, angle=0.8, seed=5))


def _degraded(page: Image.Image, scan: Scan) -> Image.Image:
    rng = random.Random(scan.seed)
    page = page.convert("L").rotate(scan.angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
    draw = ImageDraw.Draw(page)
    for _ in range(scan.noise):
        x, y = rng.randrange(page.width), rng.randrange(page.height)
        draw.point((x, y), fill=rng.randrange(40, 200))
    page = page.filter(ImageFilter.GaussianBlur(scan.blur))
    return page.rotate(180) if scan.upside_down else page


def _stamp(page: Image.Image, dpi: int) -> None:
    """An inked receipt stamp („Eingegangen“) covering most of the QR code, top right."""
    px = dpi / 25.4
    stamp = Image.new("L", (round(52 * px), round(24 * px)), 0)
    draw = ImageDraw.Draw(stamp)
    draw.rounded_rectangle((2, 2, stamp.width - 3, stamp.height - 3), radius=round(3 * px),
                           outline=255, width=max(2, round(0.8 * px)))  # fmt: skip
    draw.rectangle((round(3 * px), round(9 * px), stamp.width - round(3 * px),
                    round(15 * px)), fill=255)  # fmt: skip
    font = ImageFont.truetype(str(_STAMP_FONT), round(4.5 * px))
    draw.text((round(5 * px), round(2.5 * px)), "EINGEGANGEN", fill=255, font=font)
    draw.text((round(5 * px), round(16.5 * px)), "Programmbüro EWS", fill=255, font=font)
    stamp = stamp.rotate(14, expand=True, resample=Image.Resampling.BICUBIC)
    ink = Image.new("L", stamp.size, 95)
    page.paste(ink, (page.width - round(62 * px), round(23 * px)), stamp)


def _keystoned(page: Image.Image, amount: float) -> Image.Image:
    """The page photographed from slightly below its centre: the top edge appears narrower."""
    w, h = page.size
    inset = w * amount
    quad = (-inset, 0, -inset * 0.3, h, w + inset * 0.3, h, w + inset, 0)
    return page.transform(page.size, Image.Transform.QUAD, quad,
                          Image.Resampling.BICUBIC, fillcolor=235)  # fmt: skip


def _shaded(page: Image.Image) -> Image.Image:
    """Uneven light: grey paper and washed-out ink, a shadow over the lower left corner."""
    w, h = page.size
    rising = Image.linear_gradient("L")  # black at the top, white at the bottom
    across = ImageChops.add(rising.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
                            rising.rotate(90), scale=2)  # fmt: skip
    light = across.resize((w, h)).point(lambda v: 135 + v * 110 // 255)
    page = page.point(lambda v: 40 + v * 215 // 255)
    return ImageChops.multiply(page, light)


def _image_pdf(pages: list[Image.Image], dpi: int, jpeg_quality: int) -> bytes:
    """The page images as JPEGs in a PDF, the way scanner software wraps them (PIL)."""
    compressed = []
    for page in pages:
        buffer = io.BytesIO()
        page.convert("L").save(buffer, "JPEG", quality=jpeg_quality)
        compressed.append(Image.open(buffer))
    out = io.BytesIO()
    compressed[0].save(out, "PDF", resolution=dpi, save_all=True,
                       append_images=compressed[1:])  # fmt: skip
    return out.getvalue()


@cache
def searchable_scan(
    declaration: Declaration = HAGEN, scan: Scan = Scan(), *, misread_az: str | None = None
) -> bytes:
    """(g) A "searchable PDF" as multifunction printers write it: the scan, and over it an
    invisible text layer from the printer's own OCR (reportlab, text render mode 3).

    ``misread_az`` is what that OCR made of the Az.
    """
    page = _degraded(rendered_pages(declaration_pdf(declaration), dpi=scan.dpi)[0], scan)
    jpeg = io.BytesIO()
    page.save(jpeg, "JPEG", quality=scan.jpeg_quality)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    canvas.drawImage(ImageReader(jpeg), 0, 0, *A4)
    text = canvas.beginText(20 * mm, A4[1] - 33 * mm)
    text.setTextRenderMode(3)
    text.setFont("Helvetica", 12)
    text.textLines(["Gemeinsame Erklärung zur Förderung des", "bürgerschaftlichen Engagements "
                    "in NRW", SUBTITLE, "", "", "", "", "", "", "", ""])  # fmt: skip
    for label, value in _field_lines(declaration):
        if label == "Aktenzeichen" and misread_az:
            value = misread_az
        text.textLine(f"{label}: {value}")
    canvas.drawText(text)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


@cache
def office_declaration(declaration: Declaration = HAGEN) -> bytes:
    """(h) The office's own template as it is sent out: docxtpl, then LibreOffice (PDF/A).

    Name and function are pre-filled; „Ort, Datum“ stays a blank line.
    """
    data = sample_letter_data(LetterKind.GEMEINSAME_ERKLAERUNG).model_copy(update={
        "reference": declaration.az, "ags": declaration.ags,
        "kommune_name": declaration.kommune, "hvb_name": declaration.name,
        "hvb_function": declaration.function, "contact_person": declaration.contact,
        "qr_payload": signed_payload(declaration.az, declaration.ags),
    })  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        docx = render_letter(data, OfficeSettings(), TEMPLATES, Path(folder) / "erklaerung.docx")
        pdfs = convert_to_pdfa([docx], soffice="soffice", profile_dir=Path(folder) / "profil",
                               timeout=120)  # fmt: skip
        return pdfs[0].read_bytes()


def foreign_codes_pdf() -> bytes:
    """A page with other people's QR codes: a web address and a Swiss QR bill (reportlab)."""
    bill = "\n".join(["SPC", "0200", "1", "CH4431999123000889012", "S", "Robert Schneider AG",
                      "Rue du Lac", "1268", "2501", "Biel", "CH", "", "", "", "", "", "", "",
                      "1949.75", "CHF", "", "", "", "", "", "", "", "NON", "", "",
                      "EPD"])  # fmt: skip
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    for index, payload in enumerate(["https://www.engagiert-in-nrw.de/netzwerk", bill]):
        image = ImageReader(io.BytesIO(qr_png(payload)))
        canvas.drawImage(image, 20 * mm + index * 60 * mm, 220 * mm, 40 * mm, 40 * mm)
    canvas.drawString(20 * mm, 200 * mm, "Rechnung 2027-0815, zahlbar innert 30 Tagen")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
