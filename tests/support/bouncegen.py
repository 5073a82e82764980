"""Test-only generators of returned mails, written the way real mail systems write them.

Each bounce style takes the office's original mail (an ``EmailMessage``, or its raw bytes, or
just its header block), the failed recipient, the enhanced status code and the server's text,
and returns the raw bytes of the bounce as they arrive in the office's mailbox:

- ``postfix`` / ``postfix_de``: RFC 3464 report from Postfix, English and the German template
  (8-bit UTF-8 notice, CRLF line ends), the original returned as ``message/rfc822``.
- ``exim`` / ``exim_two_recipients``: Exim's plain-text bounce with ``X-Failed-Recipients``.
- ``qmail``: „Hi. This is the qmail-send program …“, remote or local („(#5.1.1)“) failure.
- ``sendmail``: Sendmail's multipart/report; ``sendmail_old``: the plain-text transcript with
  „----- Unsent message follows -----“ and a sender without domain.
- ``exchange_de``: a Microsoft 365 NDR in German: text/plain (quoted-printable) and text/html
  (base64), ``message/delivery-status`` and ``text/rfc822-headers``.
- ``exchange_html_only``: an Exchange NDR that lost its report on the way (gateway): one
  latin-1 HTML part with „Remote Server returned '…'“ and HTML-escaped original headers.
- ``gmail``: „Delivery Status Notification (Failure)“ with a multi-line 550-5.1.1 reply.
- ``global_utf8``: RFC 6533 ``message/global-delivery-status`` with a UTF-8 address and the
  original as ``message/global``.
- ``headers_only``: a report returning only ``text/rfc822-headers``, notice in base64 latin-1.
- ``delayed``: Postfix' „Delayed Mail (still being retried)“, ``Action: delayed``.
- ``two_recipients``: Sendmail report with two failed recipients and one relayed.
- ``folded_message_id``: a German Exim-like plain-text bounce in quoted-printable latin-1 whose
  quoted original has ``Message-Id:`` folded onto the next line.
- ``status_only``: a report with notice and status but without the original.

``NOT_BOUNCES`` build mails that must not count: out-of-office replies (Sieve „Abwesenheitsnotiz“
with ``Return-Path: <>``, Outlook „Automatische Antwort“), a read receipt (MDN), a success DSN
and a human „AW: …“ that quotes the original and mentions a failed delivery.
"""

from __future__ import annotations

import base64
import quopri
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import default
from email.utils import make_msgid

OFFICE = "ews@example.org"
ORIGINAL_ID = "20260511080000.4711.rs-12@ews.example.org"
REFERENCE = "rs-12-2026-05111000"
#: the second failed recipient of ``two_recipients`` and ``exim_two_recipients``
SECOND = ("buergerbuero@gemeinde-beispiel.de", "5.2.2",
          "552 5.2.2 <buergerbuero@gemeinde-beispiel.de>: Mailbox full, quota exceeded")
RELAYED = "poststelle@kreis-beispiel.de"

Original = EmailMessage | bytes
BounceStyle = Callable[[Original, str, str, str], bytes]
NotBounce = Callable[[Original], bytes]

_DATE = "Mon, 11 May 2026 10:00:09 +0200"


def circular_mail(to: str = "hans@example.org") -> EmailMessage:
    """The office's circular as ``ews.outbox.queue`` sends it: 8-bit UTF-8, X-EWS-Versand."""
    mail = EmailMessage(policy=default if to.isascii() else default.clone(utf8=True))
    mail["From"] = f"Entwicklungswerkstatt EWS <{OFFICE}>"
    mail["To"] = to
    mail["Subject"] = "Rundschreiben 12/2026: Fristverlängerung für Anträge"
    mail["Date"] = "Mon, 11 May 2026 10:00:00 +0200"
    mail["Message-ID"] = f"<{ORIGINAL_ID}>"
    mail["X-EWS-Versand"] = REFERENCE
    mail.set_content("Sehr geehrte Damen und Herren,\n\ndie Frist für Anträge wird verlängert.\n"
                     "Grüße aus Düsseldorf\n")
    return mail


def raw_mail(original: Original) -> bytes:
    """The original's bytes with LF line ends, as it sat in the MTA's queue."""
    if isinstance(original, EmailMessage):
        original = original.as_bytes(policy=original.policy.clone(linesep="\n"))
    return original.replace(b"\r\n", b"\n")


