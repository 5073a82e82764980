"""pypdf's plain text extraction of a page, Form XObjects included, with every font parsed once
per document (pypdf objects in, visitor calls out; no I/O).

``PageObject.extract_text`` parses every font of every resource dictionary it enters. A form
flattened by pdftk has one Form XObject per field, all naming the same font, so that font's
ToUnicode CMap and encoding were parsed once per field: half the time of reading such a form.
``walk_page`` follows pypdf 7.1's ``PageObject._extract_text`` operator for operator, with the
same visitor calls and the same text, but takes each font from ``DocumentFonts``: parsed once,
keyed by the font dictionary's object number and generation. Never by its resource name: every
XObject has its own resources, and "/F1" in one may be another font than "/F1" in the next.
pypdf's exceptions pass through; callers translate them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from pypdf import PageObject, get_configuration
from pypdf._text_extraction._text_extractor import TextExtraction
from pypdf.generic import (
    ArrayObject,
    ContentStream,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
)
from pypdf.generic._font import Font

_LOG = logging.getLogger(__name__)
#: pypdf's defaults of ``extract_text``
_ORIENTATIONS = (0, 90, 180, 270)
_SPACE_WIDTH = 200.0

OperatorVisitor = Callable[[bytes, Any, Any, Any], None]
TextVisitor = Callable[[str, Any, Any, Any, Any], None]


def parsed_font(font: DictionaryObject) -> Font:
    """A font dictionary parsed by pypdf: its encoding, ToUnicode map and widths.

    The one call of pypdf's private font API (``pypdf.generic._font``; pyproject pins pypdf at
    ≥ 7.1, where ``Font.from_font_resource`` is what ``extract_text`` itself uses)."""
    return Font.from_font_resource(font)


class DocumentFonts:
    """The fonts of one document, each parsed once, by (object number, generation).

    A font dictionary written inline (no object of its own) is parsed at each use, as pypdf
    does. A font that fails to parse is not remembered: it fails again at its next use."""

    def __init__(self) -> None:
        self._parsed: dict[tuple[int, int], Font] = {}

    def __len__(self) -> int:
        """How many fonts were parsed and kept."""
        return len(self._parsed)

    def font(self, dictionary: DictionaryObject) -> Font:
        reference = getattr(dictionary, "indirect_reference", None)
        if reference is None:
            return parsed_font(dictionary)
        key = (reference.idnum, reference.generation)
        if key not in self._parsed:
            self._parsed[key] = parsed_font(dictionary)
        return self._parsed[key]


@dataclass(frozen=True)
class Visitors:
    """pypdf's three visitors of ``extract_text``."""

    before: OperatorVisitor
    after: OperatorVisitor
    text: TextVisitor


@dataclass
class _Traversal:
    """Form XObjects entered so far (pypdf's limit) and those open now (cycles)."""

    entered: int = 0
    warned: bool = False
    open_forms: set[int] = field(default_factory=set)


def walk_page(page: PageObject, fonts: DocumentFonts, visitors: Visitors) -> str:
    """Run the visitors over the page as ``page.extract_text`` does; its plain text."""
    return _walk(page, page.pdf, "/Contents", fonts, visitors, _Traversal())


def _dictionary(value: Any) -> DictionaryObject:
    """The dictionary ``value`` refers to, or an empty one (missing, null or malformed)."""
    value = value.get_object() if value is not None else None
    return value if isinstance(value, DictionaryObject) else DictionaryObject()


def _fonts_of(
    resources: DictionaryObject, fonts: DocumentFonts
) -> tuple[dict[str, DictionaryObject], dict[str, Font]]:
    """The font dictionaries and parsed fonts of one resource dictionary, by resource name."""
    dictionaries: dict[str, DictionaryObject] = {}
    parsed: dict[str, Font] = {}
    named = _dictionary(resources.get("/Font"))
    for name in named:
        try:
            dictionary = cast(DictionaryObject, named[name].get_object())
            dictionaries[name] = dictionary
            parsed[name] = font = fonts.font(dictionary)
            if font.character_widths.get(font.space_char, 0) == 0:
                font.space_width = _SPACE_WIDTH  # as pypdf does; the same for every use
        except (AttributeError, TypeError):
            pass
    return dictionaries, parsed


def _content(obj: DictionaryObject, pdf: Any, content_key: str | None) -> ContentStream | None:
    try:
        content = obj[content_key].get_object() if content_key is not None else obj
        if not isinstance(content, ContentStream):
            content = ContentStream(content, pdf, "bytes")
    except (AttributeError, KeyError):  # no content (an empty page)
        return None
    return content


