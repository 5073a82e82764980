"""Test-only corpus: the office's form filled, saved and printed by real PDF programs.

The blank form that ``ews vorlagen formular`` writes is filled with generated value sets (the
names of NRW's residents: Turkish, Polish, Czech, Greek and Arabic names in Latin script, NFC
and NFD, long and multi-line texts) and run through the programs municipalities use: pdftk-java,
Ghostscript, Poppler, qpdf, MuPDF, LibreOffice Draw and Chromium. Runs those programs in a
temporary folder (subprocesses). A program that is not installed raises ``ProgramMissing``; one
that runs but cannot do the job raises ``ProgramCannot``: the tests skip with that reason.

The form's fields draw with an embedded Liberation Sans (``ews.letters.form_font``). Every
program here that draws the values (flatten, print, re-export) draws what pdftk-java put into
the appearance streams, and pdftk-java encodes only letters its Adobe glyph list names: ḥ, Ḫ,
ʿ, Ț and the combining accents of NFD text (but the acute) have no name there and vanish.
``drawn_by_pdftk`` is what such a page shows, and so what any reader can read from it.

Longer than 300 lines because the value sets, what each program keeps of them and the eleven
program runs are one corpus, read together.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth

from ews.core.form_contract import CHECKBOX_FIELDS, LABELS, MULTILINE_FIELDS
from ews.letters.blank_form import build_blank_form
from ews.letters.form_font import FIELD_LETTERS

ROUND = "EWS 6"
Values = dict[str, str | bool]

_CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                   "--no-first-run", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync"]  # fmt: skip

_FILL_JS = r"""
// mutool run fill.js IN.pdf VALUES.json OUT.pdf: values keyed by the field's tooltip (label)
var doc = new PDFDocument(scriptArgs[0]);
var values = JSON.parse(read(scriptArgs[1]));
for (var i = 0; i < doc.countPages(); i++) {
  var page = doc.loadPage(i);
  var widgets = page.getWidgets();
  for (var j = 0; j < widgets.length; j++) {
    var w = widgets[j];
    var label = w.getLabel();
    if (!(label in values)) continue;
    var v = values[label];
    var kind = w.getFieldType();
    if (kind == "checkbox") { if (v) w.toggle(); }
    else if (kind == "combobox") w.setChoiceValue(v);
    else w.setTextValue(v);
    w.update();
  }
  page.update();
}
doc.save(scriptArgs[2], "");
"""


class ProgramMissing(Exception):
    """The program is not installed (its German reason names it)."""


class ProgramCannot(Exception):
    """The program ran but cannot produce this variant (German reason)."""


@dataclass(frozen=True)
class Program:
    """One way a municipality's program turns the filled form into the file it sends."""

    name: str
    tool: str
    keeps_fields: bool  # the AcroForm survives; otherwise the values are drawn with the font
    make: Callable[[Values, Path], bytes]


# --- value sets -------------------------------------------------------------------------------

_NAMES: dict[str, tuple[str, ...]] = {
    "türkisch": ("Özlem Çelik", "Şükrü Yılmaz", "Gülşen Ağaoğlu", "İsmail Öztürk",
                 "Çağla Doğan", "Ayşe Kılıç"),
    "polnisch": ("Łukasz Wójcik", "Małgorzata Brzęczyszczykiewicz", "Żaneta Ślązak",
                 "Grzegorz Łęcki", "Agnieszka Dąbrowska"),
    "tschechisch": ("Jiří Dvořák", "Řehoř Šťastný", "Kateřina Nováková", "Zdeněk Čermák",
                    "Lucie Růžičková"),
    "griechisch": ("Geórgios Papadópoulos", "Eléni Chatzidáki", "Dimítrios Karamanlís",
                   "Sofía Oikonómou"),
    "arabisch": ("ʿAbd al-Raḥmān", "Aḥmad Ḫalīl", "Ḥasan ʿAlī", "Fāṭima az-Zahrāʾ"),
    "deutsch": ("Jürgen Weiß", "Änne Schröder-Öztürk", "Björn Groß", "Käthe Müßig"),
}  # fmt: skip
_KOMMUNEN = (("Stadt Lüdenscheid", "Lüdenscheid", "58507", "05962032", "Arnsberg"),
             ("Gemeinde Möhnesee", "Möhnesee", "59519", "05974032", "Arnsberg"),
             ("Stadt Düsseldorf", "Düsseldorf", "40213", "05111000", "Düsseldorf"),
             ("Stadt Gütersloh", "Gütersloh", "33330", "05754008", "Detmold"),
             ("Kreis Höxter", "Höxter", "37671", "05762000", "Detmold"),
             ("Stadt Köln", "Köln", "50667", "05315000", "Köln"))  # fmt: skip
