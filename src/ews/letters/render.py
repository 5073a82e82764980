"""Letters: the template context (pure) and its rendering with docxtpl (reads templates, writes
.docx files).

Templates are staff-editable Word files ``<templates_dir>/<LetterKind value>.docx`` built by
``scripts/build_templates.py``; their placeholders are the German keys of ``letter_context``.
They render in a sandboxed Jinja environment with ``StrictUndefined`` and autoescaping, so values
from applications (``{{ 7*7 }}``, ``<w:t>``, ``&``) appear literally and the XML stays valid.
"""

from __future__ import annotations

import difflib
import functools
import html
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_date, format_time
from docx.opc.exceptions import PackageNotFoundError
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from jinja2.sandbox import SandboxedEnvironment
from lxml import etree
from pydantic import AwareDatetime, BaseModel, Field, field_validator

from ews.core.errors import ConfigurationError, TemplateError
from ews.core.models import LetterKind, Recipient
from ews.runtime.folders import write_atomic
from ews.runtime.settings import OfficeSettings

BERLIN = ZoneInfo("Europe/Berlin")
LOCALE = "de_DE"
MAX_ADDRESS_LINES = 6
# XML 1.0 forbids these; \t and \n stay (docxtpl turns them into tabs and line breaks).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TEXT_PART = re.compile(r"word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml")
_LEFTOVER_TAG = re.compile(r"\{\s*[{%#]|[}%#]\s*\}")
_RETYPE_HINT = (
    "Tippen Sie den Platzhalter am besten in einem Zug neu ein: zwei geschweifte Klammern auf "
    "jeder Seite, ohne Leerzeichen zwischen den Klammern, ohne Zeilenumbruch, mit geraden "
    "Anführungszeichen, z. B. {{ unser_zeichen }}."
)
#: Jinja's English syntax messages -> what staff should fix ({0} = the name Jinja reports)
_SYNTAX_PROBLEMS = [
    (
        re.compile(r"block that needs to be closed is '(\w+)'"),
        "Zu einer Anweisung „{{%p {0} … %}}“ fehlt das passende „{{%p end{0} %}}“.",
    ),
    (re.compile(r"No filter named '([^']+)'"), "Der Filter „{0}“ ist unbekannt."),
    (
        re.compile(r"Encountered unknown tag '([^']+)'"),
        "Die Anweisung „{0}“ ist unbekannt oder steht an der falschen Stelle.",
    ),
]


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


def template_path(templates_dir: Path, kind: LetterKind) -> Path:
    return templates_dir / f"{kind.value}.docx"


def render_letter(
    data: LetterData, office: OfficeSettings, templates_dir: Path, out_path: Path
) -> Path:
    """Renders the letter to ``out_path`` (.docx, folder created as needed), written under a
    temporary name first."""
    return write_atomic(out_path, letter_bytes(data, office, templates_dir))


def letter_bytes(data: LetterData, office: OfficeSettings, templates_dir: Path) -> bytes:
    """The letter as a .docx."""
    return _render_docx(template_path(templates_dir, data.kind), letter_context(data, office))


def check_templates(templates_dir: Path, office: OfficeSettings) -> list[str]:
    """German descriptions of every problem found in the letter templates; ``[]`` when fine."""
    problems: list[str] = []
    for kind in LetterKind:
        path = template_path(templates_dir, kind)
        if not path.is_file():
            problems.append(f"Briefvorlage „{path.name}“ fehlt im Ordner {templates_dir}.")
            continue
        problems.extend(_template_problems(path, letter_context(sample_letter_data(kind), office)))
    return problems


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


def _template_problems(path: Path, context: dict[str, object]) -> list[str]:
    undeclared = _undeclared_variables(path, context)
    problems = [
        f"Briefvorlage „{path.name}“: {_describe_undefined(name, context)}"
        for name in sorted(undeclared)
    ]
    filled = {**context, **{name: "" for name in undeclared}}
    try:
        content = _render_docx(path, filled)
    except TemplateError as exc:
        return [*problems, str(exc)]
    return problems + [
        f"Briefvorlage „{path.name}“: „{snippet}“ enthält einen Platzhalter, der nicht erkannt "
        f"wurde. {_RETYPE_HINT}"
        for snippet in _leftover_tags(content)
    ]


def _undeclared_variables(path: Path, context: dict[str, object]) -> set[str]:
    """Unknown names in the template; errors are left to rendering, which explains them."""
    template = DocxTemplate(io.BytesIO(template_bytes(path)))
    try:
        names: set[str] = template.get_undeclared_template_variables(jinja_env(), context)
    except (jinja2.TemplateSyntaxError, PackageNotFoundError, zipfile.BadZipFile, KeyError):
        return set()
    return names


#: turns the context into what one template renders with (e.g. images only a template of
#: this document can hold); may raise TemplateError
Preparation = Callable[[DocxTemplate, dict[str, object]], dict[str, object]]


def _render_docx(path: Path, context: dict[str, object]) -> bytes:
    return render_docx(path, context, prepare=_with_qr_image)


