"""Raw bytes of a returned mail → which of the office's mails bounced, to whom and why (pure).

No I/O; ``read_bounce`` never raises and returns ``None`` for anything but a delivery failure or
delay report: a status part (RFC 3464 ``message/delivery-status``, RFC 6533 ``message/global-
delivery-status``) listing a recipient with ``Action: failed``/``delayed`` (none: a 4.x.x/5.x.x
``Status``; only delivered/relayed/expanded: no bounce), a ``multipart/report;
report-type=delivery-status`` without one, or a mail from a mail system (``Return-Path: <>``,
MAILER-DAEMON, postmaster, „Mail Delivery System“, „Microsoft Outlook“, ``X-Failed-Recipients``,
``X-MS-Exchange-Message-Is-Ndr``) whose subject or text says so (qmail, Exim, GMX/1&1, Sendmail,
Exchange, Gmail, Postfix; English or German): its recipients and server text are read from the
text. Never a bounce: read receipts (RFC 8098) and subjects starting like an auto-reply or receipt
(„Automatische Antwort“, „Abwesenheitsnotiz“, „Out of Office“, „Gelesen:“, …).

The original's Message-IDs, most trusted first: the returned original (``message/rfc822``,
``message/global``, ``text/rfc822-headers``, ``message/global-headers``), Gmail's
``X-Original-Message-ID``, header lines quoted in the text (plain or HTML, folded or not), the
bounce's ``In-Reply-To`` and last ``References``. ``X-EWS-Versand`` values likewise.

The recipients and the server's words are read by ``ews.mail.bounce_recipients``, worded
for staff by ``ews.mail.bounce_reasons``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email import message_from_bytes
from email.errors import HeaderParseError
from email.header import decode_header
from email.message import Message
from email.utils import collapse_rfc2231_value

from ews.mail.bounce_reasons import reason_de
from ews.mail.bounce_recipients import (
    ADDRESS,
    FailedRecipient,
    notice_head,
    recipients_in_text,
    report_recipients,
    status_blocks,
)

__all__ = ["Bounce", "FailedRecipient", "read_bounce", "reason_de"]

# An MDN's block has a Final-Recipient but no failure, so a read receipt reads as "no failure".
_STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status",
                           "message/disposition-notification"})
_ORIGINAL_TYPES = frozenset(
    {"message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers"})
# Bounds keep hostile input linear: parts read, characters searched (and in _BOUNCE_WORDS the
# characters between "warning:" and its verb).
_MAX_PARTS, _MAX_TEXT = 200, 1_000_000

_ANGLED = re.compile(r"<([^<>\s]+)>")
_MESSAGE_ID = re.compile(r"(?im)^[ \t>]*message-id:[ \t]*(?:\n[ \t]+)?<?([^\s<>]+)")
_REFERENCE = re.compile(r"(?im)^[ \t>]*x-ews-versand:[ \t]*(?:\n[ \t]+)?([^\s<>;,]+)")
_SENDER_LINE = re.compile(r"(?im)^[ \t>]*(?:from|sender|reply-to|return-path|von):[^\n]*")
_DAEMON = re.compile(r"mailer-daemon|postmaster|mail delivery (?:system|subsystem)"
                     r"|microsoft ?outlook|microsoftexchange|systemverwalter", re.I)
_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(?:automatische antwort|abwesenheit\w*|out of (?:the )?office|automatic reply"
    r"|auto[- ]?reply|auto-?response|urlaub\w*|vacation)\b"
    r"|^\s*(?:gelesen|nicht gelesen|read|not read|lesebestätigung|zugestellt|delivered)\s*:", re.I)
_BOUNCE_WORDS = re.compile(  # in the subject or the notice
    r"undeliver|unzustellbar|nicht zustellbar|delivery status notification|delivery fail"
    r"|returned mail|failure notice|returning message|delayed mail|non-?delivery"
    r"|zustellung (?:fehlgeschlagen|verzögert)|warning: .{0,200}?(?:delayed|could not send)"
    r"|qmail-send program|created automatically by mail delivery software|transcript of session"
    r"|remote server returned|(?:information|informationen) f(?:or|ür) administrators?"
    r"|could ?n[o']t be delivered|was ?n[o']t delivered|nicht zugestellt|nicht erreicht"
    r"|delivery has failed|address not found|failed permanently|unable to deliver"
    r"|not yet been delivered|still being retried|fehlgeschlagen", re.I)
_DELAY = re.compile(r"delayed|verzögert|still being retried|will be retried|not yet been delivered"
                    r"|noch nicht zugestellt|warning only|will (?:continue|keep) trying", re.I)
_PERMANENT = re.compile(r"permanent|endgültig|dauerhaft|given up|gave up|aufgegeben", re.I)


@dataclass(frozen=True)
class Bounce:
    """What a bounce says; ``failed`` (not a mere delay) decides ``permanent`` if no recipients."""

    message_ids: tuple[str, ...]
    references: tuple[str, ...]
    recipients: tuple[FailedRecipient, ...]
    failed: bool = True

    @property
    def permanent(self) -> bool:
        if self.recipients:
            return any(recipient.permanent for recipient in self.recipients)
        return self.failed


@dataclass(frozen=True)
class _Parts:
    notice: str  # the notification texts (plain, and HTML as text), joined
    originals: str  # the returned original(s): headers and whatever body came back
    statuses: tuple[str, ...]  # the status parts as text


def read_bounce(raw: bytes) -> Bounce | None:
    """None when the mail is not a delivery failure/delay report (e.g. an out-of-office reply,
    a read receipt MDN, a normal mail)."""
    message = _parsed(raw)
    if message is None or _AUTO_REPLY_SUBJECT.search(_header(message, "Subject")):
        return None
    parts = _parts(message)
    blocks = [block for text in parts.statuses for block in status_blocks(text)]
    recipients = report_recipients(blocks)
    if recipients is None or not (blocks or _looks_like_bounce(message, parts)):
        return None
    head = notice_head(parts.notice)
    delay = _DELAY.search(_header(message, "Subject") + "\n" + head)
    failed = not delay or bool(_PERMANENT.search(head))
    if not recipients:
        recipients = _text_recipients(message, parts, head, failed)
    references = _unique(_REFERENCE.findall(parts.originals + "\n" + parts.notice))
    return Bounce(_message_ids(message, parts, blocks), references, recipients, failed)


def _parsed(raw: bytes) -> Message | None:
    try:
        return message_from_bytes(raw)
    except (RecursionError, TypeError, ValueError):  # hostile nesting, or not bytes at all
        return None


def _looks_like_bounce(message: Message, parts: _Parts) -> bool:
    report_type = str(collapse_rfc2231_value(message.get_param("report-type", "") or ""))
    if message.get_content_type() == "multipart/report" and report_type:
        return "delivery" in report_type.lower()  # not read receipts, abuse reports, …
    from_system = (_DAEMON.search(_header(message, "From"))
                   or _header(message, "Return-Path") in ("<>", "<MAILER-DAEMON>")
                   or message.get("X-Failed-Recipients") is not None
                   or message.get("X-MS-Exchange-Message-Is-Ndr") is not None)
    return bool(from_system and _BOUNCE_WORDS.search(
        _header(message, "Subject") + "\n" + parts.notice[:50_000]))


def _header(message: Message, name: str) -> str:
    """A header's decoded text on one line; "" when missing."""
    value = message.get(name)
    if value is None:
        return ""
    try:
        chunks = decode_header(value)
    except (HeaderParseError, ValueError, LookupError):
        return " ".join(str(value).split())
    return " ".join("".join(chunk if isinstance(chunk, str) else _text(chunk, charset)
                            for chunk, charset in chunks).split())


