"""The MIME structure of a mail: parsing with a bound, children, leniently decoded bodies (pure).

No I/O; nothing here raises on a damaged part: what can be read is returned.
"""

from __future__ import annotations

import base64
import binascii
import email
import logging
import re
from email.message import Message

from ews.mail.headers import POLICY, first, raw_headers, unfold

log = logging.getLogger(__name__)

#: a mail (or an enclosed one) with more boundary lines than this is not opened: the email
#: package parses the header of every part, whatever it costs
_MAX_PARTS = 200


class TooManyParts(ValueError):
    """A mail with more parts than are opened; the message is the German reason."""


def message_from(data: bytes) -> Message:
    """Parse a mail or an enclosed one; refuses more than ``_MAX_PARTS`` boundary lines, as the
    email package parses the header of every part, whatever it costs."""
    if data.count(b"\n--") > _MAX_PARTS:
        raise TooManyParts(f"Die Nachricht besteht aus mehr als {_MAX_PARTS} Teilen; ihre "
                            "Anhänge wurden nicht geprüft.")
    return email.message_from_bytes(data, policy=POLICY)


def children(part: Message) -> list[Message]:
    try:
        payload = part.get_payload()
    except Exception as exc:  # a damaged container: no children rather than no mail
        log.debug("Teile eines Containers nicht lesbar: %s", exc)
        return []
    return [child for child in payload if isinstance(child, Message)] if isinstance(
        payload, list) else []


def cte(part: Message) -> str:
    raw = first(raw_headers(part), "content-transfer-encoding") or ""
    return unfold(raw).strip().lower()


def payload_bytes(part: Message) -> bytes:
    """Decoded body of a leaf part; base64 is decoded leniently (bad characters, missing or
    per-line padding), so a damaged attachment still yields what can be read."""
    if cte(part) == "base64":
        decoded = _base64_body(part)
        if decoded is not None:
            return decoded
    return _decoded_body(part)


def _base64_body(part: Message) -> bytes | None:
    """The body of a base64 part decoded leniently; None when its raw text cannot be had
    (then the email package's own decoding is tried)."""
    try:
        payload = part.get_payload(decode=False)
    except Exception as exc:  # a damaged part: fall back to the email package's decoding
        log.debug("Rohtext eines base64-Teils nicht lesbar: %s", exc)
        return None
    if not isinstance(payload, str):
        return None
    try:
        raw = payload.encode("ascii", "surrogateescape")
    except UnicodeEncodeError as exc:  # not the bytes of the mail: fall back likewise
        log.debug("Rohtext eines base64-Teils ist kein ASCII: %s", exc)
        return None
    return lenient_base64(raw)


def _decoded_body(part: Message) -> bytes:
    """The body as the email package decodes it, else its raw text, else nothing."""
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:  # a damaged part: its raw text is the next best
        log.debug("Inhalt eines Teils nicht dekodierbar: %s", exc)
        data = None
    if isinstance(data, bytes):
        return data
    try:
        text = part.get_payload()
    except Exception as exc:  # nothing of the part is readable: it counts as empty
        log.debug("Inhalt eines Teils nicht lesbar: %s", exc)
        return b""
    return text.encode("utf-8", "surrogateescape") if isinstance(text, str) else b""


def lenient_base64(data: bytes) -> bytes:
    """Base64 strictly if it is strict, otherwise whatever the valid characters make (bad
    characters, per-line or missing padding)."""
    strict = _strict_base64(data)
    return strict if strict is not None else _chunked_base64(data)


def _strict_base64(data: bytes) -> bytes | None:
    try:
        return binascii.a2b_base64(b"".join(data.split()), strict_mode=True)
    except (binascii.Error, ValueError):  # not strict base64: decoded chunk by chunk instead
        return None


def _chunked_base64(data: bytes) -> bytes:
    cleaned = re.sub(rb"[^A-Za-z0-9+/=]", b"", data)
    out = bytearray()
    for chunk in re.split(rb"=+", cleaned):
        usable = len(chunk) - len(chunk) % 4
        if len(chunk) % 4 > 1:
            out += base64.b64decode(chunk + b"=" * (4 - len(chunk) % 4))
        elif usable:
            out += base64.b64decode(chunk[:usable])
    return bytes(out)

