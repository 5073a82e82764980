"""What a mail says as a letter between people: the mails it answers, its text, and the files
it carries that are not PDFs (pure, no I/O).

``ews.mail.parse`` reads a mail for applications (its PDFs); this module reads it as
correspondence: the Message-IDs of ``In-Reply-To`` and ``References`` (to find the case a reply
belongs to), the text of its first text part (``text/plain``, else ``text/html`` without its
tags) and its other attachments, each bounded. Enclosed messages are not entered: what a
forwarded mail carries stays in the archived raw mail. Nothing here raises on a malformed mail.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from email.message import Message

from ews.core.names import safe_name
from ews.core.plain_text import plain_text
from ews.core.sniff import is_pdf
from ews.mail.archives import ZIP_MAGIC
from ews.mail.headers import content_type, filename, first, raw_headers, unfold
from ews.mail.mime import children, message_from, payload_bytes

#: at most this many characters of the text are kept, this many other files
MAX_TEXT = 20_000
MAX_FILES = 20
_MAX_NESTING = 40
_ID = re.compile(r"<([^<>\s]{1,900})>")
_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.IGNORECASE | re.DOTALL)
_BREAK = re.compile(r"<\s*(br|/p|/div|/tr|/li)\b[^>]*>", re.IGNORECASE)


@dataclass(frozen=True)
class OtherFile:
    """A file of the mail that is neither a PDF nor a ZIP archive (an image, a document)."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Conversation:
    """The reply headers, the text and the other files of one mail."""

    #: the Message-IDs it answers, without angle brackets: In-Reply-To, then References from
    #: the newest end of the chain
    answers: list[str] = field(default_factory=list)
    text: str = ""
    files: list[OtherFile] = field(default_factory=list)
    #: files left out: over the size limit or the count
    left_out: int = 0


def read_conversation(raw: bytes, *, max_file_bytes: int, message: Message | None = None
                      ) -> Conversation:
    """The conversation facts of a mail (RFC 822 bytes, or ``message``, the same parsed);
    never raises."""
    if message is None:
        try:
            message = message_from(raw)
        except Exception:  # too many parts or worse: the header alone
            return Conversation()
    headers = raw_headers(message)
    answers: list[str] = []
    for name, newest_first in (("in-reply-to", False), ("references", True)):
        found = [match for value in headers.get(name, [])
                 for match in _ID.findall(unfold(value))]
        for message_id in reversed(found) if newest_first else found:
            if message_id not in answers:
                answers.append(message_id)
    walk = _Walk(max_file_bytes)
    try:
        walk.part(message, 0)
    except Exception:  # a damaged tree: what was read so far
        pass
    text = walk.text or (_from_html(walk.html) if walk.html else "")
    return Conversation(answers=answers[:50], text=text, files=walk.files,
                        left_out=walk.left_out)


class _Walk:
    def __init__(self, max_file_bytes: int) -> None:
        self.max_file_bytes = max_file_bytes
        self.text = ""
        self.html = ""
        self.files: list[OtherFile] = []
        self.left_out = 0

    def part(self, part: Message, nesting: int) -> None:
        if nesting > _MAX_NESTING:
            return
        kind = content_type(part)
        if kind.startswith("message/"):
            return
        if part.is_multipart():
            for child in children(part):
                self.part(child, nesting + 1)
            return
        self._leaf(part, kind)

    def _leaf(self, part: Message, kind: str) -> None:
        name = filename(part)
        data = payload_bytes(part)
        if not name and kind in ("text/plain", "text/html") and not is_pdf(data):
            decoded = _decoded(part, data)[:MAX_TEXT]
            if kind == "text/plain" and not self.text:
                self.text = plain_text(decoded, multiline=True)
            elif kind == "text/html" and not self.html:
                self.html = decoded
            return
        if is_pdf(data) or data.startswith(ZIP_MAGIC) or not data:
            return  # PDFs and archives are the parser's
        if len(data) > self.max_file_bytes or len(self.files) >= MAX_FILES:
            self.left_out += 1
            return
        self.files.append(OtherFile(safe_name(name or f"anhang-{len(self.files) + 1}"), data))


def _decoded(part: Message, data: bytes) -> str:
    charset = first(raw_headers(part), "content-type") or ""
    match = re.search(r'charset="?([\w.:-]+)', charset, re.IGNORECASE)
    for candidate in (match.group(1) if match else "utf-8", "utf-8", "cp1252"):
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


def _from_html(markup: str) -> str:
    text = _TAG.sub("", _BREAK.sub("\n", markup))
    return plain_text(html.unescape(text), multiline=True)