def header_block(original: Original) -> bytes:
    return raw_mail(original).split(b"\n\n", 1)[0] + b"\n"


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _folded(text: str, width: int = 70, indent: str = "    ") -> str:
    """Folds a header value at spaces, as MTAs fold a long Diagnostic-Code."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and len(lines[-1]) + len(word) < width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return ("\n" + indent).join(lines)


def _b64(data: bytes) -> bytes:
    encoded = base64.b64encode(data)
    return b"\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))


def _recipient_block(recipient: str, status: str, diagnostic: str, action: str = "failed",
                     kind: str = "rfc822") -> str:
    return (f"Final-Recipient: {kind}; {recipient}\nOriginal-Recipient: {kind};{recipient}\n"
            f"Action: {action}\nStatus: {status}\nRemote-MTA: dns; mx.example.org\n"
            f"Diagnostic-Code: smtp; {_folded(diagnostic)}\n")


# --- Postfix ------------------------------------------------------------------------------


def _postfix_report(headers: str, notice: str, status_block: str, returned: bytes,
                    returned_type: str = "message/rfc822") -> bytes:
    boundary = "4Xk2Lq0Zb7z9sQ4.1778486405/mail.example.net"
    head = (f"{headers}MIME-Version: 1.0\nContent-Type: multipart/report; "
            f"report-type=delivery-status;\n\tboundary=\"{boundary}\"\n"
            "Content-Transfer-Encoding: 8bit\n\nThis is a MIME-encapsulated message.\n\n")
    body = (f"--{boundary}\n{notice}\n--{boundary}\nContent-Description: Delivery report\n"
            "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mail.example.net\n"
            f"X-Postfix-Queue-ID: 4Xk2Lq0Zb7z9sQ4\nX-Postfix-Sender: rfc822; {OFFICE}\n"
            f"Arrival-Date: {_DATE}\n\n{status_block}\n--{boundary}\n"
            f"Content-Description: Undelivered Message\nContent-Type: {returned_type}\n"
            "Content-Transfer-Encoding: 8bit\n\n")
    return (head + body).encode() + returned + f"\n--{boundary}--\n".encode()


def _postfix_headers(subject: str, extra: str = "") -> str:
    return ("Return-Path: <>\nDelivered-To: ews@example.org\n"
            "Received: by mail.example.net (Postfix)\n\tid 4Xk2Lq0Zb7z9sQ4; " + _DATE + "\n"
            f"Date: {_DATE}\nFrom: MAILER-DAEMON@mail.example.net (Mail Delivery System)\n"
            f"Subject: {subject}\nTo: {OFFICE}\nAuto-Submitted: auto-replied\n{extra}"
            "Message-Id: <20260511080009.4Xk2Lq0Zb7z9sQ4@mail.example.net>\n")


def postfix(original: Original, recipient: str, status: str, diagnostic: str) -> bytes:
    notice = ("Content-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n"
              "This is the mail system at host mail.example.net.\n\n"
              "I'm sorry to have to inform you that your message could not\n"
              "be delivered to one or more recipients. It's attached below.\n\n"
              "For further assistance, please send mail to postmaster.\n\n"
              "If you do so, please include this problem report. You can\n"
              "delete your own text from the attached returned message.\n\n"
              "                   The mail system\n\n"
              f"<{recipient}>: host mx.example.org[192.0.2.25] said: "
              f"{_folded(diagnostic)} (in reply to RCPT TO command)\n")
    return _postfix_report(_postfix_headers("Undelivered Mail Returned to Sender"), notice,
                           _recipient_block(recipient, status, diagnostic), raw_mail(original))


def postfix_de(original: Original, recipient: str, status: str, diagnostic: str) -> bytes:
    notice = ("Content-Description: Benachrichtigung\nContent-Type: text/plain; charset=utf-8\n"
              "Content-Transfer-Encoding: 8bit\n\n"
              "Dies ist das Mailsystem auf dem Rechner mail.example.net.\n\n"
              "Leider muss ich Ihnen mitteilen, dass Ihre Nachricht nicht an einen oder\n"
              "mehrere Empfänger zugestellt werden konnte. Sie ist unten angehängt.\n\n"
              "Für weitere Hilfe wenden Sie sich bitte an den Postmaster.\n\n"
              "                   Das Mailsystem\n\n"
              f"<{recipient}>: Rechner mx.example.org[192.0.2.25] meldete: "
              f"{_folded(diagnostic)} (Antwort auf RCPT TO)\n")
    return _crlf(_postfix_report(_postfix_headers("Unzustellbare Nachricht"), notice,
                                 _recipient_block(recipient, status, diagnostic),
                                 raw_mail(original)))


def headers_only(original: Original, recipient: str, status: str, diagnostic: str) -> bytes:
    text = ("Dies ist das Mailsystem auf dem Rechner mail.example.net.\n\n"
            "Ihre Nachricht konnte nicht zugestellt werden. Die Kopfzeilen der\n"
            "Nachricht sind unten angehängt.\n\n"
            f"<{recipient}>: {diagnostic}\n").encode("latin-1")
    notice = ("Content-Description: Notification\nContent-Type: text/plain; charset=iso-8859-1\n"
              "Content-Transfer-Encoding: base64\n\n" + _b64(text).decode() + "\n")
    return _postfix_report(_postfix_headers("Undelivered Mail Returned to Sender"), notice,
                           _recipient_block(recipient, status, diagnostic),
                           header_block(original), "text/rfc822-headers")


def delayed(original: Original, recipient: str, status: str, diagnostic: str) -> bytes:
    notice = ("Content-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n"
              "This is the mail system at host mail.example.net.\n\n"
              "####################################################################\n"
              "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
              "####################################################################\n\n"
              "Your message could not be delivered for more than 4 hour(s).\n"
              "It will be retried until it is 5 day(s) old.\n\n"
              f"<{recipient}>: {diagnostic}\n")
    block = (f"Final-Recipient: rfc822; {recipient}\nOriginal-Recipient: rfc822;{recipient}\n"
             f"Action: delayed\nStatus: {status}\n"
             f"Diagnostic-Code: X-Postfix; {_folded(diagnostic)}\n"
             "Will-Retry-Until: Sat, 16 May 2026 10:00:04 +0200 (CEST)\n")
    return _postfix_report(_postfix_headers("Delayed Mail (still being retried)"), notice, block,
                           header_block(original), "text/rfc822-headers")


def global_utf8(original: Original, recipient: str, status: str, diagnostic: str) -> bytes:
    xtext = "".join(c if ord(c) < 128 else f"\\x{{{ord(c):X}}}" for c in recipient)
    block = (f"Final-Recipient: utf-8; {recipient}\nOriginal-Recipient: utf-8;{xtext}\n"
             f"Action: failed\nStatus: {status}\nRemote-MTA: dns; mx.example.org\n"
             f"Diagnostic-Code: smtp; {_folded(diagnostic)}\n")
    notice = ("Content-Description: Notification\nContent-Type: text/plain; charset=utf-8\n"
              "Content-Transfer-Encoding: 8bit\n\n"
              "This is the mail system at host mail.example.net.\n\n"
              "I'm sorry to have to inform you that your message could not\n"
              "be delivered to one or more recipients. It's attached below.\n\n"
              f"<{recipient}>: host mx.example.org[192.0.2.25] said: {diagnostic}\n")
    raw = _postfix_report(_postfix_headers("Undelivered Mail Returned to Sender"), notice,
                          block, raw_mail(original), "message/global")
    return raw.replace(b"report-type=delivery-status", b"report-type=global-delivery-status"
                       ).replace(b"Content-Type: message/delivery-status",
                                 b"Content-Type: message/global-delivery-status")


# --- Exim, qmail, Sendmail --------------------------------------------------------------------


def _exim(original: Original, failures: list[tuple[str, str, str]]) -> bytes:
    listed = "".join(f"  {recipient}\n    host mx.example.org [192.0.2.25]\n"
                     f"    SMTP error from remote mail server after RCPT TO:<{recipient}>:\n"
                     f"    {diagnostic}\n" for recipient, _, diagnostic in failures)
    failed = ",\n  ".join(recipient for recipient, _, _ in failures)
    head = ("Return-path: <>\nEnvelope-to: ews@example.org\nDelivery-date: " + _DATE + "\n"
            "Received: from mail by relay.example.net with local (Exim 4.96)\n"
            "\tid 1uE7xR-000Abc-2f\n\tfor ews@example.org; " + _DATE + "\n"
            f"X-Failed-Recipients: {failed}\nAuto-Submitted: auto-replied\n"
            "From: Mail Delivery System <Mailer-Daemon@relay.example.net>\n"
            f"To: {OFFICE}\nContent-Type: text/plain; charset=us-ascii\n"
            "Subject: Mail delivery failed: returning message to sender\n"
            f"Message-Id: <E1uE7xR-000Abc-2f@relay.example.net>\nDate: {_DATE}\n\n"
            "This message was created automatically by mail delivery software.\n\n"
            "A message that you sent could not be delivered to one or more of its\n"
            "recipients. This is a permanent error. The following address(es) failed:\n\n"
            f"{listed}\n------ This is a copy of the message, including all the headers."
            " ------\n\n")
    return head.encode() + raw_mail(original)


def exim(original: Original, recipient: str, status: str, diagnostic: str) -> bytes:
    return _exim(original, [(recipient, status, diagnostic)])


def exim_two_recipients(original: Original, recipient: str, status: str,
                        diagnostic: str) -> bytes:
    return _exim(original, [(recipient, status, diagnostic), SECOND])


def qmail(original: Original, recipient: str, status: str, diagnostic: str) -> bytes:
    if diagnostic[:3].isdigit():
        said = (f"192.0.2.25 does not like recipient.\nRemote host said: {diagnostic}\n"
                "Giving up on 192.0.2.25.\n")
    else:  # local delivery: qmail's own words and the status in its "(#5.1.1)" form
        said = f"{diagnostic}\n"
    head = ("Return-Path: <>\nReceived: (qmail 12345 invoked for bounce); "
            "11 May 2026 08:00:09 -0000\nDate: 11 May 2026 08:00:09 -0000\n"
            f"From: MAILER-DAEMON@mx.kommune.example\nTo: {OFFICE}\nSubject: failure notice\n\n"
            "Hi. This is the qmail-send program at mx.kommune.example.\n"
            "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
            "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
            f"<{recipient}>:\n{said}\n--- Below this line is a copy of the message.\n\n")
    return head.encode() + raw_mail(original)


def _sendmail_report(original: Original, failures: list[tuple[str, str, str]],
                     extra_block: str = "") -> bytes:
    boundary = "64B80A9c012345.1778486410/mx.example.net"
    reasons = "".join(f"<{r}>\n    (reason: {d})\n" for r, _, d in failures)
    transcript = "".join(f">>> RCPT To:<{r}>\n<<< {d}\n" for r, _, d in failures)
    blocks = "\n".join(f"Final-Recipient: RFC822; {r}\nAction: failed\nStatus: {s}\n"
                       f"Remote-MTA: DNS; mx.example.org\nDiagnostic-Code: SMTP; {_folded(d)}\n"
                       f"Last-Attempt-Date: {_DATE}\n" for r, s, d in failures)
    text = (f"Return-Path: <MAILER-DAEMON@mx.example.net>\nDate: {_DATE}\n"
            "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>\n"
            f"Message-Id: <202605110800.64B80A9c012345@mx.example.net>\nTo: <{OFFICE}>\n"
            "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status;\n"
            f"\tboundary=\"{boundary}\"\nSubject: Returned mail: see transcript for details\n"
            "Auto-Submitted: auto-generated (failure)\n\nThis is a MIME-encapsulated message\n\n"
            f"--{boundary}\n\nThe original message was received at {_DATE}\n"
            "from office.example.org [192.0.2.10]\n\n"
            "   ----- The following addresses had permanent fatal errors -----\n"
            f"{reasons}\n   ----- Transcript of session follows -----\n"
            f"... while talking to mx.example.org.:\n>>> MAIL From:<{OFFICE}> SIZE=2048\n"
            f"<<< 250 2.1.0 Ok\n{transcript}\n--{boundary}\n"
            "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n"
            "Received-From-MTA: DNS; office.example.org\n"
            f"Arrival-Date: {_DATE}\n\n{blocks}{extra_block}\n--{boundary}\n"
            "Content-Type: message/rfc822\n\n")
    return text.encode() + raw_mail(original) + f"\n--{boundary}--\n".encode()


def sendmail(original: Original, recipient: str, status: str, diagnostic: str) -> bytes:
    return _sendmail_report(original, [(recipient, status, diagnostic)])


def two_recipients(original: Original, recipient: str, status: str, diagnostic: str) -> bytes:
    relayed = (f"\nFinal-Recipient: RFC822; {RELAYED}\nAction: relayed\nStatus: 2.0.0\n"
               "Remote-MTA: DNS; mx.kreis-beispiel.de\n")
    return _sendmail_report(original, [(recipient, status, diagnostic), SECOND], relayed)


def sendmail_old(original: Original, recipient: str, status: str, diagnostic: str) -> bytes:
    head = ("Return-Path: <>\nDate: Mon, 11 May 2026 10:00:09 +0200\n"
            "From: Mail Delivery Subsystem <MAILER-DAEMON>\n"
            f"To: {OFFICE}\nSubject: Returned mail: User unknown\n\n"
            f"The original message was received at {_DATE}\n"
            "from office.example.org [192.0.2.10]\n\n"
            "   ----- Transcript of session follows -----\n"
            f"... while talking to mx.example.org.:\n>>> MAIL From:<{OFFICE}>\n<<< 250 Ok\n"
            f">>> RCPT To:<{recipient}>\n<<< {diagnostic}\n"
            f"550 <{recipient}>... User unknown\n\n   ----- Unsent message follows -----\n")
    return head.encode() + raw_mail(original)


def folded_message_id(original: Original, recipient: str, status: str,
                      diagnostic: str) -> bytes:
    headers = header_block(original).replace(
        f"Message-ID: <{ORIGINAL_ID}>".encode(), f"Message-Id:\n <{ORIGINAL_ID}>".encode())
    text = ("Diese Nachricht wurde automatisch vom Mailsystem erstellt.\n\n"
            "Eine von Ihnen gesendete Nachricht konnte nicht an alle Empfänger zugestellt\n"
            "werden. Dies ist ein dauerhafter Fehler. Folgende Adresse(n) sind fehlgeschlagen:\n\n"
            f"  {recipient}\n    Fehler vom Mailserver nach RCPT TO:<{recipient}>:\n"
            f"    {diagnostic}\n\n"
            "------ Dies ist eine Kopie der Nachricht mit allen Kopfzeilen. ------\n\n")
    body = quopri.encodestring(text.encode("latin-1") + headers)
    head = ("Return-Path: <>\nFrom: Mail Delivery System <MAILER-DAEMON@mail.gemeinde.example>\n"
            f"To: {OFFICE}\nSubject: =?iso-8859-1?q?Unzustellbar=3A_R=FCckl=E4ufer?=\n"
            "MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\n"
            "Content-Transfer-Encoding: quoted-printable\n\n")
    return head.encode() + body


def status_only(original: Original, recipient: str, status: str, diagnostic: str) -> bytes:
    boundary = "==IFJRGLKFGIR25201605110800=="
    text = ("Return-Path: <>\nFrom: Postmaster <postmaster@rathaus.example>\n"
            f"To: {OFFICE}\nSubject: DELIVERY FAILURE: User {recipient} not listed\n"
            "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status;\n"
            f" boundary=\"{boundary}\"\n\n--{boundary}\nContent-Type: text/plain\n\n"
            f"Your message was not delivered to {recipient}.\n\n--{boundary}\n"
            "Content-Type: message/delivery-status\n\nReporting-MTA: dns; rathaus.example\n\n"
            f"Final-Recipient: rfc822; {recipient}\nAction: failed\nStatus: {status}\n"
            f"Diagnostic-Code: smtp; {diagnostic}\n\n--{boundary}--\n")
    return text.encode()


# --- Microsoft Exchange / Microsoft 365, Gmail --------------------------------------------------


def _exchange_notice(recipient: str, diagnostic: str, headers: str) -> tuple[str, str]:
    plain = (f"Ihre Nachricht hat {recipient} nicht erreicht.\n\n"
             "Die Nachricht konnte nicht zugestellt werden. Die E-Mail-Adresse wurde nicht\n"
             "gefunden oder ist ungültig.\n\n"
             "Diagnoseinformationen für Administratoren:\n\n"
             "Generierender Server: FR2P281MB0123.DEUP281.PROD.OUTLOOK.COM\n\n"
             f"{recipient}\nRemote Server returned '{diagnostic}'\n\n"
             f"Ursprüngliche Nachrichtenkopfzeilen:\n\n{headers}")
    escaped = headers.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    markup = ("<html><head><style>p {margin:0}</style></head><body>"
              f"<p><b>Ihre Nachricht hat <a href=\"mailto:{recipient}\">{recipient}</a> "
              "nicht erreicht.</b></p><p>Die Nachricht konnte nicht zugestellt werden.</p>"
              "<p><b>Diagnoseinformationen f&uuml;r Administratoren:</b></p>"
              f"<p>Generierender Server: FR2P281MB0123.DEUP281.PROD.OUTLOOK.COM<br>"
              f"{recipient}<br>Remote Server returned '{diagnostic}'</p>"
              f"<p>Urspr&uuml;ngliche Nachrichtenkopfzeilen:</p><pre>{escaped}</pre>"
              "</body></html>")
    return plain, markup


def exchange_de(original: Original, recipient: str, status: str, diagnostic: str) -> bytes:
    headers = header_block(original).decode("utf-8")
    plain, markup = _exchange_notice(recipient, diagnostic, headers)
    outer, inner = "e1c5f2a7-33e5-4a8b-9d5c-0f6f8d1b2c3d", "b1ebc6ab-d364-4ed7-9dd4-4015390769ec"
    subject = "=?utf-8?B?" + base64.b64encode(
        "Unzustellbar: Rundschreiben 12/2026: Fristverlängerung".encode()).decode() + "?="
    text = ("Return-Path: <>\nFrom: Microsoft Outlook\n <MicrosoftExchange329e71ec88ae4615bbc36ab6"
            f"ce41109e@kreis-beispiel.onmicrosoft.com>\nTo: <{OFFICE}>\nDate: {_DATE}\n"
            "Content-Type: multipart/report; report-type=delivery-status;\n"
            f"\tboundary=\"{outer}\"\n"
            "X-MS-Exchange-Message-Is-Ndr:\nContent-Language: de-DE\n"
            "Message-ID: <3b0c1f2e-7a55-4c1e-9f0e-2b7d5c0a1e9f@FR2P281MB0123.DEUP281.PROD."
            f"OUTLOOK.COM>\nIn-Reply-To: <{ORIGINAL_ID}>\nReferences: <{ORIGINAL_ID}>\n"
            f"Subject: {subject}\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n\n"
            f"--{outer}\nContent-Type: multipart/alternative; differences=Content-Type;\n"
            f"\tboundary=\"{inner}\"\n\n--{inner}\nContent-Type: text/plain; charset=\"utf-8\"\n"
            "Content-Transfer-Encoding: quoted-printable\n\n"
            + quopri.encodestring(plain.encode()).decode() +
            f"\n--{inner}\nContent-Type: text/html; charset=\"utf-8\"\n"
            "Content-Transfer-Encoding: base64\n\n" + _b64(markup.encode()).decode() +
            f"\n--{inner}--\n\n--{outer}\nContent-Type: message/delivery-status\n\n"
            "Reporting-MTA: dns;FR2P281MB0123.DEUP281.PROD.OUTLOOK.COM\n"
            f"Received-From-MTA: dns;mail.example.org\nArrival-Date: {_DATE}\n\n"
            f"Original-Recipient: rfc822;{recipient}\nFinal-Recipient: rfc822;{recipient}\n"
            f"Action: failed\nStatus: {status}\nDiagnostic-Code: smtp;{diagnostic}\n\n"
            f"--{outer}\nContent-Type: text/rfc822-headers\n\n{headers}\n--{outer}--\n")
    return _crlf(text.encode())


def exchange_html_only(original: Original, recipient: str, status: str,
                       diagnostic: str) -> bytes:
    headers = header_block(original).decode("utf-8")
    _, markup = _exchange_notice(recipient, diagnostic, headers)
    markup = markup.replace("&uuml;", "ü")
    boundary = "_000_NDR_GATEWAY_"
    text = ("From: Microsoft Outlook <postmaster@gemeinde-beispiel.de>\n"
            f"To: {OFFICE}\nSubject: Unzustellbar: Rundschreiben 12/2026\nDate: {_DATE}\n"
            f"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"{boundary}\"\n\n"
            f"--{boundary}\nContent-Type: text/html; charset=\"iso-8859-1\"\n"
            "Content-Transfer-Encoding: quoted-printable\n\n")
    body = quopri.encodestring(markup.encode("latin-1", errors="replace"))
    return _crlf(text.encode() + body + f"\n--{boundary}--\n".encode())


def _gmail_reply(diagnostic: str) -> str:
    """Gmail's multi-line reply: every line but the last prefixed '550-5.1.1'."""
    code, status, text = (diagnostic.split(" ", 2) + ["", ""])[:3]
    lines = _folded(text, 60, "\n").split("\n\n")
    return "\n ".join(f"{code}{'-' if i < len(lines) - 1 else ' '}{status} {line}"
                      for i, line in enumerate(lines))


