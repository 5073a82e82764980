"""Every regular expression that reads outside text stays linear on hostile input.

Each case was quadratic (or worse) before: 1,000 spaces took seconds, 100,000 would take hours.
The bound is far above the linear cost (milliseconds) and far below the quadratic one, so the
tests do not flake on a busy machine. CPU time of this process, not wall time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from ews.core.errors import UnreadablePdf
from ews.core.forms import assess_fields, normalise_round
from ews.documents.declaration_text import mark_in_text
from ews.documents.pdf import read_form
from ews.documents.text_layer import checkbox_label_start, fields_from_text
from ews.mail.bounces import read_bounce
from ews.mail.parse import parse_mail

_N = 100_000
_BOUND_SECONDS = 1.0


def _cpu_seconds(call: Callable[[], object]) -> float:
    start = time.process_time()
    call()
    return time.process_time() - start


@pytest.mark.parametrize(
    "text",
    [
        " " * _N,
        "\t" * _N,
        "\x0b\x1c\x1d\x1e\x1f\x85" * (_N // 6),
        "Teammitglied 1" + " " * _N + "x",
        "Teammitglied 1 –" + " " * _N + "x",
        "[x]" + " " * _N + "Teilnahme",
        "Ort, Datum" + " " * _N + ":",
        "PLZ: 1" + " Teammitglied 1 –" * (_N // 17),
        "Seite 1 von 2" + " " * _N + "x",
        "Ort: Hagen\n" * (_N // 11),
        "Runde\r" + "\t" * _N + "R\fu",  # one "line" that normalising breaks in three
    ],
    ids=["spaces", "tabs", "controls", "label-gap", "label-dash-gap", "box-gap", "comma-gap",
         "inline-labels", "footer-gap", "many-lines", "line-breaks-inside"],
)
def test_text_layer_reader_is_linear_on_floods(text: str) -> None:
    assert _cpu_seconds(lambda: fields_from_text(text)) < _BOUND_SECONDS
    assert _cpu_seconds(lambda: checkbox_label_start(text)) < _BOUND_SECONDS


def test_label_match_on_long_whitespace_scales_linearly() -> None:
    small = _cpu_seconds(lambda: fields_from_text("Teammitglied 1" + " " * 200_000 + "x"))
    large = _cpu_seconds(lambda: fields_from_text("Teammitglied 1" + " " * 800_000 + "x"))
    # linear: about 4 times; quadratic would be 16 times (and take minutes)
    assert large < 10 * small + 0.05


def test_round_name_check_is_linear_on_whitespace() -> None:
    assert _cpu_seconds(lambda: normalise_round("ews" + " " * _N + "x")) < _BOUND_SECONDS
    assert _cpu_seconds(lambda: assess_fields({"runde": "EWS" + " " * _N + "-"},
                                              round_name="EWS 6")) < 5 * _BOUND_SECONDS


def _notice(body: str, headers: str = "") -> bytes:
    return ("From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\nReturn-Path: <>\n"
            f"Subject: Undelivered Mail Returned to Sender\n{headers}"
            "Content-Type: text/plain; charset=utf-8\n\n" + body).encode()


_FIFTY_FAILED = "X-Failed-Recipients: " + ", ".join(
    f"person{index}@kommune.example" for index in range(50)) + "\n"


@pytest.mark.parametrize(
    "raw",
    [
        _notice("Delivery has failed\n" + "remote server returned 'x" * (_N // 25), _FIFTY_FAILED),
        _notice("Delivery has failed\n" + "(reason: x" * (_N // 10), _FIFTY_FAILED),
        _notice("Delivery has failed\n" + "for the following reason:" + " " * _N, _FIFTY_FAILED),
        _notice("Delivery has failed\n" + "550 " * (_N // 4), _FIFTY_FAILED),
        _notice("Hinweis\n" + "warning: " * (_N // 9)).replace(b"Undelivered Mail", b"Hinweis"),
        _notice("Delivery has failed to a@b.example\n" + " " * _N),
        _notice("Delivery has failed\n" + "a@b" * (_N // 3)),
    ],
    ids=["exchange-phrase", "sendmail-phrase", "gmx-phrase", "reply-codes", "warning-words",
         "whitespace", "address-like"],
)
def test_bounce_reader_is_linear_on_floods(raw: bytes) -> None:
    assert _cpu_seconds(lambda: read_bounce(raw)) < _BOUND_SECONDS


@pytest.mark.parametrize(
    "text",
    [
        "Ort, Datum: 1" + " " * _N + "x",
        "Ort, Datum: Hagen" + " " * _N + "x 1.1.2027",
        "Ort" + " " * _N + "x",
        "Aktenzeichen" + " " * _N + "x",
    ],
    ids=["named-date-gap", "place-gap", "label-gap", "az-gap"],
)
def test_declaration_reader_is_linear_on_floods(text: str) -> None:
    assert _cpu_seconds(lambda: mark_in_text(text, method="ocr")) < _BOUND_SECONDS


def test_truncation_check_reads_a_run_of_digits_once() -> None:
    data = b"%PDF-1.4\n%%EOF\n" + b"1" * 1_000_000 + b"\n1 0 obj\n"

    def read() -> None:
        with pytest.raises(UnreadablePdf):
            read_form(data, ocr=False)

    assert _cpu_seconds(read) < _BOUND_SECONDS


@pytest.mark.parametrize(
    "raw",
    [
        b"Subject: " + b" " * _N + b"x\r\nFrom: a@b.example\r\n\r\nbody",
        b"From: " + b"<" * _N + b"\r\n\r\n",
        b"Message-ID: " + b"<" * _N + b"\r\n\r\n",
        b"Content-Type: multipart/mixed\r\n\r\n" + b"--" + b" " * _N + b"x\r\n",
        b"Subject: " + b"=?utf-8?q?x?= " * (_N // 15) + b"\r\n\r\n",
        b"Content-Type: text/plain; " + b"a=b; " * (10 * _N // 5) + b"\r\n\r\nx",
        b"Content-Type: application/pdf\r\nContent-Disposition: attachment; "
        + b"filename*0*=x; " * (10 * _N // 15) + b"\r\n\r\n%PDF-1.4",
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        + (b"--b\r\nContent-Type: text/plain; " + b"a=b; " * 200 + b"\r\n\r\nx\r\n") * 1000,
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b"".join(
            b"--b\r\nContent-Type: text/plain; x=%d; " % index + b"a=b; " * 400 + b"\r\n\r\nx\r\n"
            for index in range(100)),
    ],
    ids=["subject-spaces", "from-brackets", "message-id-brackets", "boundary-salvage",
         "encoded-words", "content-type-params", "disposition-continuations", "many-parts",
         "many-long-parts"],
)
def test_mail_parser_is_linear_on_header_floods(raw: bytes) -> None:
    # the email package parses a header at ~5 µs per character: bounded, not fast
    assert _cpu_seconds(lambda: parse_mail(raw)) < 10 * _BOUND_SECONDS