_FUNCTIONS = ("Bürgermeisterin", "Bürgermeister", "Landrätin", "Fachbereichsleiterin Soziales",
              "Sachbearbeiter Ehrenamtsbüro", "Leiterin Stabsstelle Bürgerbeteiligung")
_SENTENCES = ("Wir möchten das bürgerschaftliche Engagement strategisch stärken.",
              "Viele Vereine suchen Nachwuchs, besonders im ländlichen Raum.",
              "Unsere Stadtgesellschaft ist vielfältig: über 40 Sprachen, große Gemeinden.",
              "Die Ehrenamtsbörse vermittelt jährlich über 300 Freiwillige.",
              "Integrationsrat und Seniorenbeirat arbeiten eng zusammen.",
              "Straßenfeste, Sportvereine und Moscheegemeinden tragen das Quartier.")  # fmt: skip
#: the motivation box: text width (points, Helvetica 10) and the lines it shows
_BOX_WIDTH = 475.0
_BOX_LINES = 17
THEMES = ("türkisch", "polnisch", "tschechisch", "griechisch", "arabisch", "nfd", "lang")


def value_set(theme: str, seed: int) -> Values:
    """A complete application with the names of one theme, varied by ``seed``.

    ``nfd``: names of every theme in decomposed form; ``lang``: the longest values (300
    characters in one-line fields, the most lines the motivation box shows).
    """
    rng = random.Random(f"{theme}-{seed}")
    pool = _NAMES["türkisch"] + _NAMES["polnisch"] + _NAMES["tschechisch"] if theme in (
        "nfd", "lang") else _NAMES[theme] + _NAMES["deutsch"][:1]
    names = [rng.choice(pool) for _ in range(4)]
    kommune, ort, plz, ags, bezirk = rng.choice(_KOMMUNEN)
    mailbox = _ascii(names[1].split()[-1].lower()) or "team"
    values: Values = {
        "runde": ROUND, "kommune_name": kommune, "kommune_typ": kommune.split()[0],
        "ags": ags, "regierungsbezirk": bezirk,
        "einwohnerzahl": f"{rng.randrange(5, 999)}.{rng.randrange(100, 999)}",
        "strasse": rng.choice(("Rathausplatz 2", "Marktstraße 1", "Königsallee 12a")),
        "plz": plz, "ort": ort, "hvb_anrede": rng.choice(("Herr", "Frau")),
        "hvb_name": names[0], "hvb_funktion": rng.choice(_FUNCTIONS),
        "team1_name": names[1], "team1_funktion": rng.choice(_FUNCTIONS),
        "team1_email": f"{mailbox}@{_ascii(ort.lower())}.de",
        "team1_telefon": f"0{rng.randrange(200, 999)} {rng.randrange(10, 99)}-"
                         f"{rng.randrange(1000, 9999)}",
        "team2_name": names[2], "team2_funktion": rng.choice(_FUNCTIONS),
        "team2_email": f"team2.{rng.randrange(10, 99)}@example.de",
        "team2_telefon": f"(0{rng.randrange(200, 999)}) {rng.randrange(100000, 999999)}",
        "motivation": _paragraphs(rng, names, count=5, least=2) if theme == "lang"
                      else _paragraphs(rng, names, count=rng.randrange(1, 4)),
        "strukturen": _paragraphs(rng, names, count=rng.randrange(1, 3)),
        "ehrenamtskarte": rng.random() < 0.5, "freistellung": True, "datenschutz": True,
        "ort_datum": f"{ort}, {rng.randrange(1, 28):02d}.02.2027", "unterzeichner": names[3],
    }  # fmt: skip
    if theme == "lang":
        values["team1_funktion"] = _long_line(rng, 300)
        values["strasse"] = _long_line(rng, 120)
    if theme == "nfd":
        values = {k: unicodedata.normalize("NFD", v) if isinstance(v, str) else v
                  for k, v in values.items()}  # fmt: skip
    return values


def _paragraphs(rng: random.Random, names: list[str], *, count: int, least: int = 1) -> str:
    """``count`` paragraphs of ``least`` to three sentences (long ones wrap in the box),
    separated by a line break or an empty line; at most ``_BOX_LINES`` lines as the box shows.

    Where a paragraph ends, its last line and the next word must leave room on the line:
    otherwise no reader (and no person) can tell the break from a wrap on a printed page.
    """
    paragraphs: list[str] = []
    for index in range(count):
        for _attempt in range(20):
            sentences = [rng.choice(_SENTENCES) for _ in range(rng.randrange(least, 4))]
            if index == 0:
                sentences[0] = f"Ansprechperson ist {rng.choice(names)}, Kontakt s. o."
            paragraph = " ".join(sentences)
            if _leaves_room(paragraph, "Ansprechperson") and _box_lines(
                    [*paragraphs, paragraph]) <= _BOX_LINES:
                paragraphs.append(paragraph)
                break
    text = paragraphs[0]
    for paragraph in paragraphs[1:]:
        text += rng.choice(("\n", "\n\n")) + paragraph
    return text


