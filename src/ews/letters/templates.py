"""Check the staff-editable letter templates before they are used (reads the templates).

Every template is rendered with sample data that takes each of its branches; unknown
placeholders, syntax errors and tags Word split so that Jinja did not see them come back as
German sentences for staff (``ews check``).
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from pathlib import Path

import jinja2
from docx.opc.exceptions import PackageNotFoundError
from docxtpl import DocxTemplate

from ews.core.errors import TemplateError
from ews.core.models import LetterKind
from ews.letters.context import letter_context, sample_letter_data
from ews.letters.render import jinja_env, render_letter_docx, template_bytes, template_path
from ews.letters.template_errors import RETYPE_HINT, describe_undefined, shortened
from ews.runtime.settings import OfficeSettings

_TEXT_PART = re.compile(r"word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml")
_LEFTOVER_TAG = re.compile(r"\{\s*[{%#]|[}%#]\s*\}")


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


def _template_problems(path: Path, context: dict[str, object]) -> list[str]:
    undeclared = _undeclared_variables(path, context)
    problems = [
        f"Briefvorlage „{path.name}“: {describe_undefined(name, context)}"
        for name in sorted(undeclared)
    ]
    filled = {**context, **{name: "" for name in undeclared}}
    try:
        content = render_letter_docx(path, filled)
    except TemplateError as exc:
        return [*problems, str(exc)]
    return problems + [
        f"Briefvorlage „{path.name}“: „{snippet}“ enthält einen Platzhalter, der nicht erkannt "
        f"wurde. {RETYPE_HINT}"
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


def _leftover_tags(content: bytes) -> list[str]:
    """Paragraphs with tag-like text left after rendering: tags Jinja did not recognise."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = [name for name in archive.namelist() if _TEXT_PART.fullmatch(name)]
        parts = [archive.read(name).decode("utf-8") for name in names]
    paragraphs = (re.sub(r"<[^>]+>", "", xml) for part in parts for xml in part.split("</w:p>"))
    return [
        shortened(html.unescape(text).strip()) for text in paragraphs if _LEFTOVER_TAG.search(text)
    ]