def gmail(original: Original, recipient: str, status: str, diagnostic: str) -> bytes:
    outer, related, alternative = ("000000000000a1b2c3", "000000000000a1b2c4",
                                   "000000000000a1b2c5")
    plain = (f"\n** Address not found **\n\nYour message wasn't delivered to {recipient} because "
             "the address couldn't be found, or is unable to receive mail.\n\nLearn more here: "
             "https://support.google.com/mail/?p=NoSuchUser\n\nThe response was:\n\n"
             f"{diagnostic}\n")
    text = ("Return-Path: <>\nFrom: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
            f"To: {OFFICE}\nAuto-Submitted: auto-replied\n"
            f"Message-ID: {make_msgid(domain='mx.google.com')}\nDate: {_DATE}\n"
            f"Subject: Delivery Status Notification (Failure)\nReferences: <{ORIGINAL_ID}>\n"
            f"In-Reply-To: <{ORIGINAL_ID}>\nX-Failed-Recipients: {recipient}\nMIME-Version: 1.0\n"
            f"Content-Type: multipart/report; boundary=\"{outer}\"; report-type=delivery-status\n\n"
            f"--{outer}\nContent-Type: multipart/related; boundary=\"{related}\"\n\n"
            f"--{related}\nContent-Type: multipart/alternative; boundary=\"{alternative}\"\n\n"
            f"--{alternative}\nContent-Type: text/plain; charset=\"UTF-8\"\n\n{plain}\n"
            f"--{alternative}\nContent-Type: text/html; charset=\"UTF-8\"\n\n<html><body>"
            f"<h1>Address not found</h1><p>Your message wasn't delivered to <b>{recipient}</b>"
            f"</p></body></html>\n--{alternative}--\n\n--{related}\nContent-Type: image/png; "
            "name=\"icon.png\"\nContent-Transfer-Encoding: base64\nContent-ID: <icon.png>\n\n"
            f"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAA\n"
            f"--{related}--\n\n--{outer}\nContent-Type: message/delivery-status\n\n"
            f"Reporting-MTA: dns; googlemail.com\nReceived-From-MTA: dns; {OFFICE}\n"
            f"Arrival-Date: {_DATE}\nX-Original-Message-ID: <{ORIGINAL_ID}>\n\n"
            f"Final-Recipient: rfc822; {recipient}\nAction: failed\nStatus: {status}\n"
            "Remote-MTA: dns; mx.example.org. 192.0.2.25\n"
            f"Diagnostic-Code: smtp; {_gmail_reply(diagnostic)}\n"
            f"Last-Attempt-Date: {_DATE}\n\n--{outer}\nContent-Type: message/rfc822\n\n")
    return _crlf(text.encode() + raw_mail(original) + f"\n--{outer}--\n".encode())