def _leaves_room(paragraph: str, next_word: str) -> bool:
    """For every box width a program may wrap at, and with or without the letters pdftk drops,
    the paragraph's last line leaves room for the next word (Liberation Sans has Helvetica's
    metrics)."""
    for text in (paragraph, drawn_by_pdftk(paragraph)):
        for width in (_BOX_WIDTH - 15, _BOX_WIDTH - 5, _BOX_WIDTH, _BOX_WIDTH + 8):
            last = simpleSplit(text, "Helvetica", 10, width)[-1]
            if stringWidth(f"{last} {next_word}", "Helvetica", 10) >= width - 40:
                return False
    return True


def _box_lines(paragraphs: list[str]) -> int:
    return sum(len(simpleSplit(p, "Helvetica", 10, _BOX_WIDTH)) + 1 for p in paragraphs)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _long_line(rng: random.Random, length: int) -> str:
    words: list[str] = []
    while len(" ".join(words)) < length:
        words.append(rng.choice(" ".join(_SENTENCES).split()))
    return " ".join(words)[:length].rstrip()


def expected(values: Values, program: Program) -> Values:
    """What a reader can read from that program's file: NFC; for drawn values only the letters
    pdftk-java draws (all drawing programs here draw its appearance streams), and the line
    structure as drawn."""
    result: Values = {}
    for name, value in values.items():
        if isinstance(value, str) and not program.keeps_fields:
            value = drawn_by_pdftk(value)
        if isinstance(value, str):
            value = unicodedata.normalize("NFC", value)
            value = value.strip() if name in MULTILINE_FIELDS else " ".join(value.split())
        result[name] = value if value != "" else None
    return result


def drawn_by_pdftk(text: str) -> str:
    """The text as pdftk-java draws it with the form's field font.

    pdftk-java (iText 2) encodes a letter only if the font's encoding names it with a glyph
    name of its own Adobe glyph list; the field font encodes WinAnsi and 57 more letters
    (``FIELD_LETTERS``); what has no such name (ḥ, Ḫ, ʿ, most combining accents) vanishes.
    """
    return "".join(char for char in text if char in "\n\r" or char in FIELD_LETTERS)


# --- the programs -----------------------------------------------------------------------------


@cache
def blank_form() -> bytes:
    return build_blank_form(ROUND)


def _run(
    command: list[str], tool: str, *, timeout: float = 120
) -> subprocess.CompletedProcess[bytes]:
    if shutil.which(command[0]) is None:
        raise ProgramMissing(f"{tool} ({command[0]}) nicht installiert")
    result = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise ProgramCannot(f"{tool} endete mit Fehlercode {result.returncode}: "
                            f"{result.stderr.decode(errors='replace')[-300:]}")
    return result


def _xfdf(values: Values) -> str:
    fields = []
    for name, value in values.items():
        text = ("Yes" if value else "Off") if name in CHECKBOX_FIELDS else str(value)
        fields.append(f'<field name="{name}"><value>{escape(text)}</value></field>')
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<xfdf xmlns="http://ns.adobe.com/xfdf/" '
            f'xml:space="preserve"><fields>{"".join(fields)}</fields></xfdf>')


def _pdftk(values: Values, folder: Path, *options: str) -> Path:
    """pdftk's file of the filled form in ``folder`` (one pdftk run per value set and options)."""
    target = folder / "pdftk.pdf"
    target.write_bytes(_pdftk_bytes(json.dumps(values, ensure_ascii=False), options))
    return target


@cache
def _pdftk_bytes(values_json: str, options: tuple[str, ...]) -> bytes:
    values = json.loads(values_json)
    with tempfile.TemporaryDirectory(prefix="ews-pdftk-") as tmp:
        folder = Path(tmp)
        blank, data, target = folder / "blank.pdf", folder / "werte.xfdf", folder / "pdftk.pdf"
        blank.write_bytes(blank_form())
        data.write_text(_xfdf(values), encoding="utf-8")
        _run(["pdftk", str(blank), "fill_form", str(data), "output", str(target), *options],
             "pdftk-java")
        return target.read_bytes()


def pdftk_fill(values: Values, folder: Path) -> bytes:
    return _pdftk(values, folder).read_bytes()


def pdftk_flatten(values: Values, folder: Path) -> bytes:
    return _pdftk(values, folder, "flatten").read_bytes()


