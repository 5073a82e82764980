"""Letter templates prepared once: docxtpl's patched XML compiled and the parts every letter
shares kept deflated, so that a letter renders only its variables (pure, in memory).

docxtpl opens the whole .docx for every letter (800 KB of styles parsed, serialised and
deflated again) and patches and compiles the same XML; here that happens once per template,
and a letter is its body, headers, footers and core properties rendered with docxtpl's own
text functions, zipped with the kept parts. The result is the letter docxtpl makes, part for
part (``tests/unit/letters/test_prepared.py`` compares 50). What this module does not cover
(footnotes, a package without core properties, a header used twice, an image outside the
body) raises ``Unsupported``; the caller then renders with docxtpl itself.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field

import jinja2
from docx import Document
from docx.image.image import Image
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.opc.coreprops import CoreProperties
from docx.opc.oxml import serialize_part_xml
from docx.opc.part import Part
from docx.oxml.parser import parse_xml
from docx.oxml.shape import CT_Inline
from docx.shared import Length
from docxtpl import DocxTemplate
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

from ews.letters.package import Member, deflated, zip_bytes
from ews.letters.qr import qr_png

_FOOTNOTES = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
#: the core properties docxtpl renders (``DocxTemplate.render_properties``)
_PROPERTIES = ("author", "comments", "identifier", "language", "subject", "title")
_SAMPLE = "EWS"  # any QR code: only its format (PNG) matters for where it goes


class Unsupported(Exception):
    """The template, or this letter of it, needs docxtpl's own path."""


@dataclass(frozen=True)
class Picture:
    """An image in place of a placeholder, as docxtpl's ``InlineImage`` (PNG only)."""

    png: bytes
    width: Length


@dataclass(frozen=True)
class _Layout:
    names: tuple[str, ...]  # the zip's members in docxtpl's order
    kept: Mapping[str, Member]  # the members every letter shares


@dataclass(frozen=True)
class _ImageSlot:
    """Where docxtpl puts an image of the body: the relationship, the part, the layout."""

    r_id: str
    member: str
    shape_id: int
    known_sha1: frozenset[str]  # images already in the template (docxtpl would reuse them)
    layout: _Layout


@dataclass(frozen=True)
class _Story:
    """A header or footer: rendered as docxtpl renders it."""

    member: str
    template: jinja2.Template
    encoding: str


@dataclass(frozen=True)
class PreparedTemplate:
    document_member: str
    document_xml: bytes
    body: jinja2.Template
    stories: tuple[_Story, ...]
    core_member: str
    core_xml: bytes
    properties: tuple[tuple[str, jinja2.Template], ...]
    plain: _Layout
    image: _ImageSlot | None


def prepare(content: bytes, env: SandboxedEnvironment, image_names: frozenset[str]
            ) -> PreparedTemplate:
    """The template ``content`` (.docx bytes) prepared; ``image_names`` are the placeholders
    that may hold a ``Picture``. Raises Unsupported, and whatever docxtpl raises."""
    document = Document(io.BytesIO(content))
    package = document.part.package
    if any(part.content_type == _FOOTNOTES for part in package.iter_parts()):
        raise Unsupported("footnotes")
    if not any(rel.reltype == RELATIONSHIP_TYPE.CORE_PROPERTIES for rel in package.rels.values()):
        raise Unsupported("no core properties")
    tool = DocxTemplate(io.BytesIO(content))
    body = tool.patch_xml(tool.xml_to_string(document.element.body))
    stories = tuple(_stories(tool, document.part, env))
    core = package.part_related_by(RELATIONSHIP_TYPE.CORE_PROPERTIES)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        document_xml = archive.read(document.part.partname.membername)
        core_xml = archive.read(core.partname.membername)
    rendered = {document.part.partname.membername, core.partname.membername,
                *(story.member for story in stories)}
    source = _jinja_source(body)
    wanted = meta.find_undeclared_variables(env.parse(source))
    return PreparedTemplate(
        document_member=document.part.partname.membername, document_xml=document_xml,
        body=env.from_string(source), stories=stories,
        core_member=core.partname.membername, core_xml=core_xml,
        properties=tuple((name, env.from_string(getattr(document.core_properties, name)))
                         for name in _PROPERTIES),
        plain=_layout(document, rendered),
        image=_image_slot(content, rendered) if wanted & image_names else None)


