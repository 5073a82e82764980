"""read_bounce and reason_de on bounces written the way real mail systems write them."""

from __future__ import annotations

import random
from email.message import Message
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import SMTP

import pytest

from ews.mail.bounces import Bounce, FailedRecipient, read_bounce, reason_de
from tests.support.bouncegen import (
    BOUNCE_STYLES,
    NOT_BOUNCES,
    ORIGINAL_ID,
    REFERENCE,
    RELAYED,
    SECOND,
    WITH_SECOND,
    WITHOUT_ORIGINAL,
    circular_mail,
    header_block,
)

HANS = "hans@example.org"
UNKNOWN = "550 5.1.1 <hans@example.org>: Recipient address rejected: User unknown"
NOT_FOUND = ("550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP "
             "address lookup")
GMAIL = ("550 5.1.1 The email account that you tried to reach does not exist. Please try "
         "double-checking the recipient's email address for typos or unnecessary spaces. "
         "For more information, go to https://support.google.com/mail/?p=NoSuchUser "
         "41be03b00d2f7-5b8f3a1c2d4si1234567a12.34 - gsmtp")
UTF8_ADDRESS = "jürgen.müller@bürgerstiftung-straße.de"

#: style → (recipient, status, server text) given to the generator
CASES: dict[str, tuple[str, str, str]] = {
    "postfix": (HANS, "5.1.1", UNKNOWN + " in virtual mailbox table"),
    "postfix_de": (HANS, "5.2.1", "550 5.2.1 <hans@example.org>: Postfach gesperrt"),
    "exim": (HANS, "5.1.1", "550 5.1.1 <hans@example.org>... User Unknown"),
    "exim_two_recipients": (HANS, "5.1.1", "550 5.1.1 <hans@example.org>... User Unknown"),
    "qmail": (HANS, "5.1.1", "Sorry, no mailbox here by that name. (#5.1.1)"),
    "sendmail": (HANS, "5.1.1", "550 5.1.1 <hans@example.org>... User unknown"),
    "sendmail_old": (HANS, "5.7.1", "554 5.7.1 Message rejected due to content restrictions"),
    "exchange_de": (HANS, "5.1.10", NOT_FOUND),
    "exchange_html_only": (HANS, "5.1.10", NOT_FOUND),
    "gmail": (HANS, "5.1.1", GMAIL),
    "global_utf8": (UTF8_ADDRESS, "5.1.1", f"550 5.1.1 <{UTF8_ADDRESS}>: User unknown"),
    "headers_only": (HANS, "5.3.4", "552 5.3.4 Message size exceeds fixed limit"),
    "delayed": (HANS, "4.4.1", "connect to mx.example.org[192.0.2.25]:25: Connection timed out"),
    "two_recipients": (HANS, "5.1.1", "550 5.1.1 <hans@example.org>... User unknown"),
    "folded_message_id": (HANS, "5.2.2", "552 5.2.2 Mailbox full"),
    "status_only": (HANS, "5.1.2", "550 5.1.2 Host unknown (Name server: example.org: host "
                                   "not found)"),
}


def bounce_of(style: str) -> Bounce:
    recipient, status, diagnostic = CASES[style]
    raw = BOUNCE_STYLES[style](circular_mail(recipient), recipient, status, diagnostic)
    bounce = read_bounce(raw)
    assert bounce is not None, style
    return bounce


def test_every_style_has_a_case() -> None:
    assert set(CASES) == set(BOUNCE_STYLES)


@pytest.mark.parametrize("style", sorted(set(BOUNCE_STYLES) - WITHOUT_ORIGINAL))
def test_bounce_names_the_original_message_id_first(style: str) -> None:
    assert bounce_of(style).message_ids[0] == ORIGINAL_ID


@pytest.mark.parametrize("style", sorted(set(BOUNCE_STYLES) - WITHOUT_ORIGINAL))
def test_bounce_names_the_circular_reference_from_the_returned_headers(style: str) -> None:
    assert bounce_of(style).references == (REFERENCE,)


@pytest.mark.parametrize("style", sorted(WITHOUT_ORIGINAL))
def test_bounce_without_the_original_has_no_message_id_or_reference(style: str) -> None:
    bounce = bounce_of(style)
    assert (bounce.message_ids, bounce.references) == ((), ())
    assert bounce.recipients[0].address == HANS


@pytest.mark.parametrize("style", sorted(BOUNCE_STYLES))
def test_bounce_names_the_failed_recipient_status_and_server_text(style: str) -> None:
    recipient, status, diagnostic = CASES[style]
    first = bounce_of(style).recipients[0]
    assert (first.address, first.status, first.diagnostic) == (recipient, status, diagnostic)