def render_docx(path: Path, context: dict[str, object], *, prepare: Preparation) -> bytes:
    """The template at ``path`` filled with ``context`` as .docx bytes; every template error
    becomes a TemplateError in German that names the template."""
    template = DocxTemplate(io.BytesIO(template_bytes(path)))
    try:
        template.init_docx()
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError) as exc:
        raise TemplateError(f"Briefvorlage „{path.name}“ ist keine lesbare Word-Datei.") from exc
    context = prepare(template, context)
    try:
        template.render(context, jinja_env=jinja_env())
    except (jinja2.TemplateError, etree.XMLSyntaxError, TypeError, ValueError) as exc:
        raise TemplateError(
            f"Briefvorlage „{path.name}“: {describe_template_error(exc, context)}"
        ) from exc
    buffer = io.BytesIO()
    template.save(buffer)
    return buffer.getvalue()


def _with_qr_image(template: DocxTemplate, context: dict[str, object]) -> dict[str, object]:
    """The QR payload becomes an image of 30 mm (only a template of this document can hold
    it, hence here and not in ``letter_context``)."""
    payload = context.get("qr_code")
    if not isinstance(payload, str) or not payload:
        return context
    from ews.documents.declaration_scan import qr_png

    image = InlineImage(template, io.BytesIO(qr_png(payload)), width=Mm(30))
    return {**context, "qr_code": image}


def template_bytes(path: Path) -> bytes:
    try:
        status = path.stat()
    except FileNotFoundError as exc:
        raise ConfigurationError(f"Briefvorlage „{path.name}“ fehlt: {path}") from exc
    return _read_template(path.resolve(), status.st_mtime_ns, status.st_size)


@functools.lru_cache(maxsize=16)
def _read_template(path: Path, mtime_ns: int, size: int) -> bytes:
    """Cached per process; a changed file has a new mtime and size, hence a new key."""
    return path.read_bytes()


class _CompiledOnce(SandboxedEnvironment):
    """docxtpl compiles the same template XML for every letter; compile each source once per
    process (sources are keyed by their full text, so an edited template compiles anew)."""

    def __init__(self) -> None:
        super().__init__(autoescape=True, undefined=jinja2.StrictUndefined)
        self._compiled: dict[str, jinja2.Template] = {}

    def from_string(self, source: str | jinja2.nodes.Template, globals: Any = None,
                    template_class: Any = None) -> jinja2.Template:
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        if source not in self._compiled:
            if len(self._compiled) >= 64:
                self._compiled.clear()
            self._compiled[source] = super().from_string(source)
        return self._compiled[source]


@functools.cache
def jinja_env() -> SandboxedEnvironment:
    return _CompiledOnce()


def describe_template_error(exc: Exception, known: Iterable[str]) -> str:
    if isinstance(exc, jinja2.UndefinedError):
        return _describe_undefined(exc.message or "", known)
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return _describe_syntax(exc)
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return f"Der Platzhalter verwendet einen nicht erlaubten Ausdruck ({exc})."
    return f"Ein Platzhalter kann nicht ausgefüllt werden ({exc}). {_RETYPE_HINT}"


def _describe_undefined(message: str, known: Iterable[str]) -> str:
    attribute = re.search(r"has no attribute '([^']+)'", message)
    if attribute:
        return f"Der Platzhalter verwendet das unbekannte Feld „{attribute.group(1)}“."
    match = re.search(r"'([^']+)' is undefined", message)
    name = match.group(1) if match else message
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" Gemeint ist vielleicht „{{{{ {close[0]} }}}}“." if close else ""
    return f"Der Platzhalter „{{{{ {name} }}}}“ ist unbekannt.{hint}"


def _describe_syntax(exc: jinja2.TemplateSyntaxError) -> str:
    lines = (exc.source or "").splitlines()
    if "end of template" in (exc.message or ""):
        line = _unclosed_block(lines)  # Jinja points at the end, not at the opening tag
    else:
        line = lines[exc.lineno - 1] if 0 < exc.lineno <= len(lines) else ""
    text = html.unescape(re.sub(r"<[^>]+>", "", line)).strip()
    tags = re.findall(r"\{[{%#].*?(?:[}%#]\}|$)", text)
    where = f"Fehler bei „{_shortened(tags[0] if tags else text)}“" if text else "Fehler"
    for pattern, problem in _SYNTAX_PROBLEMS:
        match = pattern.search(exc.message or "")
        if match:
            return f"{where}: {problem.format(*match.groups())}"
    return (
        f"{where}: Der Platzhalter ist unvollständig oder fehlerhaft "
        f"(Meldung: {exc.message}). {_RETYPE_HINT}"
    )


def _unclosed_block(lines: list[str]) -> str:
    """The innermost ``{% if %}``/``{% for %}`` tag left open."""
    openers: list[str] = []
    for tag in re.finditer(r"\{%-?\s*(\w+).*?%\}", "\n".join(lines)):
        if tag.group(1) in ("if", "for"):
            openers.append(tag.group(0))
        elif tag.group(1) in ("endif", "endfor") and openers:
            openers.pop()
    return openers[-1] if openers else ""


def _leftover_tags(content: bytes) -> list[str]:
    """Paragraphs with tag-like text left after rendering: tags Jinja did not recognise."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = [name for name in archive.namelist() if _TEXT_PART.fullmatch(name)]
        parts = [archive.read(name).decode("utf-8") for name in names]
    paragraphs = (re.sub(r"<[^>]+>", "", xml) for part in parts for xml in part.split("</w:p>"))
    return [
        _shortened(html.unescape(text).strip()) for text in paragraphs if _LEFTOVER_TAG.search(text)
    ]


def _shortened(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