BOUNCE_STYLES: dict[str, BounceStyle] = {
    "postfix": postfix,
    "postfix_de": postfix_de,
    "exim": exim,
    "exim_two_recipients": exim_two_recipients,
    "qmail": qmail,
    "sendmail": sendmail,
    "sendmail_old": sendmail_old,
    "exchange_de": exchange_de,
    "exchange_html_only": exchange_html_only,
    "gmail": gmail,
    "global_utf8": global_utf8,
    "headers_only": headers_only,
    "delayed": delayed,
    "two_recipients": two_recipients,
    "folded_message_id": folded_message_id,
    "status_only": status_only,
}
#: styles that return nothing of the original
WITHOUT_ORIGINAL = frozenset({"status_only"})
#: styles that report SECOND as well
WITH_SECOND = frozenset({"two_recipients", "exim_two_recipients"})


# --- not bounces --------------------------------------------------------------------------------


def out_of_office(original: Original) -> bytes:
    """Sieve vacation (GMX, web.de, Dovecot): null sender, Auto-Submitted, German subject."""
    text = ("Return-Path: <>\nFrom: Hans Beispiel <hans@example.org>\n"
            f"To: {OFFICE}\nSubject: Abwesenheitsnotiz: Rundschreiben 12/2026\n"
            f"Date: {_DATE}\nAuto-Submitted: auto-replied (vacation)\n"
            f"In-Reply-To: <{ORIGINAL_ID}>\nReferences: <{ORIGINAL_ID}>\n"
            "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
            "Content-Transfer-Encoding: 8bit\n\n"
            "Vielen Dank für Ihre Nachricht. Ich bin bis zum 22.05.2026 nicht im Büro.\n"
            "Ihre Nachricht wird nicht weitergeleitet und nicht zugestellt an Vertretungen.\n")
    return text.encode()