@pytest.mark.parametrize("style", sorted(BOUNCE_STYLES))
def test_bounce_is_permanent_unless_the_report_announces_a_delay(style: str) -> None:
    bounce = bounce_of(style)
    expected = style != "delayed"
    assert bounce.permanent is expected
    assert [r.permanent for r in bounce.recipients] == [expected] * len(bounce.recipients)


@pytest.mark.parametrize("style", sorted(set(BOUNCE_STYLES) - WITH_SECOND))
def test_bounce_with_one_failed_recipient_lists_exactly_one(style: str) -> None:
    assert len(bounce_of(style).recipients) == 1


@pytest.mark.parametrize("style", sorted(WITH_SECOND))
def test_both_failed_recipients_are_listed_with_their_own_status(style: str) -> None:
    recipients = bounce_of(style).recipients
    assert [(r.address, r.status, r.diagnostic) for r in recipients] == [
        (HANS, "5.1.1", CASES[style][2]), SECOND]
    assert RELAYED not in [r.address for r in recipients]


def test_recipient_is_the_address_the_office_wrote_to_not_the_alias_target() -> None:
    raw = BOUNCE_STYLES["postfix"](circular_mail("info@example.org"), *CASES["postfix"])
    raw = raw.replace(b"Original-Recipient: rfc822;hans@example.org",
                      b"Original-Recipient: rfc822;Info@Example.org")
    bounce = read_bounce(raw)
    assert bounce is not None and bounce.recipients[0].address == "info@example.org"


def test_office_address_in_a_transcript_is_not_a_failed_recipient() -> None:
    raw = BOUNCE_STYLES["sendmail_old"](b"", *CASES["sendmail_old"])
    assert b"MAIL From:<ews@example.org>" in raw
    bounce = read_bounce(raw)
    assert bounce is not None
    assert [r.address for r in bounce.recipients] == [HANS]
    assert (bounce.message_ids, bounce.references) == ((), ())


def test_gmail_multi_line_reply_is_joined_without_repeated_codes() -> None:
    diagnostic = bounce_of("gmail").recipients[0].diagnostic
    assert diagnostic == GMAIL
    assert "550-5.1.1" not in diagnostic


def test_bounce_without_returned_original_falls_back_to_in_reply_to() -> None:
    raw = BOUNCE_STYLES["status_only"](circular_mail(), HANS, "5.1.1", UNKNOWN)
    raw = raw.replace(b"MIME-Version", f"In-Reply-To: <{ORIGINAL_ID}>\nMIME-Version".encode(), 1)
    bounce = read_bounce(raw)
    assert bounce is not None and bounce.message_ids == (ORIGINAL_ID,)


def test_bounce_of_raw_header_block_finds_id_and_reference() -> None:
    raw = BOUNCE_STYLES["qmail"](header_block(circular_mail()), HANS, "5.1.1", UNKNOWN)
    bounce = read_bounce(raw)
    assert bounce is not None
    assert (bounce.message_ids, bounce.references) == ((ORIGINAL_ID,), (REFERENCE,))


def test_exim_delay_warning_in_plain_text_is_not_permanent() -> None:
    raw = BOUNCE_STYLES["exim"](circular_mail(), HANS, "", "retry timeout not reached")
    raw = (raw.replace(b"Mail delivery failed: returning message to sender",
                       b"Warning: message 1uE7xR-000Abc-2f delayed 24 hours")
              .replace(b"could not be delivered", b"has not yet been delivered")
              .replace(b"This is a permanent error.", b"Delivery attempts will continue."))
    bounce = read_bounce(raw)
    assert bounce is not None
    assert bounce.recipients == (FailedRecipient(HANS, "", (
        "host mx.example.org [192.0.2.25] SMTP error from remote mail server after RCPT "
        "TO:<hans@example.org>: retry timeout not reached"), False),)
    assert bounce.permanent is False


def test_report_with_failed_status_but_no_action_counts_by_status_class() -> None:
    raw = BOUNCE_STYLES["status_only"](circular_mail(), HANS, "5.1.1", UNKNOWN)
    bounce = read_bounce(raw.replace(b"Action: failed\n", b""))
    assert bounce is not None and bounce.recipients[0].permanent is True


@pytest.mark.parametrize("name", sorted(NOT_BOUNCES))
def test_not_a_bounce_is_none(name: str) -> None:
    assert read_bounce(NOT_BOUNCES[name](circular_mail())) is None


def test_ordinary_mail_is_none() -> None:
    assert read_bounce(circular_mail().as_bytes()) is None


