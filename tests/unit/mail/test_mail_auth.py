"""Authentication-Results (RFC 8601) as real servers write them, and whom an answer may go to."""

from __future__ import annotations

import pytest

from ews.mail.auth import (
    MAX_HEADER_BYTES,
    MAX_VALUE_CHARS,
    parse_authentication_results,
    sender_check,
)
from ews.mail.messages import normalised_address

GMAIL = ("mx.google.com;\r\n       dkim=pass header.i=@stadt.example header.s=20230601 "
         "header.b=Ab/Cd+9;\r\n       spf=pass (google.com: domain of amt@stadt.example "
         "designates 192.0.2.1 as permitted sender) smtp.mailfrom=amt@stadt.example;\r\n"
         "       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=stadt.example")
EXCHANGE_ONLINE = ("spf=pass (sender IP is 192.0.2.7) smtp.mailfrom=stadt.example; "
                   "dkim=pass (signature was verified) header.d=stadt.example;dmarc=pass "
                   "action=none header.from=stadt.example;compauth=pass reason=100")
RSPAMD_FAIL = ('mx.ews.test;\n\tdkim=pass header.d=werbung.example header.s=dkim '
               'header.b=abc;\n\tdmarc=fail reason="SPF not aligned (relaxed); DKIM not '
               'aligned (relaxed)" header.from=stadt.example (policy=reject);\n\tspf=pass '
               '(mx.ews.test: domain of x@werbung.example designates 192.0.2.9 as permitted '
               'sender) smtp.mailfrom=x@werbung.example')


def mail(*headers: str, body: str = "Hallo\r\n") -> bytes:
    lines = [*headers, "To: bewerbung@ews.test", "Subject: Bewerbung"]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode("utf-8", "surrogateescape")


def test_gmail_header_with_comments_and_folded_lines_is_read() -> None:
    header = parse_authentication_results(GMAIL)

    assert header is not None and header.authserv_id == "mx.google.com"
    assert [(r.method, r.result) for r in header.results] == [
        ("dkim", "pass"), ("spf", "pass"), ("dmarc", "pass")]
    assert header.results[0].properties["header.b"] == "Ab/Cd+9"
    assert header.results[2].properties["header.from"] == "stadt.example"


def test_exchange_online_header_without_authserv_id_is_read() -> None:
    header = parse_authentication_results(EXCHANGE_ONLINE)

    assert header is not None and header.authserv_id == ""
    assert [r.method for r in header.results] == ["spf", "dkim", "dmarc", "compauth"]
    assert header.results[2].properties == {"action": "none", "header.from": "stadt.example"}


def test_semicolon_inside_a_quoted_reason_does_not_split_the_result() -> None:
    header = parse_authentication_results(RSPAMD_FAIL)

    assert header is not None
    [dmarc] = [r for r in header.results if r.method == "dmarc"]
    assert dmarc.result == "fail"
    assert dmarc.properties["reason"] == "SPF not aligned (relaxed); DKIM not aligned (relaxed)"
    assert dmarc.properties["header.from"] == "stadt.example"


@pytest.mark.parametrize("value, authserv_id, results", [
    ("mx.ews.test 1; dmarc=pass header.from=a.example", "mx.ews.test", [("dmarc", "pass")]),
    ('"mx.ews.test"; dkim=pass header.d=a.example', "mx.ews.test", [("dkim", "pass")]),
    ("mx.ews.test; none", "mx.ews.test", []),
    ("mx.ews.test (ein (verschachtelter) Kommentar); DMARC = FAIL", "mx.ews.test",
     [("dmarc", "fail")]),
    ("mx.ews.test; dkim/1=pass header.d=a.example", "mx.ews.test", [("dkim", "pass")]),
    ("mx.ews.test;; ; dmarc=none", "mx.ews.test", [("dmarc", "none")]),
    ("mx.ews.test; dmarc=", "mx.ews.test", []),
    ("mx.ews.test; =pass", "mx.ews.test", []),
])
def test_header_variants(value: str, authserv_id: str, results: list[tuple[str, str]]) -> None:
    header = parse_authentication_results(value)

    assert header is not None and header.authserv_id == authserv_id
    assert [(r.method, r.result) for r in header.results] == results


@pytest.mark.parametrize("value", [
    "", "   ", ";dmarc=pass", "mx.ews.test; dmarc=pass (unclosed comment",
    'mx.ews.test; dmarc=pass reason="unclosed', "mx.ews.test extra words; dmarc=pass",
    "mx.ews.test; dmarc=pass" + "(" * 40 + ")" * 40, "x" * (MAX_VALUE_CHARS + 1),
])
def test_garbage_or_oversized_header_is_no_result(value: str) -> None:
    assert parse_authentication_results(value) is None


def test_dmarc_fail_of_our_server_means_no_answer() -> None:
    check = sender_check(mail(f"Authentication-Results: {RSPAMD_FAIL}",
                              "From: Stadt <buergermeister@stadt.example>"), "mx.ews.test")

    assert check.failed and check.answer_to is None
    assert check.failure_reason is not None and "stadt.example" in check.failure_reason


def test_only_our_servers_headers_count_with_an_authserv_id() -> None:
    forged = "Authentication-Results: mx.ews.test; dmarc=pass header.from=stadt.example"
    ours = "Authentication-Results: mx.ews.test; dmarc=fail header.from=stadt.example"
    foreign = "Authentication-Results: mx.google.com; dmarc=pass header.from=stadt.example"
    sender = "From: buergermeister@stadt.example"

    assert sender_check(mail(ours, foreign, forged, sender), "mx.ews.test").dmarc == "fail"
    assert sender_check(mail(foreign, ours, sender), "mx.ews.test").dmarc == "none"
    assert sender_check(mail(ours, sender), "MX.EWS.TEST").dmarc == "fail"


