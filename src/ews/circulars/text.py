"""Circulars (Rundschreiben): staff's Markdown parsed, as an HTML fragment and as plain text
(pure). As Word paragraphs and the circular's .docx: ``ews.circulars.document``.

The Markdown is CommonMark with GFM tables and strikethrough. Raw HTML is never let through:
``<script>``, ``<w:t>``, ``&`` and ``{{ 7*7 }}`` stay literal text in every output. Links are
kept only for http, https and mailto; any other link (``javascript:``, relative paths) stays
the literal Markdown text. Images become links to their address (a letter cannot show them).

Values from outside (a salutation from a form or the contact list, a municipality's name) are
put into the Markdown through ``markdown_literal``: every Markdown character is escaped, so a
value shows as the text it is and never becomes a link, an image, a heading or a list.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode

from ews.letters.context import clean_text

SAFE_SCHEMES = ("http://", "https://", "mailto:")
#: CommonMark lets a backslash escape any ASCII punctuation character, and only those
_MARKDOWN_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")


class _CircularMarkdown(MarkdownIt):
    def validateLink(self, url: str) -> bool:  # a rejected link stays literal text
        return url.strip().lower().startswith(SAFE_SCHEMES)


@functools.cache
def _parser() -> MarkdownIt:
    options = {"html": False, "linkify": False, "typographer": False}
    parser = _CircularMarkdown("commonmark", options).enable(["table", "strikethrough"])
    parser.core.ruler.push("images_as_links", _images_as_links)
    return parser


def _images_as_links(state: StateCore) -> None:
    """``![Plan](https://…/plan.png)`` becomes a link ``Plan`` (an image inside a link its
    text)."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        tokens: list[Token] = []
        in_link = False
        for token in block.children:
            in_link = {"link_open": True, "link_close": False}.get(token.type, in_link)
            if token.type != "image":
                tokens.append(token)
                continue
            src = str(token.attrGet("src") or "")
            label = token.children or [Token("text", "", 0, content=src)]
            if in_link:
                tokens.extend(label)
            else:
                opening = Token("link_open", "a", 1, attrs={"href": src})
                tokens.extend([opening, *label, Token("link_close", "a", -1)])
        block.children = tokens


def markdown_literal(value: object) -> str:
    """``value`` as Markdown that shows exactly its text: every punctuation character
    backslash-escaped, line breaks (which could start a list or a heading) as spaces, no
    spaces around it (which could make it a code block)."""
    lines = (line.strip() for line in clean_text(str(value)).splitlines())
    text = " ".join(line for line in lines if line)
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


def markdown_tree(text: str) -> SyntaxTreeNode:
    return SyntaxTreeNode(_parser().parse(clean_text(text)))


def markdown_html(text: str) -> str:
    """An HTML fragment (no ``<html>`` wrapper) of the Markdown ``text``."""
    return _parser().render(clean_text(text))


def markdown_plain(text: str) -> str:
    """Readable plain text of the Markdown ``text`` for a text/plain mail part."""
    return "\n\n".join(_plain_blocks(markdown_tree(text).children)) + "\n"


def _plain_blocks(nodes: Sequence[SyntaxTreeNode]) -> list[str]:
    return [block for node in nodes if (block := _plain_block(node))]


def _plain_block(node: SyntaxTreeNode) -> str:
    if node.type == "heading":
        title = _plain_inline(inline_of(node))
        width = max((len(line) for line in title.split("\n")), default=0)
        return f"{title}\n{('=' if node.tag == 'h1' else '-') * width}"
    if node.type == "paragraph":
        return _plain_inline(inline_of(node))
    if node.type in ("bullet_list", "ordered_list"):
        return _plain_list(node)
    if node.type == "blockquote":
        inner = "\n\n".join(_plain_blocks(node.children))
        return "\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))
    if node.type in ("fence", "code_block"):
        return "\n".join(f"    {line}" for line in node.content.rstrip("\n").split("\n"))
    if node.type == "hr":
        return "-" * 40
    if node.type == "table":
        return "\n".join(
            " | ".join(_plain_inline(inline_of(cell)) for cell in row.children).rstrip()
            for row in table_rows(node)
        )
    return ""


def _plain_list(node: SyntaxTreeNode) -> str:
    start = int(node.attrs.get("start", 1))
    tight = all(block.hidden for item in node.children for block in item.children
                if block.type == "paragraph")
    separator = "\n" if tight else "\n\n"
    items = []
    for offset, item in enumerate(node.children):
        marker = f"{start + offset}. " if node.type == "ordered_list" else "– "
        lines = separator.join(_plain_blocks(item.children)).split("\n")
        indent = " " * len(marker)
        rest = [f"{indent}{line}" if line else "" for line in lines[1:]]
        items.append("\n".join([marker + lines[0], *rest]))
    return separator.join(items)


def _plain_inline(nodes: Sequence[SyntaxTreeNode]) -> str:
    parts: list[str] = []
    for node in nodes:
        if node.type in ("text", "code_inline"):
            parts.append(node.content)
        elif node.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif node.type == "s":
            parts.append(f"~~{_plain_inline(node.children)}~~")
        elif node.type == "link":
            parts.append(_plain_link(node))
        else:
            parts.append(_plain_inline(node.children))
    return "".join(parts)


def _plain_link(node: SyntaxTreeNode) -> str:
    label = _plain_inline(node.children)
    address = str(node.attrs["href"]).removeprefix("mailto:")
    if label in (address, _parser().normalizeLinkText(address)):
        return address
    return f"{label} ({address})"


def inline_of(node: SyntaxTreeNode) -> list[SyntaxTreeNode]:
    """The inline content of a paragraph, heading or table cell."""
    return node.children[0].children if node.children else []


def table_rows(node: SyntaxTreeNode) -> list[SyntaxTreeNode]:
    return [row for section in node.children for row in section.children]