def out_of_office_outlook(original: Original) -> bytes:
    markup = ("<html><body><p>Ich bin bis einschlie&szlig;lich 22.05. abwesend. "
              "In dringenden F&auml;llen wenden Sie sich an das B&uuml;rgerb&uuml;ro.</p>"
              "</body></html>")
    text = ("From: \"Beispiel, Hans\" <hans@example.org>\n"
            f"To: {OFFICE}\nSubject: =?utf-8?Q?Automatische_Antwort:_Rundschreiben_12/2026?=\n"
            f"Date: {_DATE}\nAuto-Submitted: auto-replied\nX-Auto-Response-Suppress: All\n"
            "X-MS-Exchange-Inbox-Rules-Loop: hans@example.org\n"
            f"In-Reply-To: <{ORIGINAL_ID}>\nMIME-Version: 1.0\n"
            "Content-Type: text/html; charset=\"utf-8\"\nContent-Transfer-Encoding: base64\n\n"
            + _b64(markup.encode()).decode() + "\n")
    return _crlf(text.encode())


def read_receipt(original: Original) -> bytes:
    """An RFC 8098 MDN as Thunderbird sends it in German: Final-Recipient, the original's id."""
    boundary = "------------mdn-0A1B2C3D4E"
    text = ("From: Hans Beispiel <hans@example.org>\n"
            f"To: {OFFICE}\nDate: {_DATE}\n"
            "Subject: =?UTF-8?Q?Empfangsbest=C3=A4tigung_=28angezeigt=29_-_Rundschreiben?=\n"
            "MIME-Version: 1.0\nContent-Type: multipart/report; "
            f"report-type=disposition-notification;\n boundary=\"{boundary}\"\n\n"
            f"--{boundary}\nContent-Type: text/plain; charset=UTF-8\n\n"
            "Dies ist eine Empfangsbestätigung für die Nachricht, die Sie an hans@example.org "
            f"gesendet haben.\n\n--{boundary}\nContent-Type: message/disposition-notification\n\n"
            "Reporting-UA: pc-hans; Thunderbird 128.5.0\n"
            "Final-Recipient: rfc822;hans@example.org\n"
            f"Original-Message-ID: <{ORIGINAL_ID}>\n"
            "Disposition: manual-action/MDN-sent-manually; displayed\n\n"
            f"--{boundary}\nContent-Type: text/rfc822-headers\n\n")
    return text.encode() + header_block(original) + f"\n--{boundary}--\n".encode()


