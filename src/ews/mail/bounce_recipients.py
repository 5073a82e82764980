"""The recipients a bounce names as failed or delayed, and the server's words (pure, no I/O).

From the status part's field blocks (RFC 3464) when there is one, otherwise from the notice's
text: the text after each mention of an address, up to the next other address, is searched
for the server's reply. Bounds keep hostile input linear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_RECIPIENT_FIELDS = frozenset({"final-recipient", "original-recipient", "action"})
# Bounds: recipients, mentions read per recipient, characters after a mention, characters of
# server text, characters of the notice searched for server text when it does not mention the
# recipient (real notices put it within the first few KB).
MAX_RECIPIENTS, _MAX_MENTIONS, _WINDOW, _MAX_DIAGNOSTIC = (50, 10, 3000, 500)
_UNMENTIONED_WINDOW = 20_000

_STATUS = re.compile(r"(?<![\d.])[245]\.\d{1,3}\.\d{1,3}(?![\d.])")
ADDRESS = re.compile(r"(?<![\w.!#$%&'*+/=?^`{|}~-])[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_TYPE_PREFIX = re.compile(r"^\s*[A-Za-z][\w.-]*\s*;\s*")  # "smtp; ", "rfc822;", "X-Postfix; "
_XTEXT = re.compile(r"\\x\{([0-9A-Fa-f]{1,6})\}")  # RFC 6533 utf-8-addr-xtext
_REPLY_HEAD = re.compile(r"^(\d{3})[ -](?:(\d\.\d{1,3}\.\d{1,3}) )?")
# Server text quoted up to the end of its line: the pattern takes the rest of the line (so a
# search reads each line once, however often the phrase repeats on it), the closing mark is
# checked after. Exchange: „… remote server returned '550 …'“, Sendmail: „(reason: 550 …)“.
_QUOTED_DIAGNOSTICS = (
    (re.compile(r"remote server returned\s*'([^\n]*)", re.I), "'"),
    (re.compile(r"\(reason: ([^\n]*)", re.I), ")"),
)
_DIAGNOSTICS = (
    re.compile(r"for the following reason:\s*(\S[^\n]*(?:\n[^\n]+)*)", re.I),  # GMX, 1&1
    re.compile(r"(?<![\w.])[45]\d\d[ -](?=[245]\.\d|[^\W\d]|[<#(\[])[^\n]*(?:\n[ \t]+\S[^\n]*)*"),
)
_COPY_MARKER = re.compile(
    r"(?im)^[^\n]*(?:copy of (?:the|your) message|message follows|original message headers"
    r"|header of the original message|ursprüngliche nachricht|kopie der nachricht)"
    r"|^(?:received|return-path|message-id):")


@dataclass(frozen=True)
class FailedRecipient:
    """One recipient a report says failed (``permanent``) or is still being retried."""

    address: str
    status: str
    diagnostic: str
    permanent: bool


def status_blocks(text: str) -> list[dict[str, str]]:
    """The field blocks of a status part: names lower-cased, values unfolded, first one wins."""
    blocks = []
    for chunk in re.split(r"\n[ \t]*\n", text):
        fields: dict[str, str] = {}
        for line in re.sub(r"\n[ \t]+", " ", chunk).split("\n"):
            name, colon, value = line.partition(":")
            if colon and name.strip():
                fields.setdefault(name.strip().lower(), value.strip())
        if fields:
            blocks.append(fields)
    return blocks


def report_recipients(blocks: list[dict[str, str]]) -> tuple[FailedRecipient, ...] | None:
    """The failed or delayed recipients; None when the report lists only other ones."""
    listed = [block for block in blocks if _RECIPIENT_FIELDS & block.keys()]
    failed = tuple(found for block in listed if (found := _report_recipient(block)))
    return None if listed and not failed else failed[:MAX_RECIPIENTS]


def _report_recipient(block: dict[str, str]) -> FailedRecipient | None:
    action = block.get("action", "").strip().lower()
    diagnostic = _one_line(_TYPE_PREFIX.sub("", block.get("diagnostic-code", ""), count=1))
    status = _first_status(block.get("status", "")) or _first_status(diagnostic)
    if action.startswith(("fail", "delay")):
        permanent = action.startswith("fail")
    elif action or status[:1] not in ("4", "5"):
        return None
    else:
        permanent = status.startswith("5")
    return FailedRecipient(_report_address(block), status, diagnostic, permanent)


def _report_address(block: dict[str, str]) -> str:
    """Original-Recipient (what the office addressed) before Final-Recipient (after aliases)."""
    for name in ("original-recipient", "final-recipient"):
        value = _TYPE_PREFIX.sub("", block.get(name, ""), count=1)
        value = _XTEXT.sub(lambda found: chr(min(int(found.group(1), 16), 0x10FFFF)), value)
        value = value.encode("utf-8", "replace").decode("utf-8")  # no lone surrogates
        address = value.strip().strip("<>").strip().lower()
        if "@" in address:
            return address
    return ""


def _first_status(text: str) -> str:
    found = _STATUS.search(text)
    return found.group(0) if found else ""


def _one_line(text: str) -> str:
    """Server text on one line, multi-line SMTP replies (550-5.1.1 …) joined, at most 500 chars."""
    text = " ".join(text.split())
    head = _REPLY_HEAD.match(text)
    if head:
        code, status = head.group(1), head.group(2)
        again = rf" {code}[ -]{re.escape(status)} " if status else rf" {code}-"
        text = f"{code} {status or ''}".strip() + " " + re.sub(again, " ", text[head.end():])
    return text if len(text) <= _MAX_DIAGNOSTIC else text[:_MAX_DIAGNOSTIC - 1] + "…"


def notice_head(notice: str) -> str:
    """The notice up to the returned copy of the original, whose addresses did not fail."""
    marker = _COPY_MARKER.search(notice)
    return notice[:marker.start()] if marker else notice


def recipients_in_text(addresses: tuple[str, ...], head: str,
                       failed: bool) -> tuple[FailedRecipient, ...]:
    """The failed recipients among ``addresses`` (lower-case), as the notice ``head`` says."""
    addresses = addresses[:MAX_RECIPIENTS]
    mentions = [(found.start(), found.group(0).lower()) for found in ADDRESS.finditer(head)
                if found.group(0).lower() in addresses]
    return tuple(_text_recipient(address, head, mentions, failed) for address in addresses)


def _text_recipient(address: str, head: str, mentions: list[tuple[int, str]],
                    failed: bool) -> FailedRecipient:
    windows = _windows(head, address, mentions)
    diagnostic = next((found for window in windows if (found := _diagnostic_in(window))), "")
    diagnostic = diagnostic or next(
        (found for window in windows if (found := _paragraph_after(window, address))), "")
    status = _first_status(diagnostic) or next(
        (found for window in windows if (found := _first_status(window))), "")
    code = status[:1] or diagnostic[:1]
    permanent = code == "5" if code in ("4", "5") else failed
    return FailedRecipient(address, status, diagnostic, permanent)


def _windows(head: str, address: str, mentions: list[tuple[int, str]]) -> list[str]:
    """The text from each mention of the address to the next mention of another one."""
    starts = [at for at, found in mentions if found == address][:_MAX_MENTIONS]
    ends = [next((at for at, found in mentions if at > start and found != address),
                 len(head)) for start in starts]
    windows = [head[start:min(end, start + _WINDOW)]
               for start, end in zip(starts, ends, strict=True)]
    return windows or [head[:_UNMENTIONED_WINDOW]]


@lru_cache(maxsize=64)  # recipients the notice does not mention share one window
def _diagnostic_in(window: str) -> str:
    for quoted, closing in _QUOTED_DIAGNOSTICS:
        for quote in quoted.finditer(window):
            text = quote.group(1).rstrip(" \t")
            if len(text) > 1 and text.endswith(closing):
                return _one_line(text[:-1])
    for pattern in _DIAGNOSTICS:
        found = pattern.search(window)
        if found:
            return _one_line(found.group(found.lastindex or 0))
    status = _STATUS.search(window)  # GMX "5.1.1 <…>... User Unknown", qmail "… (#5.1.1)"
    if status is None:
        return ""
    start = window.rfind("\n", 0, status.start()) + 1
    end = window.find("\n", status.end())
    return _one_line(window[start:end if end >= 0 else len(window)])


def _paragraph_after(window: str, address: str) -> str:
    """qmail's "<a@b>:\nSorry, I couldn't find any host by that name.": the words that follow."""
    if not window.lower().startswith(address):
        return ""
    return _one_line(window[len(address):].lstrip(">\"': \t\n").split("\n\n", 1)[0])