def render(prepared: PreparedTemplate, context: Mapping[str, object],
           pictures: Mapping[str, Picture]) -> bytes:
    """The letter as .docx bytes; raises what docxtpl's rendering raises, and Unsupported."""
    state = _State()
    values = {**context, **{name: _Placed(picture, prepared.image, state)
                            for name, picture in pictures.items()}}
    tool = DocxTemplate(io.BytesIO(b""))
    tool.docx_ids_index = 1000
    tree = tool.fix_tables(_rendered(tool, prepared.body, values))
    tool.fix_docpr_ids(tree)
    root = parse_xml(prepared.document_xml)
    root.replace(root.body, tree)
    parts = {prepared.document_member: serialize_part_xml(root)}
    state.place = "story"
    for story in prepared.stories:
        xml = _rendered(tool, story.template, values).encode(story.encoding)
        parts[story.member] = serialize_part_xml(parse_xml(xml))
    state.place = "properties"
    core = parse_xml(prepared.core_xml)
    properties = CoreProperties(core)
    for name, template in prepared.properties:
        setattr(properties, name, template.render(values))
    parts[prepared.core_member] = serialize_part_xml(core)
    layout = prepared.plain
    if state.image is not None and prepared.image is not None:
        layout = prepared.image.layout
        parts[prepared.image.member] = state.image
    return zip_bytes(layout.kept[name] if name in layout.kept else deflated(name, parts[name])
                     for name in layout.names)


@dataclass
class _State:
    """What happened while one letter rendered: where it is, the image it placed."""

    place: str = "body"
    image: bytes | None = None


@dataclass(frozen=True)
class _Placed:
    """A Picture as the template sees it: docxtpl's drawing XML, in the body only."""

    picture: Picture
    slot: _ImageSlot | None
    state: _State = field(compare=False)

    def __html__(self) -> str:
        if self.slot is None or self.state.place != "body":
            raise Unsupported("an image outside the body")
        image = Image.from_blob(self.picture.png)
        if image.ext != "png" or image.sha1 in self.slot.known_sha1:
            raise Unsupported("an image docxtpl would place elsewhere")
        width, height = image.scaled_dimensions(self.picture.width, None)
        inline = CT_Inline.new_pic_inline(self.slot.shape_id, self.slot.r_id, image.filename,
                                          width, height)
        if self.state.image not in (None, self.picture.png):
            raise Unsupported("two images")
        self.state.image = self.picture.png
        return ("</w:t></w:r><w:r><w:drawing>%s</w:drawing></w:r><w:r>"  # noqa: UP031
                '<w:t xml:space="preserve">' % inline.xml)

    __str__ = __html__


def _jinja_source(patched: str) -> str:
    """What docxtpl's ``render_xml_part`` compiles: each paragraph on a line of its own."""
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", patched)


def _rendered(tool: DocxTemplate, template: jinja2.Template, values: Mapping[str, object]
              ) -> str:
    """docxtpl's ``render_xml_part`` after compiling: render, join, listings resolved."""
    xml = re.sub(r"\n<w:p([ >])", r"<w:p\1", template.render(values))
    xml = xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
    resolved: str = tool.resolve_listing(xml)
    return resolved


def _stories(tool: DocxTemplate, main: Part, env: SandboxedEnvironment) -> list[_Story]:
    """Headers, then footers, in docxtpl's order (``build_headers_footers_xml``)."""
    stories: list[_Story] = []
    seen: set[int] = set()
    for uri in (tool.HEADER_URI, tool.FOOTER_URI):
        for rel in main.rels.values():
            if rel.reltype != uri or not rel.target_part.blob:
                continue
            if id(rel.target_part) in seen:
                raise Unsupported("a header or footer used twice")
            seen.add(id(rel.target_part))
            xml = tool.get_part_xml(rel.target_part)
            stories.append(_Story(
                member=rel.target_part.partname.membername,
                template=env.from_string(_jinja_source(tool.patch_xml(xml))),
                encoding=tool.get_headers_footers_encoding(xml)))
    return stories


def _layout(document: object, rendered: set[str]) -> _Layout:
    """The members of ``document`` saved by python-docx; all but ``rendered`` kept."""
    buffer = io.BytesIO()
    document.save(buffer)  # type: ignore[attr-defined]
    with zipfile.ZipFile(buffer) as archive:
        names = tuple(archive.namelist())
        kept = {name: deflated(name, archive.read(name)) for name in names
                if name not in rendered}
    return _Layout(names=names, kept=kept)


def _image_slot(content: bytes, rendered: set[str]) -> _ImageSlot:
    """Where docxtpl's ``InlineImage`` puts a PNG of the body, learnt by placing one."""
    document = Document(io.BytesIO(content))
    part = document.part
    known = frozenset(image.sha1 for image in part.package.image_parts)
    shape_id = part.next_id
    r_id, _image = part.get_or_add_image(io.BytesIO(qr_png(_SAMPLE)))
    member = part.rels[r_id].target_part.partname.membername
    return _ImageSlot(r_id=r_id, member=member, shape_id=shape_id, known_sha1=known,
                      layout=_layout(document, rendered | {member}))