def pdftk_need_appearances(values: Values, folder: Path) -> bytes:
    return _pdftk(values, folder, "need_appearances").read_bytes()


def gs_printed(values: Values, folder: Path) -> bytes:
    """Ghostscript's pdfwrite of the filled form: "print to PDF"."""
    target = folder / "gedruckt.pdf"
    _run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite", "-dPrinted",
          f"-sOutputFile={target}", str(_pdftk(values, folder))], "Ghostscript")
    return target.read_bytes()


def pdftocairo(values: Values, folder: Path) -> bytes:
    target = folder / "cairo.pdf"
    _run(["pdftocairo", "-pdf", str(_pdftk(values, folder)), str(target)], "Poppler")
    return target.read_bytes()


def qpdf_linearized(values: Values, folder: Path) -> bytes:
    target = folder / "qpdf.pdf"
    _run(["qpdf", "--object-streams=generate", "--linearize", str(_pdftk(values, folder)),
          str(target)], "qpdf")
    return target.read_bytes()


def qpdf_qdf(values: Values, folder: Path) -> bytes:
    target = folder / "qdf.pdf"
    _run(["qpdf", "--qdf", str(_pdftk(values, folder)), str(target)], "qpdf")
    return target.read_bytes()


def mutool_clean(values: Values, folder: Path) -> bytes:
    target = folder / "clean.pdf"
    _run(["mutool", "clean", "-gggg", "-z", str(_pdftk(values, folder)), str(target)],
         "MuPDF")
    return target.read_bytes()


def mutool_fill(values: Values, folder: Path) -> bytes:
    """MuPDF fills the blank form itself (``mutool run`` with a JavaScript)."""
    blank, script = folder / "blank.pdf", folder / "fill.js"
    data, target = folder / "werte.json", folder / "mutool.pdf"
    blank.write_bytes(blank_form())
    script.write_text(_FILL_JS, encoding="utf-8")
    by_label = {LABELS[name]: value for name, value in values.items()}
    data.write_text(json.dumps(by_label, ensure_ascii=False), encoding="utf-8")
    _run(["mutool", "run", str(script), str(blank), str(data), str(target)], "MuPDF")
    return target.read_bytes()


def libreoffice_draw(values: Values, folder: Path) -> bytes:
    """LibreOffice Draw opens the filled form and exports it as PDF again."""
    source = _pdftk(values, folder)
    profile = (folder / "lo-profil").as_uri()
    _run(["soffice", f"-env:UserInstallation={profile}", "--headless",
          "--infilter=draw_pdf_import", "--convert-to", "pdf:draw_pdf_Export",
          "--outdir", str(folder / "lo"), str(source)], "LibreOffice Draw")
    return (folder / "lo" / source.name).read_bytes()


def chromium_print(values: Values, folder: Path) -> bytes:
    """Chromium headless "print to PDF" of the filled form, as a browser prints it."""
    source, target = _pdftk(values, folder), folder / "chromium.pdf"
    _run(["chromium", *_CHROMIUM_FLAGS, f"--user-data-dir={folder / 'chromium-profil'}",
          f"--print-to-pdf={target}", source.as_uri()], "Chromium")
    data = target.read_bytes()
    text = _run(["pdftotext", str(target), "-"], "Poppler").stdout.decode(errors="replace")
    if "Bewerbungsbogen" not in text:
        raise ProgramCannot(
            "Chromium druckt PDF-Dateien headless nicht: sein PDF-Betrachter läuft im "
            "Headless-Modus nicht, die gedruckte Seite ist leer (nur Kopf- und Fußzeile)")
    return data


PROGRAMS: tuple[Program, ...] = (
    Program("pdftk-ausfüllen", "pdftk", True, pdftk_fill),
    Program("pdftk-flatten", "pdftk", False, pdftk_flatten),
    Program("pdftk-need_appearances", "pdftk", True, pdftk_need_appearances),
    Program("gs-gedruckt", "gs", False, gs_printed),
    Program("pdftocairo", "pdftocairo", False, pdftocairo),
    Program("qpdf-linearisiert", "qpdf", True, qpdf_linearized),
    Program("qpdf-qdf", "qpdf", True, qpdf_qdf),
    Program("mutool-clean", "mutool", True, mutool_clean),
    Program("mutool-ausfüllen", "mutool", True, mutool_fill),
    Program("libreoffice-draw", "soffice", False, libreoffice_draw),
    Program("chromium-drucken", "chromium", False, chromium_print),
)


def produced(program: Program, values: Values) -> bytes:
    """The file ``program`` makes of the form filled with ``values`` (in a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="ews-programme-") as folder:
        return program.make(values, Path(folder))