def test_without_authserv_id_only_the_topmost_header_counts() -> None:
    top = "Authentication-Results: mx.ews.test; dmarc=pass header.from=stadt.example"
    below = "Authentication-Results: spoofed; dmarc=fail header.from=stadt.example"
    sender = "From: buergermeister@stadt.example"

    assert sender_check(mail(top, below, sender)).dmarc == "pass"
    assert sender_check(mail(below, top, sender)).dmarc == "fail"


def test_several_results_in_our_headers_one_fail_wins() -> None:
    check = sender_check(mail(
        "Authentication-Results: mx.ews.test; dmarc=pass header.from=stadt.example",
        "Authentication-Results: mx.ews.test; dmarc=fail header.from=stadt.example",
        "From: buergermeister@stadt.example"), "mx.ews.test")

    assert check.failed


def test_no_header_answers_the_from_address_not_a_foreign_reply_to() -> None:
    check = sender_check(mail("From: Bürgermeister <buergermeister@Stadt.Example>",
                              "Reply-To: opfer@anderswo.example"))

    assert check.dmarc == "none" and not check.authenticated
    assert check.answer_to == "buergermeister@stadt.example"


def test_reply_to_in_the_from_domain_is_answered_without_authentication() -> None:
    check = sender_check(mail("From: buergermeister@stadt.example",
                              "Reply-To: Bewerbung <bewerbung@rathaus.stadt.example>"))

    assert check.answer_to == "bewerbung@rathaus.stadt.example"


@pytest.mark.parametrize("result", [
    "dmarc=pass header.from=stadt.example", "dkim=pass header.d=stadt.example",
    "dkim=pass header.i=@mail.stadt.example"])
def test_foreign_reply_to_is_answered_when_the_sender_is_authenticated(result: str) -> None:
    check = sender_check(mail(f"Authentication-Results: mx.ews.test; {result}",
                              "From: buergermeister@stadt.example",
                              "Reply-To: buero@dienstleister.example"), "mx.ews.test")

    assert check.authenticated and check.answer_to == "buero@dienstleister.example"


def test_dkim_of_another_domain_or_dmarc_for_another_domain_does_not_authenticate() -> None:
    check = sender_check(mail(
        "Authentication-Results: mx.ews.test; dkim=pass header.d=werbung.example; "
        "dmarc=pass header.from=werbung.example",
        "From: buergermeister@stadt.example", "Reply-To: opfer@anderswo.example"),
        "mx.ews.test")

    assert not check.authenticated and check.answer_to == "buergermeister@stadt.example"


def test_folded_header_in_the_raw_mail_is_unfolded() -> None:
    check = sender_check(mail("Authentication-Results: mx.ews.test;\r\n\tdmarc=fail\r\n"
                              "\t(p=none dis=none) header.from=stadt.example",
                              "From: buergermeister@stadt.example"), "mx.ews.test")

    assert check.failed


@pytest.mark.parametrize("raw", [
    b"", b"\x00\xff\xfe garbage without headers", b"From: \r\n\r\n",
    b"From: <@>\r\nAuthentication-Results: ((((\r\n\r\n",
    "From: Jürgen <j\udce4@stadt.example>\r\n\r\n".encode("utf-8", "surrogateescape"),
])
def test_garbage_mails_give_no_answer_address_and_no_verdict(raw: bytes) -> None:
    check = sender_check(raw, "mx.ews.test")

    assert check.answer_to is None and check.dmarc == "none"


def test_huge_header_section_is_read_only_up_to_the_limit() -> None:
    filler = "X-Filler: " + "a" * 998
    lines = [filler] * (MAX_HEADER_BYTES // 1000 + 10)
    raw = mail(*lines, "Authentication-Results: mx.ews.test; dmarc=fail",
               "From: buergermeister@stadt.example")

    check = sender_check(raw, "mx.ews.test")

    assert check.dmarc == "none" and check.from_address is None


def test_huge_authentication_results_header_is_ignored() -> None:
    results = "; ".join(f"dkim=pass header.d=d{i}.example" for i in range(2000))
    check = sender_check(mail(f"Authentication-Results: mx.ews.test; {results}; dmarc=fail",
                              "From: buergermeister@stadt.example"), "mx.ews.test")

    assert check.dmarc == "none" and check.answer_to == "buergermeister@stadt.example"


def test_many_results_are_bounded() -> None:
    results = "; ".join("spf=pass" for _ in range(200))
    header = parse_authentication_results(f"mx.ews.test; {results}")

    assert header is not None and len(header.results) == 64


def test_utf8_address_is_answered() -> None:
    check = sender_check("From: Jürgen <jürgen@stadt.example>\r\n\r\n".encode())

    assert check.answer_to == "jürgen@stadt.example"


@pytest.mark.parametrize("spelling", [
    "Buergermeister@Luedenscheid.DE", " buergermeister+bewerbung@luedenscheid.de ",
    "buergermeister@luedenscheid.de"])
def test_one_mailbox_counts_as_one_address_for_the_daily_limit(spelling: str) -> None:
    assert normalised_address(spelling) == "buergermeister@luedenscheid.de"