def test_python_generated_report_with_long_folded_diagnostic() -> None:
    long_text = ("550 5.7.1 Service unavailable, Client host [192.0.2.10] blocked using "
                 "Spamhaus. To request removal from this list see "
                 + " ".join(f"https://www.spamhaus.org/query/ip/192.0.2.{i}" for i in range(20)))
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "Mail Delivery System <MAILER-DAEMON@mx.example.net>"
    report["To"] = "ews@example.org"
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report.attach(MIMEText("Your message could not be delivered.\n"))
    per_message, per_recipient = Message(), Message()
    per_message["Reporting-MTA"] = "dns; mx.example.net"
    per_recipient["Final-Recipient"] = f"rfc822; {HANS.upper()}"
    per_recipient["Action"] = "failed"
    per_recipient["Status"] = "5.7.1"
    per_recipient["Diagnostic-Code"] = f"smtp; {long_text}"
    status = Message()
    status.set_type("message/delivery-status")
    status.set_payload([per_message, per_recipient])
    report.attach(status)
    report.attach(MIMEMessage(circular_mail()))
    raw = report.as_bytes(policy=SMTP)
    assert b"\r\n " in raw.split(b"Diagnostic-Code:")[1][:200]  # really folded
    bounce = read_bounce(raw)
    assert bounce is not None
    (recipient,) = bounce.recipients
    assert (recipient.address, recipient.status, recipient.permanent) == (HANS, "5.7.1", True)
    assert recipient.diagnostic == long_text[:499] + "…"
    assert "\n" not in recipient.diagnostic and len(recipient.diagnostic) == 500
    assert (bounce.message_ids, bounce.references) == ((ORIGINAL_ID,), (REFERENCE,))


@pytest.mark.parametrize("raw", [
    b"", b"\r\n\r\n", b"From: MAILER-DAEMON@x\r\nSubject: Undelivered Mail\r\n",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\n",
    b"Content-Type: message/delivery-status\r\n\r\nAction: failed\r\nStatus: 5.1.1\r\n",
    b"Content-Type: multipart/mixed; boundary=a\r\n\r\n" + b"--a\r\nContent-Type: multipart/mixed;"
    b" boundary=a\r\n\r\n" * 500,
    b"\xff\xfe\x00garbage" * 100,
])
def test_garbage_does_not_raise(raw: bytes) -> None:
    result = read_bounce(raw)
    assert result is None or isinstance(result, Bounce)


def test_header_only_daemon_mail_with_bounce_subject_is_a_bounce_without_recipients() -> None:
    bounce = read_bounce(b"From: MAILER-DAEMON@mx.example.net\r\nReturn-Path: <>\r\n"
                         b"Subject: Undelivered Mail Returned to Sender\r\n\r\n")
    assert bounce == Bounce((), (), (), True)
    assert bounce.permanent is True