def delivery_success(original: Original) -> bytes:
    """Postfix' success DSN (NOTIFY=SUCCESS): a delivery-status report of delivered/relayed."""
    notice = ("Content-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n"
              "This is the mail system at host mail.example.net.\n\n"
              "Your message was successfully delivered to the destination(s)\n"
              "listed below.\n\n<hans@example.org>: delivery via mx.example.org: 250 2.0.0 Ok\n")
    block = ("Final-Recipient: rfc822; hans@example.org\nAction: relayed\nStatus: 2.0.0\n"
             "Remote-MTA: dns; mx.example.org\nDiagnostic-Code: smtp; 250 2.0.0 Ok: queued\n\n"
             "Final-Recipient: rfc822; info@example.org\nAction: delivered\nStatus: 2.0.0\n")
    return _postfix_report(_postfix_headers("Successful Mail Delivery Report"), notice, block,
                           header_block(original), "text/rfc822-headers")


def human_reply(original: Original) -> bytes:
    """Outlook „AW:“ quoting the original, whose writer mentions a failed delivery."""
    quoted = ("Guten Tag,\n\nIhre erste Mail an meine alte Adresse konnte nicht zugestellt "
              "werden (550 5.1.1), bitte nutzen Sie künftig diese.\n\nMit freundlichen Grüßen\n"
              "Hans Beispiel\n\n-----Ursprüngliche Nachricht-----\n"
              f"Von: Entwicklungswerkstatt EWS <{OFFICE}>\nGesendet: Montag, 11. Mai 2026 10:00\n"
              "An: hans@example.org\nBetreff: Rundschreiben 12/2026\n\n"
              "Sehr geehrte Damen und Herren,\n")
    text = ("From: Hans Beispiel <hans@example.org>\n"
            f"To: {OFFICE}\nSubject: AW: Unzustellbar: Rundschreiben 12/2026\nDate: {_DATE}\n"
            f"In-Reply-To: <{ORIGINAL_ID}>\nReferences: <{ORIGINAL_ID}>\n"
            "X-Auto-Response-Suppress: All\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=\"iso-8859-1\"\n"
            "Content-Transfer-Encoding: quoted-printable\n\n")
    return text.encode() + quopri.encodestring(quoted.encode("latin-1"))


NOT_BOUNCES: dict[str, NotBounce] = {
    "out_of_office": out_of_office,
    "out_of_office_outlook": out_of_office_outlook,
    "read_receipt": read_receipt,
    "delivery_success": delivery_success,
    "human_reply": human_reply,
}