def _parts(message: Message) -> _Parts:
    notices: list[str] = []
    originals: list[str] = []
    statuses: list[str] = []
    for part in _leaves(message):
        kind = part.get_content_type()
        if kind in _STATUS_TYPES:
            statuses.append(_part_text(part))
        elif kind in _ORIGINAL_TYPES:
            originals.append(_part_text(part))
        elif kind == "text/html":
            notices.append(_html_text(_part_text(part)))
        elif kind == "text/plain" or part.get_content_maintype() == "multipart":
            notices.append(_part_text(part))  # a multipart here lost its boundary: read as text
    return _Parts("\n".join(notices)[:_MAX_TEXT], "\n".join(originals)[:_MAX_TEXT],
                  tuple(statuses))


def _leaves(message: Message) -> list[Message]:
    """The parts in order, not descending into returned originals and status parts."""
    found: list[Message] = []
    stack = [message]
    while stack and len(found) < _MAX_PARTS:
        part = stack.pop()
        payload = part.get_payload()
        if part.get_content_maintype() == "multipart" and isinstance(payload, list):
            stack.extend(reversed([child for child in payload if isinstance(child, Message)]))
        else:
            found.append(part)
    return found


def _part_text(part: Message) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):  # message/*: the parser made sub-messages of it
        data = _returned_bytes(payload)
    else:
        decoded = part.get_payload(decode=True)
        data = decoded if isinstance(decoded, bytes) else b""
    return _text(data[:_MAX_TEXT], part.get_content_charset())