def test_random_bytes_and_truncated_bounces_do_not_raise() -> None:
    rng = random.Random(20260511)
    samples = [rng.randbytes(rng.randrange(1, 4000)) for _ in range(100)]
    for style, generate in BOUNCE_STYLES.items():
        raw = generate(circular_mail(CASES[style][0]), *CASES[style])
        samples += [raw[:cut] for cut in range(0, len(raw), max(1, len(raw) // 25))]
        samples += [bytes(b ^ 0x20 if rng.random() < 0.02 else b for b in raw)]
    for raw in samples:
        result = read_bounce(raw)
        assert result is None or isinstance(result, Bounce)
        repr(result).encode("utf-8")  # no lone surrogates from undecodable bytes


def test_invalid_utf8_address_escapes_leave_no_lone_surrogates() -> None:
    raw = BOUNCE_STYLES["global_utf8"](circular_mail(), HANS, "5.1.1", UNKNOWN)
    raw = raw.replace(b"Original-Recipient: utf-8;hans@example.org",
                      b"Original-Recipient: utf-8;j\\x{D800}rgen\\x{110000}@example.org")
    bounce = read_bounce(raw)
    assert bounce is not None
    assert bounce.recipients[0].address == "j?rgen\U0010ffff@example.org"


def test_report_without_recipient_fields_falls_back_to_the_notice_text() -> None:
    raw = BOUNCE_STYLES["postfix"](circular_mail(), *CASES["postfix"])
    start = raw.index(b"Final-Recipient")
    raw = raw[:start] + raw[raw.index(b"\n\n", start):]
    bounce = read_bounce(raw)
    assert bounce is not None
    diagnostic = CASES["postfix"][2] + " (in reply to RCPT TO command)"
    assert bounce.recipients == (FailedRecipient(HANS, "5.1.1", diagnostic, True),)


def test_truncated_report_still_names_recipient_and_original() -> None:
    raw = BOUNCE_STYLES["postfix"](circular_mail(), *CASES["postfix"])
    bounce = read_bounce(raw[:raw.index(b"X-EWS-Versand") + 40])  # no closing boundary
    assert bounce is not None
    assert bounce.recipients[0].address == HANS
    assert bounce.message_ids[0] == ORIGINAL_ID


def test_reason_names_address_cause_code_and_server_text() -> None:
    recipient = FailedRecipient(HANS, "5.1.1", UNKNOWN, True)
    assert reason_de(recipient) == (
        "Unzustellbar an hans@example.org: Die Empfangsadresse gibt es nicht (5.1.1). "
        f"Meldung des Servers: {UNKNOWN}")


@pytest.mark.parametrize(("status", "permanent", "expected"), [
    ("5.1.1", True, "Die Empfangsadresse gibt es nicht (5.1.1)."),
    ("5.1.0", True, "Die Empfangsadresse gibt es nicht (5.1.0)."),
    ("5.1.10", True, "Die Empfangsadresse gibt es nicht, der Empfangsserver kennt sie nicht ("),
    ("5.1.2", True, "Die Domain der Empfangsadresse ist unbekannt oder nicht erreichbar (5.1.2)"),
    ("5.4.4", True, "Die Domain der Empfangsadresse ist unbekannt oder nicht erreichbar (5.4.4)"),
    ("5.2.1", True, "Das Postfach ist gesperrt oder deaktiviert (5.2.1)."),
    ("5.2.2", True, "Das Postfach ist voll (5.2.2)."),
    ("5.3.4", True, "Die Nachricht ist zu groß für den Empfangsserver (5.3.4)."),
    ("5.2.3", True, "Die Nachricht ist zu groß für das Postfach (5.2.3)."),
    ("5.7.1", True, "abgelehnt, z. B. wegen seiner Spam- oder Sicherheitsrichtlinie (5.7.1)."),
    ("5.7.606", True, "abgelehnt, z. B. wegen seiner Spam- oder Sicherheitsrichtlinie (5.7.606)"),
    ("5.9.9", True, "Der Empfangsserver hat die Nachricht abgelehnt (5.9.9)."),
    ("", True, "Unzustellbar an hans@example.org: Der Empfangsserver hat die Nachricht abgelehnt."),
])
def test_reason_explains_the_status_code(status: str, permanent: bool, expected: str) -> None:
    text = reason_de(FailedRecipient(HANS, status, "", permanent))
    assert text.startswith("Unzustellbar an hans@example.org: ")
    assert expected in text
    assert "Meldung des Servers" not in text


@pytest.mark.parametrize(("status", "expected"), [
    ("4.2.2", "Noch nicht zugestellt an hans@example.org: Das Postfach ist voll (4.2.2). "
              "Der Fehler ist vorübergehend, der Server versucht es weiter."),
    ("4.4.1", "Noch nicht zugestellt an hans@example.org: Der Empfangsserver hat nicht "
              "geantwortet (4.4.1). Der Fehler ist vorübergehend, der Server versucht es weiter."),
    ("4.9.9", "Noch nicht zugestellt an hans@example.org: Die Zustellung ist vorübergehend "
              "gescheitert (4.9.9). Der Fehler ist vorübergehend, der Server versucht es weiter."),
])
def test_reason_for_a_delay_says_the_server_keeps_trying(status: str, expected: str) -> None:
    assert reason_de(FailedRecipient(HANS, status, "", False)) == expected


@pytest.mark.parametrize(("diagnostic", "expected"), [
    ("550 Benutzer nicht bekannt / User unknown", "Die Empfangsadresse gibt es nicht."),
    ("552 Quota exceeded", "Das Postfach ist voll."),
    ("Sorry, I couldn't find any host by that name.", "Domain der Empfangsadresse ist unbekannt"),
    ("554 Refused. Listed at a blocklist", "Spam- oder Sicherheitsrichtlinie."),
])
def test_reason_without_status_reads_the_server_text(diagnostic: str, expected: str) -> None:
    text = reason_de(FailedRecipient(HANS, "", diagnostic, True))
    assert expected in text and text.endswith(f"Meldung des Servers: {diagnostic}")


def test_reason_for_a_report_without_address() -> None:
    assert reason_de(FailedRecipient("", "5.1.1", "", True)).startswith(
        "Unzustellbar an eine unbekannte Adresse: Die Empfangsadresse gibt es nicht")


@pytest.mark.parametrize("style", sorted(BOUNCE_STYLES))
def test_reason_for_every_style_is_one_line_naming_the_recipient(style: str) -> None:
    for recipient in bounce_of(style).recipients:
        text = reason_de(recipient)
        assert recipient.address in text and "\n" not in text
