"""Hand-serialised test PDFs: exact string bytes, field structures, XFA, deflate bombs.

Written byte by byte (no PDF library), so that the reader is tested against structures that
libraries would normalise away: UTF-16BE literal strings with BOM, values only on a widget or
only on a parent, LiveCycle-style hierarchical names, multi-select array values, XFA-only
forms, and streams that inflate to 512 MiB.
"""

from __future__ import annotations

import codecs
import zlib
from functools import cache


def pdf_literal(text: str, *, utf16: bool) -> bytes:
    """A PDF literal string whose bytes are UTF-16BE with BOM, or PDFDocEncoding."""
    if utf16:
        raw = codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    else:
        raw = text.replace("–", "\x85").encode("latin-1")  # PDFDocEncoding for this repertoire
    escaped = raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    return b"(" + escaped.replace(b"\r", b"\\r").replace(b"\n", b"\\n") + b")"


class RawPdf:
    """Objects serialised by hand, numbered from 1, with a classic xref table."""

    def __init__(self) -> None:
        self.objects: dict[int, bytes] = {}
        self._next = 1

    def reserve(self) -> int:
        self._next += 1
        return self._next - 1

    def add(self, body: bytes) -> int:
        number = self.reserve()
        self.objects[number] = body
        return number

    def stream(self, data: bytes, extra: bytes = b"", *, deflated: bool = False) -> int:
        flate = b" /Filter /FlateDecode" if deflated else b""
        head = b"<< /Length %d%s %s >>\nstream\n" % (len(data), flate, extra)
        return self.add(head + data + b"\nendstream")

    def build(self, root: int) -> bytes:
        out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        offsets: dict[int, int] = {}
        for number in sorted(self.objects):
            offsets[number] = len(out)
            out += b"%d 0 obj\n%s\nendobj\n" % (number, self.objects[number])
        xref = len(out)
        size = max(offsets) + 1
        out += b"xref\n0 %d\n0000000000 65535 f \n" % size
        for number in range(1, size):
            out += (
                b"%010d 00000 n \n" % offsets[number]
                if number in offsets
                else b"0" * 10 + b" 00000 f \n"
            )
        out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
            size,
            root,
            xref,
        )
        return bytes(out)


def _ref(number: int) -> bytes:
    return b"%d 0 R" % number


def _page(pages: int, content: int, annots: list[int]) -> bytes:
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    return (
        b"<< /Type /Page /Parent %s /MediaBox [0 0 595 842] /Contents %s "
        b"/Resources << /Font << /F1 %s >> >> /Annots [%s] >>"
        % (_ref(pages), _ref(content), font, b" ".join(_ref(a) for a in annots))
    )


def raw_form(
    values: dict[str, str | bool],
    *,
    utf16: bool = False,
    placement: str = "merged",
    on_state: str = "/Yes",
    names: tuple[str, ...] = (),
    choice_array: bool = False,
    bomb: str = "",
) -> bytes:
    """A one-page AcroForm written by hand.

    ``placement``: ``merged`` (field and widget in one dictionary), ``widget`` (the value only
    on the kid widget, checkboxes only by /AS), ``parent`` (the value only on the parent
    field, no /AS). ``names`` nests every field under these ancestors (``form1[0]``) and adds
    ``[0]`` to the terminal name, the way LiveCycle exports do. ``choice_array`` writes the
    choice fields as multi-select lists with an array value. ``bomb``: ``value`` makes the
    motivation's /V, ``appearance`` the datenschutz tick's appearance a 512 MiB deflate bomb.
    """
    pdf = RawPdf()
    catalog, pages, page = pdf.reserve(), pdf.reserve(), pdf.reserve()
    ancestors = _ancestors(pdf, names)
    bomb_ref = _ref(pdf.stream(deflated_zeros(), deflated=True)) if bomb else b""
    fields: list[int] = []
    widgets: list[int] = []
    for name, value in values.items():
        tokens = _field_tokens(name, value, on_state, choice_array=choice_array, utf16=utf16)
        if bomb == "value" and name == "motivation":
            tokens = (tokens[0], bomb_ref, b"")
        extra = b" /AP << /N << /Yes %s >> >>" % bomb_ref
        field, widget = _raw_field(
            pdf, f"{name}[0]" if names else name, page=page, placement=placement,
            parent=ancestors[-1] if ancestors else None, tokens=tokens,
            widget_extra=extra if bomb == "appearance" and name == "datenschutz" else b"",
        )  # fmt: skip
        fields.append(field)
        widgets.append(widget)
    fields.append(_push_button(pdf, page, ancestors[-1] if ancestors else None))
    widgets.append(fields[-1])
    _close_ancestors(pdf, ancestors, fields)
    return _finished(pdf, (catalog, pages, page), ancestors[:1] or fields, widgets)


def _finished(
    pdf: RawPdf, skeleton: tuple[int, int, int], top: list[int], widgets: list[int]
) -> bytes:
    """Catalog, page tree and the one page around the fields; the serialised file."""
    catalog, pages, page = skeleton
    content = pdf.stream(b"BT /F1 14 Tf 56 800 Td (Bewerbungsbogen) Tj ET")
    pdf.objects[page] = _page(pages, content, widgets)
    pdf.objects[pages] = b"<< /Type /Pages /Kids [%s] /Count 1 >>" % _ref(page)
    pdf.objects[catalog] = (
        b"<< /Type /Catalog /Pages %s /AcroForm << /Fields [%s] /NeedAppearances true "
        b"/DA (/Helv 0 Tf 0 g) >> >>" % (_ref(pages), b" ".join(_ref(f) for f in top))
    )
    return pdf.build(catalog)


