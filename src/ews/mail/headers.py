"""Header values of a mail, read without ever raising: RFC 2047/2231, 8-bit, addresses (pure).

No I/O. The email package's header parser spends about 5 µs per character and parses a header
again each time it is asked: of one header value only the first 2 KB are parsed (real ones are
far shorter), and each value once (``POLICY``).
"""

from __future__ import annotations

import email.header
import email.message
import email.policy
import email.utils
import logging
import re
from email.message import Message
from functools import lru_cache
from typing import Any

from ews.core.plain_text import plain_text

log = logging.getLogger(__name__)

_MAX_HEADER_CHARS = 2048


class _BoundedPolicy(email.policy.EmailPolicy):
    """``email.policy.default``, parsing at most ``_MAX_HEADER_CHARS`` of a header value, and
    an equal value only once."""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if hasattr(value, "name"):  # parsed already
            return value
        return parsed_header(name, value.replace("\r", "").replace("\n", ""))


POLICY = _BoundedPolicy()


def parsed_header(name: str, value: str) -> Any:
    """A header object from an unfolded value; immutable, so one may serve every part with the
    same value."""
    return _parsed_header_once(name.lower(), value[:_MAX_HEADER_CHARS])


@lru_cache(maxsize=512)
def _parsed_header_once(name: str, value: str) -> Any:
    return POLICY.header_factory(name, value)


def raw_headers(message: Message) -> dict[str, list[str]]:
    """Header values exactly as received (no parsing that could raise), keyed lower-case."""
    found: dict[str, list[str]] = {}
    try:
        items = list(message.raw_items())
    except Exception as exc:  # a header block the parser broke on: read as having none
        log.debug("Kopfzeilen nicht lesbar: %s", exc)
        return found
    for name, value in items:
        found.setdefault(str(name).strip().lower(), []).append(str(value)[:_MAX_HEADER_CHARS])
    return found


def first(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def repair_8bit(text: str) -> str:
    """Raw 8-bit header bytes arrive as surrogate escapes: decode them as UTF-8, else cp1252."""
    if not any("\udc80" <= char <= "\udcff" for char in text):
        return text
    data = text.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def fix_c1(text: str) -> str:
    """C1 controls come from windows-1252 text labelled iso-8859-1 (Outlook's „–“, „€“):
    read them as windows-1252, as browsers do."""
    if not any("\x80" <= char <= "\x9f" for char in text):
        return text
    return "".join(bytes([ord(char)]).decode("cp1252", "replace") if "\x80" <= char <= "\x9f"
                   else char for char in text)


def unfold(text: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", text).replace("\r", "").replace("\n", "")


def unstructured(raw: str | None) -> str:
    """Decode an unstructured header value (RFC 2047); policy.default first, decode_header
    as the fallback for values it cannot parse or only decodes with replacement characters."""
    if not raw:
        return ""
    text = repair_8bit(unfold(raw))
    decoded = _policy_decoded(text)
    if decoded is not None and ("\ufffd" not in decoded or "=?" not in text):
        return plain_text(fix_c1(decoded)).strip()
    return plain_text(fix_c1(_decode_words(text))).strip()


def _policy_decoded(text: str) -> str | None:
    """An unstructured value as policy.default decodes it; None where its parser fails."""
    try:
        return str(POLICY.header_factory("subject", text))
    except Exception as exc:  # the parser fails on some malformed values: decode_header next
        log.debug("Kopfzeile mit policy.default nicht lesbar, Ersatzdekodierung: %s", exc)
        return None


def _decode_words(text: str) -> str:
    """RFC 2047 with compat32's decode_header; unknown charsets fall back to UTF-8, cp1252."""
    try:
        parts = email.header.decode_header(text)
    except Exception:  # undecodable encoded words: the raw text is shown
        return text
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
        elif charset is None:
            out.append(chunk.decode("raw-unicode-escape", "replace"))
        else:
            out.append(_decode_bytes(chunk, charset))
    return "".join(out)


def _decode_bytes(data: bytes, charset: str) -> str:
    for candidate in (charset, "utf-8"):
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("cp1252", "replace")


def addresses(raw: str | None) -> list[tuple[str, str]]:
    if not raw:
        return []
    try:
        return email.utils.getaddresses([repair_8bit(unfold(raw))])
    except Exception:  # an address list the parser breaks on: no addresses
        return []


def first_valid(pairs: list[tuple[str, str]]) -> str | None:
    """The first address that looks deliverable, domain lower-cased (IDN kept as given)."""
    for _name, address in pairs:
        local, at, domain = address.strip().rpartition("@")
        domain = domain.strip().rstrip(".")
        if (at and local and "." in domain.strip(".") and not domain.startswith(".")
                and not re.search(r"[\s@<>(),;]", local + domain)):
            return f"{local}@{domain.lower()}"
    return None


def message_id(raw: str | None) -> str | None:
    if not raw:
        return None
    text = repair_8bit(unfold(raw)).strip()
    match = re.search(r"<([^<>]*)>", text)
    value = (match.group(1) if match else text).strip()
    return value or None


def content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:  # a malformed Content-Type: its raw value decides
        raw = first(raw_headers(part), "content-type") or "text/plain"
        value = raw.split(";", 1)[0].strip().lower()
        return value if "/" in value else "text/plain"


def param(part: Message, header: str, name: str) -> str | None:
    """A header parameter (RFC 2231 with continuations and charsets, RFC 2047 inside quotes,
    raw 8-bit), policy.default first, compat32 + decode_header as the fallback."""
    raw = first(raw_headers(part), header)
    if raw is None:
        return None
    text = repair_8bit(unfold(raw))
    value: str | None = None
    try:
        params = getattr(parsed_header(header, text), "params", {})
        found = params.get(name)
        value = str(found) if found is not None else None
    except Exception:  # a parameter policy.default cannot parse: compat32 next
        value = None
    if value is None or "\ufffd" in value:
        value = _compat_param(text, name) or value
    return value


def _compat_param(text: str, name: str) -> str | None:
    try:
        legacy = email.message.Message()
        legacy["Content-Type"] = text
        found = legacy.get_param(name, header="content-type")
        if found is None or found == "":
            return None
        return _decode_words(email.utils.collapse_rfc2231_value(found))
    except Exception:  # compat32 failed as well: no such parameter
        return None


def filename(part: Message) -> str | None:
    return param(part, "content-disposition", "filename") or param(part, "content-type", "name")