def _walk(obj: DictionaryObject, pdf: Any, content_key: str | None, fonts: DocumentFonts,
          visitors: Visitors, traversal: _Traversal) -> str:
    resources = _dictionary(obj.get_inherited("/Resources", None))
    if not resources:
        return ""  # no font, so no text
    font_dictionaries, parsed = _fonts_of(resources, fonts)
    content = _content(obj, pdf, content_key)
    if content is None:
        return ""
    extractor = TextExtraction()
    extractor.initialize_extraction(_ORIENTATIONS, visitors.text, font_dictionaries, parsed)
    for operands, operator in content.operations:
        visitors.before(operator, operands, extractor.cm_matrix, extractor.tm_matrix)
        if operator == b"Do" and operands:
            _enter_form(extractor, resources, operands, pdf, fonts, visitors, traversal)
        else:
            _operate(extractor, operator, operands)
        visitors.after(operator, operands, extractor.cm_matrix, extractor.tm_matrix)
    extractor.output += extractor.text
    if extractor.text != "":
        _report(extractor, visitors, extractor.text)
    return extractor.output


def _report(extractor: TextExtraction, visitors: Visitors, text: str) -> None:
    visitors.text(text, extractor.memo_cm, extractor.memo_tm, extractor.font_resource,
                  extractor.font_size)


def _operate(extractor: TextExtraction, operator: bytes, operands: Any) -> None:
    """One operator other than ``Do``; the compound text operators as pypdf splits them."""
    if operator == b"'":
        extractor.process_operation(b"T*", [])
        extractor.process_operation(b"Tj", operands)
    elif operator == b'"' and len(operands) >= 3:
        extractor.process_operation(b"Tw", [operands[0]])
        extractor.process_operation(b"Tc", [operands[1]])
        extractor.process_operation(b"T*", [])
        extractor.process_operation(b"Tj", operands[2:])
    elif operator == b"TJ":
        gap = extractor._space_width * 0.95  # a word gap may be narrower than the space
        if operands and isinstance(operands[0], ArrayObject):
            for item in operands[0]:
                if isinstance(item, (str, bytes)) and not isinstance(item, NameObject):
                    extractor.process_operation(b"Tj", [item])
                if isinstance(item, (int, float, NumberObject, FloatObject)):
                    extractor.process_tj_offset(float(item), gap)
    elif operator == b"TD" and len(operands) >= 2:
        if isinstance(operands[1], (int, float)):  # else the leading stays
            extractor.process_operation(b"TL", [-operands[1]])
        extractor.process_operation(b"Td", operands)
    else:
        extractor.process_operation(operator, operands)


def _enter_form(extractor: TextExtraction, resources: DictionaryObject, operands: Any, pdf: Any,
                fonts: DocumentFonts, visitors: Visitors, traversal: _Traversal) -> None:
    """``Do``: report the pending text, then walk a Form XObject (never an image)."""
    extractor.output += extractor.text
    _report(extractor, visitors, extractor.text)
    if extractor.output[-1:] not in ("", "\n"):
        extractor.output += "\n"
        _report(extractor, visitors, "\n")
    try:
        text = _form_text(resources, operands[0], pdf, fonts, visitors, traversal)
        if text is not None:
            extractor.output += text
    except MemoryError:
        raise
    except Exception as exception:  # noqa: BLE001 - as pypdf: a broken form loses its text only
        _LOG.warning("Form XObject %s nicht lesbar: %s", operands[0], exception)
    finally:
        extractor.text = ""
        extractor.memo_cm = extractor.cm_matrix.copy()
        extractor.memo_tm = extractor.tm_matrix.copy()


def _form_text(resources: DictionaryObject, name: Any, pdf: Any, fonts: DocumentFonts,
               visitors: Visitors, traversal: _Traversal) -> str | None:
    form = cast(DictionaryObject, cast(DictionaryObject, resources["/XObject"])[name])
    if form["/Subtype"] == NameObject("/Image"):
        return None
    if id(form) in traversal.open_forms:
        _LOG.warning("Form XObject %s enthält sich selbst; übersprungen", name)
        return ""
    if traversal.entered >= get_configuration().xform_maximum_invocations_per_extraction:
        if not traversal.warned:
            traversal.warned = True
            _LOG.warning("Zu viele Form XObjects auf einer Seite; der Rest ist übersprungen")
        return ""
    traversal.entered += 1
    traversal.open_forms.add(id(form))
    try:
        return _walk(form, pdf, None, fonts, visitors, traversal)
    finally:
        traversal.open_forms.discard(id(form))

