"""Whom an automatic answer may go to: the sender's authentication as the receiving server
recorded it in ``Authentication-Results`` (RFC 8601), and the address to answer (pure, no I/O).

Only the header section of the raw mail is read, at most ``MAX_HEADER_BYTES``; at most
``MAX_RESULT_HEADERS`` headers of at most ``MAX_VALUE_CHARS`` characters are parsed (a longer
one counts as unreadable), at most ``MAX_RESULTS`` results each. Nothing here raises on
malformed input: an unreadable header is no result.

Which headers are trusted: anyone can put an ``Authentication-Results`` header into a mail, so
only our own server's count. With ``authserv_id`` set, the headers carrying that authserv-id
from the top of the mail down to the first header of another server (our server adds its
headers on top and, per RFC 8601 section 5, removes foreign ones claiming its id). Without
it, only the topmost header.

The verdict: DMARC ``fail`` in any trusted header is a failure (no answer at all; staff look at
the mail); ``pass`` for the From domain, or a DKIM ``pass`` whose signing domain is aligned
with it, authenticates the sender.

The address answered: the From address. A ``Reply-To`` is used only when it lies in the From
domain (or a subdomain of it), or when the sender is authenticated as above; otherwise a
Reply-To pointing elsewhere could direct our answers at anyone.

Longer than 300 lines because the trust rule (whose headers count), the parsing of the
results and the choice of the answer address are one chain of checks on hostile input: split
apart, a reader would lose which limit guards which step.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

MAX_HEADER_BYTES = 256 * 1024
MAX_VALUE_CHARS = 8192
MAX_RESULT_HEADERS = 20
MAX_RESULTS = 64
_MAX_COMMENT_DEPTH = 16
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FOLD = re.compile(r"\r?\n(?=[ \t])")


@dataclass(frozen=True)
class MethodResult:
    """One ``method=result`` of a header, with its properties (``header.from`` → value)."""

    method: str  # lower-case, without version: "dmarc", "dkim", "spf"
    result: str  # lower-case: "pass", "fail", "none", …
    properties: dict[str, str] = field(default_factory=dict)  # keys lower-case


@dataclass(frozen=True)
class AuthResults:
    """One ``Authentication-Results`` header; ``authserv_id`` is "" when the server omitted it
    (Exchange Online does)."""

    authserv_id: str
    results: tuple[MethodResult, ...] = ()


@dataclass(frozen=True)
class SenderCheck:
    """What the receiving server found out about the sender, and whom to answer."""

    from_address: str | None
    reply_to: str | None
    dmarc: str  # "pass", "fail" or "none" (nothing trusted says)
    dkim_aligned: bool

    @property
    def failed(self) -> bool:
        return self.dmarc == "fail"

    @property
    def authenticated(self) -> bool:
        return self.dmarc == "pass" or self.dkim_aligned

    @property
    def answer_to(self) -> str | None:
        """The address an automatic answer may go to; None: none may go out."""
        if self.failed or self.from_address is None:
            return None
        if self.reply_to is None:
            return self.from_address
        if self.authenticated or _within(domain_of(self.reply_to),
                                         domain_of(self.from_address)):
            return self.reply_to
        return self.from_address

    @property
    def failure_reason(self) -> str | None:
        """German reason for staff when no answer may go out because DMARC failed."""
        if not self.failed:
            return None
        domain = domain_of(self.from_address or "") or "unbekannt"
        return (f"Der empfangende Mailserver konnte nicht bestätigen, dass die E-Mail von der "
                f"Absenderdomain {domain} stammt (DMARC: fail). Sie wird nicht automatisch "
                "beantwortet; eine Mitarbeiterin oder ein Mitarbeiter des Programmbüros sieht "
                "sich die E-Mail an.")


def sender_check(raw: bytes, authserv_id: str | None = None) -> SenderCheck:
    """Read From, Reply-To and the trusted authentication results of a raw mail."""
    headers = _header_section(raw)
    from_address = _first_address(headers.get_all("From") or [])
    reply_to = _first_address(headers.get_all("Reply-To") or [])
    values = [str(value) for value in (headers.get_all("Authentication-Results") or [])]
    trusted = trusted_results(values[:MAX_RESULT_HEADERS], authserv_id)
    from_domain = domain_of(from_address or "")
    return SenderCheck(from_address, reply_to, dmarc_verdict(trusted, from_domain),
                       dkim_aligned(trusted, from_domain))


def trusted_results(values: list[str], authserv_id: str | None) -> list[AuthResults]:
    """The headers (top first) that our own server added: see the module docstring."""
    parsed = [parse_authentication_results(value) for value in values]
    if authserv_id is None or not authserv_id.strip():
        return [parsed[0]] if parsed and parsed[0] is not None else []
    wanted = authserv_id.strip().casefold()
    trusted = []
    for header in parsed:
        if header is None or header.authserv_id.casefold() != wanted:
            break
        trusted.append(header)
    return trusted


def dmarc_verdict(trusted: list[AuthResults], from_domain: str | None) -> str:
    """"fail" when any trusted DMARC result failed, "pass" when one passed for the From
    domain, else "none"."""
    results = [r for header in trusted for r in header.results if r.method == "dmarc"]
    if any(r.result == "fail" for r in results):
        return "fail"
    for r in results:
        checked = r.properties.get("header.from", "").strip().lower().rstrip(".")
        if r.result == "pass" and from_domain and (not checked or checked == from_domain):
            return "pass"
    return "none"


def dkim_aligned(trusted: list[AuthResults], from_domain: str | None) -> bool:
    """Whether a trusted DKIM pass was signed by the From domain (relaxed alignment, without
    a public suffix list: the same domain, or one a subdomain of the other)."""
    if not from_domain:
        return False
    for header in trusted:
        for r in header.results:
            if r.method != "dkim" or r.result != "pass":
                continue
            signer = r.properties.get("header.d") or r.properties.get("header.i", "")
            signer = signer.rpartition("@")[2].strip().lower().rstrip(".")
            if signer and (_within(signer, from_domain) or _within(from_domain, signer)):
                return True
    return False


def parse_authentication_results(value: str) -> AuthResults | None:
    """One header value (RFC 8601), None when it cannot be read or is too long."""
    if len(value) > MAX_VALUE_CHARS:
        return None
    segments = _segments(_FOLD.sub("", value))
    if segments is None or not segments or not segments[0]:
        return None
    head, rest = segments[0], segments[1:]
    # no authserv-id (Exchange Online): the first segment is a result already
    if any(kind == "=" for kind, _ in head):
        authserv_id, rest = "", segments
    else:
        authserv_id = head[0][1]
        if len(head) > 1 and not (len(head) == 2 and head[1][1].isdigit()):
            return None  # more than an id and a version: not an Authentication-Results header
    results = []
    for tokens in rest[:MAX_RESULTS]:
        result = _result(tokens)
        if result is not None:
            results.append(result)
    return AuthResults(authserv_id, tuple(results))


Token = tuple[str, str]  # ("word" | "quoted" | "=", text)


def _segments(text: str) -> list[list[Token]] | None:
    """The value split at ``;`` into tokens, comments dropped; None when malformed (an
    unclosed quote or comment, or comments nested too deep)."""
    segments: list[list[Token]] = [[]]
    word: list[str] = []
    position, depth = 0, 0

    def end_word() -> None:
        if word:
            segments[-1].append(("word", "".join(word)))
            word.clear()

    while position < len(text):
        char = text[position]
        if depth:
            if char == "\\":
                position += 1
            elif char == "(":
                depth += 1
                if depth > _MAX_COMMENT_DEPTH:
                    return None
            elif char == ")":
                depth -= 1
        elif char == "(":
            end_word()
            depth = 1
        elif char == '"':
            end_word()
            closing = _quoted_end(text, position + 1)
            if closing is None:
                return None
            segments[-1].append(("quoted", _unquote(text[position + 1:closing])))
            position = closing
        elif char == ";":
            end_word()
            segments.append([])
        elif char == "=":
            end_word()
            segments[-1].append(("=", "="))
        elif char.isspace():
            end_word()
        else:
            word.append(char)
        position += 1
    if depth:
        return None
    end_word()
    return [segment for segment in segments if segment] if segments[0] else None


def _quoted_end(text: str, start: int) -> int | None:
    position = start
    while position < len(text):
        if text[position] == "\\":
            position += 2
            continue
        if text[position] == '"':
            return position
        position += 1
    return None


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _result(tokens: list[Token]) -> MethodResult | None:
    """``method[/version] = result`` followed by ``name=value`` pairs; a pair that does not
    fit ends the result (what came before it is kept)."""
    if "=" not in (kind for kind, _ in tokens):
        return None  # "none" (no result), or garbage
    equals = next(i for i, (kind, _) in enumerate(tokens) if kind == "=")
    method = "".join(text for _, text in tokens[:equals]).split("/", 1)[0].strip().lower()
    if not method or equals + 1 >= len(tokens) or tokens[equals + 1][0] != "word":
        return None
    result = tokens[equals + 1][1].lower()
    properties: dict[str, str] = {}
    rest = tokens[equals + 2:]
    while len(rest) >= 3 and rest[0][0] == "word" and rest[1][0] == "=" and rest[2][0] != "=":
        properties.setdefault(rest[0][1].lower(), rest[2][1])
        rest = rest[3:]
    return MethodResult(method, result, properties)


def _header_section(raw: bytes) -> Message:
    head = raw[:MAX_HEADER_BYTES]
    end = _HEADER_END.search(head)
    if end is not None:
        head = head[:end.start()]
    try:  # raw UTF-8 (SMTPUTF8) is read as such; other 8-bit bytes end up as U+FFFD
        return HeaderParser(policy=compat32).parsestr(
            head.decode("utf-8", "replace") + "\r\n\r\n")
    except Exception:  # the parser copes with anything; this guards the guard
        return Message()


def _first_address(values: Sequence[object]) -> str | None:
    """The first plausible address of the headers, domain lower-cased."""
    texts = [_FOLD.sub("", str(value)) for value in values[:1]]
    try:
        pairs = email.utils.getaddresses(texts)
    except Exception:
        return None
    for _name, address in pairs:
        local, at, domain = address.strip().rpartition("@")
        domain = domain.strip().rstrip(".").lower()
        if (at and local and "." in domain.strip(".") and not domain.startswith(".")
                and not re.search(r"[\s@<>(),;\"\ufffd\udc80-\udcff]", local + domain)
                and len(address) <= 320):
            return f"{local}@{domain}"
    return None


def domain_of(address: str) -> str | None:
    domain = address.rpartition("@")[2].strip().rstrip(".").lower()
    return domain or None


def _within(domain: str | None, parent: str | None) -> bool:
    """Whether ``domain`` is ``parent`` or one of its subdomains."""
    if not domain or not parent:
        return False
    return domain == parent or domain.endswith("." + parent)
