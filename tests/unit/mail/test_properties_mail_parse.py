"""Properties of the mail parser: any bytes and any MIME structure (odd headers, encodings,
broken boundaries, deep nesting) give a ParsedMail in bounded time; ``parse_mail`` documents
that it never raises on malformed input."""

from __future__ import annotations

import io
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ews.mail.conversation import read_conversation
from ews.mail.parse import ParsedMail, parse_mail

BOUNDED = settings(max_examples=150, deadline=2000,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _zip(data: bytes, name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


_HEADER_TEXT = st.one_of(
    st.text(max_size=60).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.binary(max_size=60),
    st.sampled_from([b"=?utf-8?q?Bewerbung_=C3=BC?=", b"=?x-unknown?b?AAAA?=", b"=?utf-8?b?!!?=",
                     b"=?iso-8859-1?q?=80=96?=", b"\xc3\xa4\xff", b"<>", b"<<<", b"\"",
                     b"a@b", b"Name <a@b.example>, , ;", b"(comment (nested)", b"\r\n \r\n\t"]),
    st.builds(lambda piece, count: piece * count,
              st.sampled_from([b" ", b"<", b"=?", b"\t", b"\""]),
              st.integers(min_value=1, max_value=5000)),
)
_HEADER_NAMES = st.sampled_from([b"From", b"Reply-To", b"Subject", b"Message-ID", b"To",
                                 b"Auto-Submitted", b"Precedence", b"List-Id", b"Return-Path",
                                 b"X-Failed-Recipients", b"Content-Disposition", b"X-\xff"])
_TYPES = st.sampled_from([b"application/pdf", b"application/octet-stream", b"text/plain",
                          b"application/zip", b"message/rfc822", b"message/delivery-status",
                          b"multipart/report", b"application/ms-tnef", b"x/", b"", b";;;",
                          b"multipart/mixed"])
_ENCODINGS = st.sampled_from([b"base64", b"quoted-printable", b"7bit", b"8bit", b"binary",
                              b"x-uuencode", b"BASE64 ", b"gar\xffbage", b""])
_NAMES = st.sampled_from([b'name="a.pdf"', b"filename*=utf-8''%C3%A4.pdf",
                          b"filename*0*=utf-8''a; filename*1=b.pdf", b'filename="=?utf-8?q?x?="',
                          b'filename="\xe4\xf6.pdf"', b'filename="../../etc/passwd"',
                          b'filename="\x00\x1b[31m.pdf"', b"name=", b"filename*=bogus'x'%ZZ", b""])
_BODIES = st.one_of(st.binary(max_size=300), st.just(_PDF), st.just(_zip(_PDF, "a.pdf")),
                    st.just(b"JVBERi0xLjQK" * 10), st.just(b"UEsDBA===="),
                    st.just(_zip(_zip(_PDF, "x.pdf"), "inner.zip")))


@st.composite
def _headers(draw: st.DrawFn) -> bytes:
    pairs = draw(st.lists(st.tuples(_HEADER_NAMES, _HEADER_TEXT), max_size=6))
    return b"".join(name + b": " + value + b"\r\n" for name, value in pairs)


@st.composite
def _leaf(draw: st.DrawFn) -> bytes:
    kind, encoding, name = draw(_TYPES), draw(_ENCODINGS), draw(_NAMES)
    return (draw(_headers()) + b"Content-Type: " + kind + b"; " + name + b"\r\n"
            + b"Content-Transfer-Encoding: " + encoding + b"\r\n\r\n" + draw(_BODIES))


def _multipart(children: list[bytes], boundary: bytes, broken: bool) -> bytes:
    declared = b"" if broken else b'; boundary="' + boundary + b'"'
    parts = b"".join(b"--" + boundary + b"\r\n" + child + b"\r\n" for child in children)
    return (b"Content-Type: multipart/mixed" + declared + b"\r\n\r\n" + parts
            + b"--" + boundary + b"--\r\n")


def _forwarded(inner: bytes) -> bytes:
    return b"Content-Type: message/rfc822\r\nSubject: Fwd\r\n\r\n" + inner


_MIME = st.recursive(
    _leaf(),
    lambda children: st.one_of(
        st.builds(_multipart, st.lists(children, max_size=4),
                  st.sampled_from([b"b1", b"=_x", b"a" * 70, b" "]), st.booleans()),
        st.builds(_forwarded, children),
    ),
    max_leaves=12,
)


def _checked(parsed: ParsedMail) -> None:
    assert isinstance(parsed.subject, str)
    for pdf in parsed.pdfs:
        assert pdf.name and "/" not in pdf.name and "\x00" not in pdf.name
        assert pdf.data
    assert all(isinstance(reason, str) and reason for reason in parsed.skipped)


@BOUNDED
@given(st.binary(max_size=4000))
def test_any_bytes_give_a_parsed_mail(raw: bytes) -> None:
    _checked(parse_mail(raw))


@BOUNDED
@given(_headers(), _MIME)
def test_any_mime_structure_gives_a_parsed_mail(headers: bytes, body: bytes) -> None:
    _checked(parse_mail(headers + body, max_attachment_bytes=2000, max_zip_members=3,
                        max_depth=2))


@BOUNDED
@given(st.integers(min_value=1, max_value=300))
def test_deep_nesting_gives_a_parsed_mail(depth: int) -> None:
    raw = b"Subject: tief\r\n" + b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" * depth
    _checked(parse_mail(raw))


@BOUNDED
@given(_headers(), _MIME)
def test_the_parsers_message_gives_the_conversation_of_a_second_parse(headers: bytes,
                                                                      body: bytes) -> None:
    """The preparation hands the parser's message to ``read_conversation``: the same facts
    as parsing the bytes again, whatever the structure."""
    raw = headers + body
    parsed = parse_mail(raw, max_attachment_bytes=2000, max_zip_members=3, max_depth=2)
    again = read_conversation(raw, max_file_bytes=2000)
    assert read_conversation(raw, max_file_bytes=2000, message=parsed.message) == again