def _returned_bytes(children: list[Message | str]) -> bytes:
    """Header lines (folds kept) and bodies as parsed: email's generator refuses broken headers."""
    chunks: list[bytes] = []
    stack = list(reversed(children))
    while stack and len(chunks) < _MAX_PARTS:
        part = stack.pop()
        if not isinstance(part, Message):
            continue
        lines = "".join(f"{name}: {value}\n" for name, value in part.raw_items()) + "\n"
        chunks.append(lines.encode("utf-8", "surrogateescape"))
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend(reversed(payload))
        elif isinstance(body := part.get_payload(decode=True), bytes):
            chunks.append(body)
    return b"".join(chunks)


def _text(data: bytes, charset: str | None) -> str:
    for candidate in (charset or "utf-8", "utf-8"):
        try:
            return re.sub(r"\r\n?", "\n", data.decode(candidate))
        except (LookupError, ValueError):
            continue
    return re.sub(r"\r\n?", "\n", data.decode("cp1252", errors="replace"))


def _html_text(markup: str) -> str:
    markup = re.sub(r"(?i)<br\s*/?>|</(?:p|div|tr|li|h\d|pre|table)\s*>", "\n", markup)
    return html.unescape(re.sub(r"<[^<>]*>", "", markup))


def _text_recipients(message: Message, parts: _Parts, head: str,
                     failed: bool) -> tuple[FailedRecipient, ...]:
    """The failed recipients named in the text: not the bounce's own addresses or senders."""
    names = ("From", "To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To", "Return-Path")
    lines = [_header(message, name) for name in names]
    lines += _SENDER_LINE.findall(parts.originals + "\n" + parts.notice)
    own = {address.lower() for line in lines for address in ADDRESS.findall(line)}
    listed = ADDRESS.findall(_header(message, "X-Failed-Recipients")) or ADDRESS.findall(head)
    addresses = _unique(address.lower() for address in listed
                        if address.lower() not in own and not _DAEMON.search(address))
    return recipients_in_text(addresses, head, failed)


def _message_ids(message: Message, parts: _Parts, blocks: list[dict[str, str]]) -> tuple[str, ...]:
    found = _MESSAGE_ID.findall(parts.originals)
    found += _ANGLED.findall(" ".join(block.get("x-original-message-id", "") for block in blocks))
    found += _MESSAGE_ID.findall(parts.notice)
    found += _ANGLED.findall(_header(message, "In-Reply-To"))[:1]
    found += _ANGLED.findall(_header(message, "References"))[-1:]
    own = _ANGLED.findall(_header(message, "Message-ID"))
    return _unique(found_id for found_id in found if found_id not in own)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))
