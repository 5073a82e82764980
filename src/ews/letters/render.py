"""Render the letter templates with docxtpl (reads templates, writes .docx files).

Templates are staff-editable Word files ``<templates_dir>/<LetterKind value>.docx`` built by
``scripts/build_templates.py``; their placeholders are the German keys of
``ews.letters.context.letter_context``. They render in a sandboxed Jinja environment with
``StrictUndefined`` and autoescaping, so values from applications (``{{ 7*7 }}``, ``<w:t>``,
``&``) appear literally and the XML stays valid.
"""

from __future__ import annotations

import functools
import hashlib
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import jinja2
from docx.opc.exceptions import PackageNotFoundError
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from jinja2.sandbox import SandboxedEnvironment
from lxml import etree

from ews.core.errors import ConfigurationError, TemplateError
from ews.core.models import LetterKind
from ews.core.templating import sandboxed_environment
from ews.letters.context import LetterData, letter_context
from ews.letters.prepared import Picture, PreparedTemplate, Unsupported, prepare, render
from ews.letters.qr import QR_MM, qr_png
from ews.letters.template_errors import describe_template_error
from ews.runtime.folders import write_atomic
from ews.runtime.settings import OfficeSettings


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
    return render_letter_docx(template_path(templates_dir, data.kind), letter_context(data, office))


#: turns the context into what one template renders with (e.g. images only a template of
#: this document can hold); may raise TemplateError
Preparation = Callable[[DocxTemplate, dict[str, object]], dict[str, object]]


#: placeholders of the letters that are drawn as images
_PICTURES = frozenset({"qr_code"})
#: what docxtpl raises about a template while rendering it
_RENDER_ERRORS = (jinja2.TemplateError, etree.XMLSyntaxError, TypeError, ValueError)


def render_letter_docx(path: Path, context: dict[str, object]) -> bytes:
    """A letter template filled with ``context`` (its QR code drawn as an image): from the
    template prepared once per process, or with docxtpl itself where that does not apply."""
    content, digest = _template_file(path)
    prepared = _prepared(digest, content)
    if prepared is not None:
        try:
            return render(prepared, context, _pictures(context))
        except Unsupported:
            pass
        except _RENDER_ERRORS as exc:
            raise TemplateError(
                f"Briefvorlage „{path.name}“: {describe_template_error(exc, context)}"
            ) from exc
    return _render_docx(content, path.name, context, _with_qr_image)


def render_letter_docx_unprepared(path: Path, context: dict[str, object]) -> bytes:
    """The same letter with docxtpl opening the template anew (the reference, and the bench's
    path before templates were prepared)."""
    return render_docx(path, context, prepare=_with_qr_image)


@functools.lru_cache(maxsize=16)
def _prepared(digest: str, content: bytes) -> PreparedTemplate | None:
    """The template prepared once per process and content (keyed by its sha256, so a changed
    template is prepared anew); None where docxtpl itself must render it, or explain it."""
    try:
        return prepare(content, jinja_env(), _PICTURES)
    except (Unsupported, PackageNotFoundError, zipfile.BadZipFile, KeyError, *_RENDER_ERRORS):
        return None


def _pictures(context: dict[str, object]) -> dict[str, Picture]:
    payload = context.get("qr_code")
    if not isinstance(payload, str) or not payload:
        return {}
    return {"qr_code": Picture(png=qr_png(payload), width=Mm(QR_MM))}


def render_docx(path: Path, context: dict[str, object], *, prepare: Preparation) -> bytes:
    """The template at ``path`` filled with ``context`` as .docx bytes; every template error
    becomes a TemplateError in German that names the template."""
    return _render_docx(template_bytes(path), path.name, context, prepare)


def _render_docx(content: bytes, name: str, context: dict[str, object],
                 prepare: Preparation) -> bytes:
    template = DocxTemplate(io.BytesIO(content))
    try:
        template.init_docx()
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError) as exc:
        raise TemplateError(f"Briefvorlage „{name}“ ist keine lesbare Word-Datei.") from exc
    context = prepare(template, context)
    try:
        template.render(context, jinja_env=jinja_env())
    except _RENDER_ERRORS as exc:
        raise TemplateError(
            f"Briefvorlage „{name}“: {describe_template_error(exc, context)}"
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
    image = InlineImage(template, io.BytesIO(qr_png(payload)), width=Mm(QR_MM))
    return {**context, "qr_code": image}


def template_bytes(path: Path) -> bytes:
    return _template_file(path)[0]


def _template_file(path: Path) -> tuple[bytes, str]:
    """The template's bytes and their sha256, read anew for every letter: what is prepared is
    keyed by the digest, never by the file's mtime or size, which a template replaced within
    one mtime tick with the same size would keep (reading and hashing ~40 kB: ~30 µs)."""
    try:
        content = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigurationError(f"Briefvorlage „{path.name}“ fehlt: {path}") from exc
    return content, hashlib.sha256(content).hexdigest()


@functools.cache
def jinja_env() -> SandboxedEnvironment:
    """The letters' environment: autoescaped (Word XML), each template source compiled once per
    process (docxtpl compiles the same XML for every letter)."""
    return sandboxed_environment(autoescape=True, compile_once=True)
