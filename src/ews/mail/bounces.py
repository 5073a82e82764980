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
from functools import lru_cache

# An MDN's block has a Final-Recipient but no failure, so a read receipt reads as "no failure".
_STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status",
                           "message/disposition-notification"})
_ORIGINAL_TYPES = frozenset(
    {"message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers"})
_RECIPIENT_FIELDS = frozenset({"final-recipient", "original-recipient", "action"})
# Bounds keep hostile input linear: parts read, characters searched, recipients, mentions read
# per recipient, characters after a mention, characters of server text, characters of the
# notice searched for server text when it does not mention the recipient (real notices put it
# within the first few KB), characters between "warning:" and its verb.
_MAX_PARTS, _MAX_TEXT, _MAX_RECIPIENTS, _MAX_MENTIONS, _WINDOW, _MAX_DIAGNOSTIC = (
    200, 1_000_000, 50, 10, 3000, 500)
_UNMENTIONED_WINDOW = 20_000

_STATUS = re.compile(r"(?<![\d.])[245]\.\d{1,3}\.\d{1,3}(?![\d.])")
_ADDRESS = re.compile(r"(?<![\w.!#$%&'*+/=?^`{|}~-])[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_ANGLED = re.compile(r"<([^<>\s]+)>")
_MESSAGE_ID = re.compile(r"(?im)^[ \t>]*message-id:[ \t]*(?:\n[ \t]+)?<?([^\s<>]+)")
_REFERENCE = re.compile(r"(?im)^[ \t>]*x-ews-versand:[ \t]*(?:\n[ \t]+)?([^\s<>;,]+)")
_SENDER_LINE = re.compile(r"(?im)^[ \t>]*(?:from|sender|reply-to|return-path|von):[^\n]*")
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
class FailedRecipient:
    """One recipient a report says failed (``permanent``) or is still being retried."""

    address: str
    status: str
    diagnostic: str
    permanent: bool


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
    blocks = [block for text in parts.statuses for block in _status_blocks(text)]
    recipients = _report_recipients(blocks)
    if recipients is None or not (blocks or _looks_like_bounce(message, parts)):
        return None
    head = _notice_head(parts.notice)
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


def _status_blocks(text: str) -> list[dict[str, str]]:
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


def _report_recipients(blocks: list[dict[str, str]]) -> tuple[FailedRecipient, ...] | None:
    """The failed or delayed recipients; None when the report lists only other ones."""
    listed = [block for block in blocks if _RECIPIENT_FIELDS & block.keys()]
    failed = tuple(found for block in listed if (found := _report_recipient(block)))
    return None if listed and not failed else failed[:_MAX_RECIPIENTS]


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


def _notice_head(notice: str) -> str:
    """The notice up to the returned copy of the original, whose addresses did not fail."""
    marker = _COPY_MARKER.search(notice)
    return notice[:marker.start()] if marker else notice


def _text_recipients(message: Message, parts: _Parts, head: str,
                     failed: bool) -> tuple[FailedRecipient, ...]:
    names = ("From", "To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To", "Return-Path")
    lines = [_header(message, name) for name in names]
    lines += _SENDER_LINE.findall(parts.originals + "\n" + parts.notice)
    own = {address.lower() for line in lines for address in _ADDRESS.findall(line)}
    listed = _ADDRESS.findall(_header(message, "X-Failed-Recipients")) or _ADDRESS.findall(head)
    addresses = _unique(address.lower() for address in listed
                        if address.lower() not in own and not _DAEMON.search(address))
    addresses = addresses[:_MAX_RECIPIENTS]
    mentions = [(found.start(), found.group(0).lower()) for found in _ADDRESS.finditer(head)
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


# RFC 3463 subject.detail ("1.1" of 5.1.1 and 4.1.1), then the subject alone ("7" of 5.7.x).
_NO_ADDRESS = "Die Empfangsadresse gibt es nicht"
_NO_DOMAIN = "Die Domain der Empfangsadresse ist unbekannt oder nicht erreichbar"
_CAUSES_DE = {
    "1.0": _NO_ADDRESS, "1.1": _NO_ADDRESS, "1.2": _NO_DOMAIN, "4.4": _NO_DOMAIN,
    "1.10": f"{_NO_ADDRESS}, der Empfangsserver kennt sie nicht",
    "1.3": "Die Empfangsadresse ist fehlerhaft geschrieben",
    "1.6": "Die Empfangsperson ist unter dieser Adresse nicht mehr erreichbar",
    "2.1": "Das Postfach ist gesperrt oder deaktiviert",
    "2.2": "Das Postfach ist voll",
    "2.3": "Die Nachricht ist zu groß für das Postfach",
    "3.4": "Die Nachricht ist zu groß für den Empfangsserver",
    "4.1": "Der Empfangsserver hat nicht geantwortet",
    "4.7": "Die Zustellung wurde nach zu langer Wartezeit aufgegeben",
    "1": "Mit der Empfangsadresse stimmt etwas nicht",
    "2": "Das Postfach kann die Nachricht nicht annehmen",
    "3": "Das Mailsystem des Empfängers hat ein Problem",
    "4": "Der Weg zum Empfangsserver ist gestört",
    "6": "Der Inhalt der Nachricht wurde nicht angenommen",
    "7": "Der Empfangsserver hat die Nachricht abgelehnt, z. B. wegen seiner Spam- oder "
         "Sicherheitsrichtlinie",
}
_GUESSES = tuple((re.compile(pattern, re.I), detail) for pattern, detail in (  # words, no code
    (r"host (?:not found|unknown)|find any host|domain not found|unrouteable", "1.2"),
    (r"user unknown|unknown user|no such user|does not exist|no mailbox|recipient not found"
     r"|unknown recipient|existiert nicht|nicht bekannt", "1.1"),
    (r"quota|mailbox (?:is )?full|speicher|postfach (?:ist )?voll", "2.2"),
    (r"too large|too big|size limit|zu groß", "3.4"),
    (r"spam|block|policy", "7.1"),
))


def reason_de(recipient: FailedRecipient) -> str:
    """A clear German sentence for office staff, e.g. 'Unzustellbar an hans@example.org: Die
    Empfangsadresse gibt es nicht (5.1.1). Meldung des Servers: 550 5.1.1 … User unknown'."""
    lead = "Unzustellbar an" if recipient.permanent else "Noch nicht zugestellt an"
    code = f" ({recipient.status})" if recipient.status else ""
    text = f"{lead} {recipient.address or 'eine unbekannte Adresse'}: {_cause_de(recipient)}{code}."
    if not recipient.permanent:
        text += " Der Fehler ist vorübergehend, der Server versucht es weiter."
    if recipient.diagnostic:
        text += f" Meldung des Servers: {recipient.diagnostic}"
    return text


def _cause_de(recipient: FailedRecipient) -> str:
    detail = recipient.status.partition(".")[2] or next(
        (guess for pattern, guess in _GUESSES if pattern.search(recipient.diagnostic)), "")
    cause = _CAUSES_DE.get(detail) or _CAUSES_DE.get(detail.partition(".")[0])
    if cause:
        return cause
    if recipient.permanent:
        return "Der Empfangsserver hat die Nachricht abgelehnt"
    return "Die Zustellung ist vorübergehend gescheitert"