def _ancestors(pdf: RawPdf, names: tuple[str, ...]) -> list[int]:
    return [pdf.add(b"/T " + pdf_literal(name, utf16=False)) for name in names]


def _close_ancestors(pdf: RawPdf, ancestors: list[int], fields: list[int]) -> None:
    for index, ancestor in enumerate(ancestors):
        kids = ancestors[index + 1 : index + 2] or fields
        entry = b" /Kids [%s]" % b" ".join(_ref(kid) for kid in kids)
        if index:
            entry += b" /Parent " + _ref(ancestors[index - 1])
        pdf.objects[ancestor] = b"<< " + pdf.objects[ancestor] + entry + b" >>"


def _raw_field(
    pdf: RawPdf,
    name: str,
    *,
    page: int,
    parent: int | None,
    placement: str,
    tokens: tuple[bytes, bytes, bytes],
    widget_extra: bytes,
) -> tuple[int, int]:
    """(field object, widget object); the same object when merged."""
    kind, token, state = tokens
    common = b"/T %s /FT %s" % (pdf_literal(name, utf16=False), kind)
    if parent:
        common += b" /Parent " + _ref(parent)
    widget = b"/Type /Annot /Subtype /Widget /Rect [56 100 300 117] /F 4 /P " + _ref(page)
    if state and placement != "parent":
        widget += b" /AS " + state
    widget += widget_extra
    if placement == "merged":
        number = pdf.add(b"<< %s /V %s %s >>" % (common, token, widget))
        return number, number
    field = pdf.reserve()
    # a checkbox "on the widget" records its state only in the widget's /AS
    on_widget = b" /V " + token if placement == "widget" and not state else b""
    kid = pdf.add(b"<< %s /Parent %s%s >>" % (widget, _ref(field), on_widget))
    on_parent = b" /V " + token if placement == "parent" else b""
    pdf.objects[field] = b"<< %s%s /Kids [%s] >>" % (common, on_parent, _ref(kid))
    return field, kid


def _field_tokens(
    name: str, value: str | bool, on_state: str, *, choice_array: bool, utf16: bool
) -> tuple[bytes, bytes, bytes]:
    """(/FT, /V token, /AS token or empty) for one value."""
    if isinstance(value, bool):
        state = (on_state if value else "/Off").encode()
        return b"/Btn", state, state
    beyond_latin1 = any(ord(char) > 0xFF and char != "–" for char in value)
    literal = pdf_literal(value, utf16=utf16 or beyond_latin1)
    if choice_array and name in ("kommune_typ", "regierungsbezirk"):
        return b"/Ch /Ff 2097152", b"[" + literal + b"]", b""
    return b"/Tx", literal, b""


def _push_button(pdf: RawPdf, page: int, parent: int | None) -> int:
    """A field outside the contract (a print button), which the reader must ignore."""
    parent_entry = b" /Parent " + _ref(parent) if parent else b""
    return pdf.add(
        b"<< /T (Drucken) /FT /Btn /Ff 65536 /Type /Annot /Subtype /Widget "
        b"/Rect [400 40 500 60] /P %s%s >>" % (_ref(page), parent_entry)
    )


def xfa_only_form() -> bytes:
    """A dynamic XFA form (LiveCycle Designer): no AcroForm fields, only XFA packets."""
    pdf = RawPdf()
    catalog, pages, page = pdf.reserve(), pdf.reserve(), pdf.reserve()
    template = pdf.stream(
        b'<template xmlns="http://www.xfa.org/schema/xfa-template/3.3/"><subform name="form1">'
        b'<field name="kommune_name"/></subform></template>'
    )
    datasets = pdf.stream(
        b'<xfa:datasets xmlns:xfa="http://www.xfa.org/schema/xfa-data/1.0/"><xfa:data>'
        b"<form1><kommune_name>Stadt L\xc3\xbcdenscheid</kommune_name></form1>"
        b"</xfa:data></xfa:datasets>"
    )
    content = pdf.stream(
        b"BT /F1 11 Tf 56 800 Td (Bitte warten ... Wenn diese Meldung nicht ersetzt wird, "
        b"unterstuetzt Ihr PDF-Programm dieses Formular nicht.) Tj ET"
    )
    pdf.objects[page] = _page(pages, content, [])
    pdf.objects[pages] = b"<< /Type /Pages /Kids [%s] /Count 1 >>" % _ref(page)
    pdf.objects[catalog] = (
        b"<< /Type /Catalog /Pages %s /NeedsRendering true /AcroForm << /Fields [] "
        b"/XFA [(template) %s (datasets) %s] >> >>" % (_ref(pages), _ref(template), _ref(datasets))
    )
    return pdf.build(catalog)


# --- deflate bombs --------------------------------------------------------------------------

BOMB_SIZE = 512 * 1024 * 1024


@cache
def deflated_zeros(size: int = BOMB_SIZE) -> bytes:
    """``size`` zero bytes, deflated chunk by chunk (512 MiB become about 0.5 MB)."""
    compressor = zlib.compressobj(9)
    chunk = bytes(1024 * 1024)
    parts = [compressor.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join(parts) + compressor.flush()
