"""Circulars (Rundschreiben) as Word documents: staff's Markdown as paragraphs and tables in
the template's styles (pure, on a document in memory), and the circular rendered from its
.docx template (reads the template). Parsing and the safety rules for links and raw HTML are
``ews.circulars.text``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jinja2
from docx.document import Document as DocumentObject
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Pt, RGBColor, Twips
from docx.text.paragraph import Paragraph
from docxtpl import DocxTemplate
from lxml import etree
from markdown_it.tree import SyntaxTreeNode
from markupsafe import Markup

from ews.circulars.text import inline_of, markdown_tree, table_rows
from ews.core.errors import TemplateError
from ews.letters.context import clean_text
from ews.letters.render import jinja_env, render_docx

#: paragraph styles the body needs; python-docx's default template has them all
BODY_STYLES = ("Heading 1", "Heading 2", "Heading 3", "List Bullet", "List Bullet 2",
               "List Number", "List Number 2", "Quote", "Table Grid")
MONOSPACE = "Courier New"  # LibreOffice substitutes the metric-compatible Liberation Mono
LINK_COLOUR = RGBColor(0x05, 0x63, 0xC1)
LIST_INDENT = Twips(360)  # one level of the default list definitions
_ALIGNMENT = {
    "text-align:left": WD_ALIGN_PARAGRAPH.LEFT,
    "text-align:center": WD_ALIGN_PARAGRAPH.CENTER,
    "text-align:right": WD_ALIGN_PARAGRAPH.RIGHT,
}
_EMPHASIS = {"strong": "bold", "em": "italic", "s": "strike"}


@dataclass(frozen=True)
class _Place:
    """Where a block lands: inside how many list levels, inside a quote or not."""

    depth: int = 0
    quote: bool = False


@dataclass(frozen=True)
class _Look:
    bold: bool = False
    italic: bool = False
    strike: bool = False
    code: bool = False
    link: bool = False


def add_markdown(document: DocumentObject, text: str) -> None:
    """Appends the Markdown ``text`` to ``document`` as paragraphs and tables in the styles
    ``BODY_STYLES`` (a docxtpl Subdoc proxies the same API, where docxcompose is installed)."""
    _add_blocks(document, markdown_tree(text).children, _Place())


def _add_blocks(document: DocumentObject, nodes: Sequence[SyntaxTreeNode], place: _Place) -> None:
    for node in nodes:
        if node.type in ("bullet_list", "ordered_list"):
            _add_list(document, node, place)
        elif node.type == "blockquote":
            _add_blocks(document, node.children, replace(place, quote=True))
        elif node.type == "table":
            _add_table(document, node)
        elif node.type == "heading":
            level = min(int(node.tag[1:]), 3)
            _add_inline(document.add_paragraph(style=f"Heading {level}"), inline_of(node))
        elif node.type == "paragraph":
            _add_inline(_body_paragraph(document, place), inline_of(node))
        elif node.type in ("fence", "code_block"):
            code = node.content.rstrip("\n")
            _add_run(_body_paragraph(document, place), code, _Look(code=True), None)
        elif node.type == "hr":
            _add_rule(document)


def _body_paragraph(document: DocumentObject, place: _Place) -> Paragraph:
    paragraph = document.add_paragraph(style="Quote" if place.quote else None)
    paragraph.paragraph_format.space_after = Pt(3 if place.depth else 11)
    if place.depth:  # a further paragraph of a list item: aligned with the item's text
        paragraph.paragraph_format.left_indent = LIST_INDENT * place.depth
    return paragraph


def _add_list(document: DocumentObject, node: SyntaxTreeNode, place: _Place) -> None:
    ordered = node.type == "ordered_list"
    style = f"List {'Number' if ordered else 'Bullet'}{' 2' if place.depth else ''}"
    start = int(node.attrs.get("start", 1))
    num_id = _restarted_numbering(document, style, start) if ordered else None
    for item in node.children:
        paragraph = document.add_paragraph(style=style)
        paragraph.paragraph_format.space_after = Pt(3)
        if num_id is not None:
            num_pr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
            num_pr.get_or_add_ilvl().val = 0
            num_pr.get_or_add_numId().val = num_id
        blocks = item.children
        if blocks and blocks[0].type == "paragraph":
            _add_inline(paragraph, inline_of(blocks[0]))
            blocks = blocks[1:]
        _add_blocks(document, blocks, replace(place, depth=place.depth + 1))
    if not place.depth:
        document.paragraphs[-1].paragraph_format.space_after = Pt(11)


def _restarted_numbering(document: DocumentObject, style: str, start: int) -> int | None:
    """A new numbering instance of the style's list definition: without it every list in the
    style would continue the count of the one before. None when the style has no numbering."""
    properties = document.styles[style].element.pPr
    num_pr = properties.numPr if properties is not None else None
    if num_pr is None or num_pr.numId is None:
        return None
    numbering = document.part.numbering_part.element
    try:
        abstract_id = numbering.num_having_numId(num_pr.numId.val).abstractNumId.val
    except KeyError:
        return None
    num = numbering.add_num(abstract_id)
    num.add_lvlOverride(ilvl=0).add_startOverride(start)
    return int(num.numId)


def _add_table(document: DocumentObject, node: SyntaxTreeNode) -> None:
    rows = table_rows(node)
    table = document.add_table(rows=len(rows), cols=len(rows[0].children), style="Table Grid")
    for row, source in zip(table.rows, rows, strict=True):
        for cell, content in zip(row.cells, source.children, strict=False):
            paragraph = cell.paragraphs[0]
            paragraph.alignment = _ALIGNMENT.get(str(content.attrs.get("style", "")))
            _add_inline(paragraph, inline_of(content), _Look(bold=content.type == "th"))
    if node.children[0].type == "thead":  # repeated on every page the table runs over
        table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    # the blank line after the table; Word would also merge two tables that touch
    document.add_paragraph()


def _add_rule(document: DocumentObject) -> None:
    paragraph = document.add_paragraph()
    borders = OxmlElement("w:pBdr")
    attributes = {"w:val": "single", "w:sz": "6", "w:space": "1", "w:color": "auto"}
    borders.append(OxmlElement("w:bottom", {qn(key): value for key, value in attributes.items()}))
    paragraph._p.get_or_add_pPr().append(borders)
    paragraph.paragraph_format.space_after = Pt(11)


def _add_inline(
    paragraph: Paragraph,
    nodes: Sequence[SyntaxTreeNode],
    look: _Look = _Look(),
    link: BaseOxmlElement | None = None,
) -> None:
    for node in nodes:
        if node.type == "text":
            _add_run(paragraph, node.content, look, link)
        elif node.type == "code_inline":
            _add_run(paragraph, node.content, replace(look, code=True), link)
        elif node.type in ("softbreak", "hardbreak"):
            _add_run(paragraph, " " if node.type == "softbreak" else "\n", look, link)
        elif node.type == "link":
            hyperlink = _hyperlink(paragraph, str(node.attrs["href"]))
            _add_inline(paragraph, node.children, replace(look, link=True), hyperlink)
        else:
            changes: dict[str, Any] = {_EMPHASIS[node.type]: True} if node.type in _EMPHASIS else {}
            _add_inline(paragraph, node.children, replace(look, **changes), link)


def _add_run(paragraph: Paragraph, text: str, look: _Look, link: BaseOxmlElement | None) -> None:
    run = paragraph.add_run(text)  # python-docx turns \n and \t into breaks and tabs
    run.bold, run.italic = look.bold or None, look.italic or None
    run.font.strike = look.strike or None
    if look.code:
        run.font.name = MONOSPACE
    if look.link:
        run.font.color.rgb = LINK_COLOUR
        run.font.underline = True
    if link is not None:
        link.append(run._r)


def _hyperlink(paragraph: Paragraph, url: str) -> BaseOxmlElement:
    r_id = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    element = OxmlElement("w:hyperlink", {qn("r:id"): r_id})
    paragraph._p.append(element)
    return element


def render_circular_document(
    template: Path, context: dict[str, object], body_markdown: str
) -> bytes:
    """The circular as .docx: ``template`` filled with ``context`` (strings and lists of
    strings) and the Markdown body in place of ``{{p text }}``."""

    def with_body(document: DocxTemplate, values: dict[str, object]) -> dict[str, object]:
        _check_body_parts(document, template.name)
        body = Markup(_body_xml(document.docx, body_markdown))  # XML python-docx escaped
        return {**{key: _cleaned(value) for key, value in values.items()}, "text": body}

    return render_docx(template, context, prepare=with_body)


def _check_body_parts(document: DocxTemplate, name: str) -> None:
    """The body needs its styles and its placeholder; without them it would be lost."""
    missing = [style for style in BODY_STYLES if style not in document.docx.styles]
    if missing:
        raise TemplateError(
            f"Briefvorlage „{name}“: Es fehlen die Formatvorlagen {', '.join(missing)}."
        )
    try:
        names = document.get_undeclared_template_variables(jinja_env())
    except jinja2.TemplateSyntaxError:
        return  # rendering explains the broken tag
    if "text" not in names:
        raise TemplateError(
            f"Briefvorlage „{name}“: Der Platzhalter „{{{{p text }}}}“ für den Text des "
            "Rundschreibens fehlt (ein Absatz, in dem nur er steht)."
        )


def _body_xml(document: DocumentObject, text: str) -> str:
    """The Markdown as WordprocessingML for ``{{p text }}``. It is built at the end of the
    template's own body, so that styles, list numbering and link relationships are the
    template's, and taken out again before rendering (docxtpl's Subdoc would need
    docxcompose)."""
    body = document.element.body
    existing = set(body)
    add_markdown(document, text)
    added = [element for element in body if element not in existing]
    for element in added:
        body.remove(element)
    return "".join(etree.tostring(element, encoding="unicode") for element in added)


def _cleaned(value: object) -> object:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_cleaned(item) for item in value]
    return value
