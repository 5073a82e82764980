"""Contract fields from a PDF's AcroForm, read through pypdf objects (no I/O of its own).

Walks the field tree itself instead of ``PdfReader.get_fields()`` so that it can bound the walk,
inherit values the way the PDF specification says, and look at widgets: a value may sit on the
field, its parent, or only on a kid widget (``/V`` or, for checkboxes, only ``/AS``). pypdf
reads the newest revision of every object, so the last incremental save counts. Callers
translate pypdf's exceptions.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    PdfObject,
    StreamObject,
    TextStringObject,
)

from ews.core.form_contract import CHECKBOX_FIELDS, FIELD_NAMES, MULTILINE_FIELDS
from ews.core.models import FieldValue, RawFields

_MAX_NODES = 5_000
_MAX_DEPTH = 24
_MAX_VALUE_CHARS = 100_000
_UNCHECKED = {"", "off", "no", "nein", "false", "0"}
_TRUTHY_TEXT = {"x", "ja", "yes", "on", "1", "true", "☒", "☑", "✓", "✔"}
_INDEX_SUFFIX = re.compile(r"\[\d+\]$")


@dataclass(frozen=True)
class _Terminal:
    """A terminal field: its full name, its dictionary and its inherited value."""

    name: str
    node: DictionaryObject
    inherited_value: PdfObject | None


def acroform_of(reader: PdfReader) -> DictionaryObject | None:
    """The document's /AcroForm dictionary, when there is one."""
    acroform = _resolved(reader.root_object.get("/AcroForm"))
    return acroform if isinstance(acroform, DictionaryObject) else None


def _resolved(value: PdfObject | None) -> PdfObject | None:
    return value.get_object() if value is not None else None


def has_xfa(acroform: DictionaryObject | None) -> bool:
    """True when the form carries an XFA description (LiveCycle/Designer forms)."""
    return acroform is not None and acroform.get("/XFA") is not None


def fields_from_acroform(acroform: DictionaryObject | None) -> RawFields | None:
    """All contract fields, or None when the form has none of the contract's field names."""
    if acroform is None:
        return None
    found: dict[str, FieldValue] = {}
    for terminal in _terminals(acroform):
        name = contract_name(terminal.name)
        if name is None:
            continue
        value = _field_value(name, terminal)
        if found.get(name) in (None, False):
            found[name] = value
    if not found:
        return None
    return {
        name: found.get(name, False if name in CHECKBOX_FIELDS else None) for name in FIELD_NAMES
    }


def contract_name(full_name: str) -> str | None:
    """The contract field a full field name means: the name itself or its terminal part."""
    if full_name in FIELD_NAMES:
        return full_name
    terminal = _INDEX_SUFFIX.sub("", full_name.rsplit(".", 1)[-1])
    return terminal if terminal in FIELD_NAMES else None


def _terminals(acroform: DictionaryObject) -> list[_Terminal]:
    roots = _resolved(acroform.get("/Fields"))
    if not isinstance(roots, ArrayObject):
        return []
    found: list[_Terminal] = []
    stack: list[tuple[PdfObject, str, PdfObject | None, int]] = [
        (root, "", None, 0) for root in reversed(roots)
    ]
    visited = 0
    while stack and visited < _MAX_NODES:
        entry, prefix, inherited, depth = stack.pop()
        visited += 1
        node = entry.get_object()
        if not isinstance(node, DictionaryObject) or depth > _MAX_DEPTH:
            continue
        name = _joined_name(prefix, node)
        value = node.get("/V", inherited)
        field_kids = [kid for kid in _kids(node) if "/T" in kid]
        if field_kids:
            stack.extend((kid, name, value, depth + 1) for kid in reversed(field_kids))
        elif "/T" in node:
            found.append(_Terminal(name, node, value))
    return found


def _kids(node: DictionaryObject) -> list[DictionaryObject]:
    kids = _resolved(node.get("/Kids"))
    if not isinstance(kids, ArrayObject):
        return []
    resolved = (kid.get_object() for kid in kids[:_MAX_NODES])
    return [kid for kid in resolved if isinstance(kid, DictionaryObject)]


def _joined_name(prefix: str, node: DictionaryObject) -> str:
    part = _resolved(node.get("/T"))
    if not isinstance(part, str):
        return prefix
    return f"{prefix}.{part}" if prefix else str(part)


def _widgets(node: DictionaryObject) -> list[DictionaryObject]:
    """The field's own widget (merged dictionary) and its kid widgets."""
    return [node, *_kids(node)]


def _field_value(name: str, terminal: _Terminal) -> FieldValue:
    value = terminal.inherited_value
    if value is None:
        value = next((w["/V"] for w in _kids(terminal.node) if "/V" in w), None)
    if name in CHECKBOX_FIELDS:
        return _is_checked(value, terminal.node)
    return _text_value(value, multiline=name in MULTILINE_FIELDS)


def _is_checked(value: PdfObject | None, node: DictionaryObject) -> bool:
    states = [value] if value is not None else [w.get("/AS") for w in _widgets(node)]
    return any(_state_is_on(state) for state in states if state is not None)


def _state_is_on(value: PdfObject) -> bool:
    state = value.get_object()
    if isinstance(state, NameObject):
        return state.lstrip("/").strip().lower() not in _UNCHECKED
    # a checkbox made as text field, or a producer that writes a string instead of a name
    text = _text_value(state, multiline=False)
    return text is not None and text.lower() in _TRUTHY_TEXT


def _text_value(value: PdfObject | None, *, multiline: bool) -> str | None:
    resolved = _resolved(value)
    text = _as_text(resolved) if resolved is not None else None
    if text is None:
        return None
    # composed (NFC): a program may store "Ö" as "O" and a combining diaeresis
    text = unicodedata.normalize("NFC", text[:_MAX_VALUE_CHARS])
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not multiline:
        text = " ".join(text.split())
    text = text.strip()
    return text or None


def _as_text(value: PdfObject) -> str | None:
    if isinstance(value, TextStringObject):
        return str(value)
    if isinstance(value, ByteStringObject):
        return _decoded(bytes(value))
    if isinstance(value, NameObject):
        return value.lstrip("/")
    if isinstance(value, NumberObject):
        return str(value)
    if isinstance(value, ArrayObject):
        # a multi-select choice: its selected options, in order
        items = (_as_text(item.get_object()) for item in list(value)[:100])
        return ", ".join(item for item in items if item) or None
    if isinstance(value, StreamObject):
        return _decoded(value.get_data())
    return None


def _decoded(raw: bytes) -> str:
    for bom, encoding in ((codecs.BOM_UTF16_BE, "utf-16-be"), (codecs.BOM_UTF8, "utf-8")):
        if raw.startswith(bom):
            return raw[len(bom) :].decode(encoding, errors="replace")
    return raw.decode("latin-1")
