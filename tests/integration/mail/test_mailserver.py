"""The mail test infrastructure itself: real Dovecot, SMTP server and cutting proxy."""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
import threading
import time
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage

import imaplib2
import pytest

from tests.support.mailserver import (
    CuttingProxy,
    Dovecot,
    MailServers,
    StoredMessage,
    imap_quote,
    parse_fetch,
)

pytestmark = pytest.mark.timeout(60)

USER = "bewerbungen@ews.test"
KOMMUNE = "rathaus@olpe.test"
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


def application_mail(subject: str = "Bewerbung EWS 6 Olpe", pdf: bytes = PDF) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Stadt Olpe <rathaus@olpe.test>"
    message["To"] = USER
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4()}@olpe.test>"
    message.set_content("Sehr geehrte Damen und Herren,\nanbei unsere Bewerbung.\n")
    message.add_attachment(pdf, maintype="application", subtype="pdf",
                           filename="Bewerbung Olpe.pdf")
    return message


def pdf_attachments(raw: bytes) -> list[bytes]:
    message = StoredMessage(0, set(), raw).message
    return [part.get_content() for part in message.iter_attachments()
            if part.get_content_type() == "application/pdf"]


def fetch(imap: imaplib2.IMAP4, uid: int) -> bytes:
    typ, data = imap.uid("FETCH", str(uid), "(UID FLAGS BODY.PEEK[])")
    assert typ == "OK", data
    (message,) = parse_fetch(data)
    return message.raw


@pytest.mark.parametrize("use_ssl", [False, True], ids=["imap", "imaps"])
def test_append_and_fetch_back_pdf(mail: MailServers, use_ssl: bool) -> None:
    when = datetime(2026, 2, 28, 23, 59, 30, tzinfo=UTC)  # Dovecot replaces future dates
    uid = mail.dovecot.append(USER, application_mail(), internaldate=when)

    imap = mail.dovecot.imap(USER, ssl=use_ssl)
    try:
        assert imap.select("INBOX")[0] == "OK"
        raw = fetch(imap, uid)
        typ, data = imap.uid("FETCH", str(uid), "(INTERNALDATE)")
        assert typ == "OK" and b'"28-Feb-2026 23:59:30 +0000"' in data[0]
        if use_ssl:
            assert imap.sock.version() in ("TLSv1.2", "TLSv1.3")
    finally:
        imap.logout()
    assert pdf_attachments(raw) == [PDF]


def test_imaps_certificate_is_verified(dovecot: Dovecot) -> None:
    context = dovecot.ssl_context()  # hostname check against the SAN IP:127.0.0.1
    with socket.create_connection((dovecot.host, dovecot.imaps_port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.recv(100).startswith(b"* OK")
    with pytest.raises(ssl.SSLCertVerificationError):  # a different trust store fails
        with socket.create_connection((dovecot.host, dovecot.imaps_port), timeout=5) as raw:
            ssl.create_default_context().wrap_socket(raw, server_hostname="127.0.0.1")


def test_wrong_password_is_refused_without_growing_penalty(dovecot: Dovecot) -> None:
    for attempt in range(3):
        with pytest.raises(imaplib2.IMAP4.error, match="AUTHENTICATIONFAILED"):
            dovecot.imap(USER, password=f"falsch{attempt}")
    began = time.monotonic()
    dovecot.imap(USER).logout()
    assert time.monotonic() - began < 1  # Dovecot's auth penalty (up to 15 s) is disabled


def test_idle_notification_within_five_seconds(mail: MailServers) -> None:
    idler = mail.dovecot.imap(USER)
    notified = threading.Event()
    try:
        idler.select("INBOX")
        idler.idle(timeout=30, callback=lambda args: notified.set())
        time.sleep(0.3)  # let the server confirm IDLE before the change
        began = time.monotonic()
        mail.dovecot.append(USER, application_mail())  # a second connection
        assert notified.wait(5), "no IDLE notification within 5 s"
        latency = time.monotonic() - began
        assert idler.response("EXISTS")[1][-1] == b"1"
    finally:
        idler.logout()
    assert latency < 5


def test_lmtp_creates_mailbox_for_any_address(mail: MailServers) -> None:
    address = f"Neu.{uuid.uuid4().hex[:8]}@Irgendwo.test"
    assert address.lower() not in mail.dovecot.users()

    mail.dovecot.deliver(application_mail(), to=address)

    assert address.lower() in mail.dovecot.users()
    (stored,) = mail.dovecot.wait_for_messages(address, 1, timeout=5)
    assert stored.message["Delivered-To"] == address
    assert pdf_attachments(stored.raw) == [PDF]


def sent_letter(to: str = KOMMUNE) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "EWS Geschäftsstelle <ews@ews.test>"
    message["To"] = to
    message["Subject"] = "Eingangsbestätigung Ihrer Bewerbung"
    message.set_content("Ihre Bewerbung ist eingegangen.")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="Brief.pdf")
    return message


@pytest.mark.parametrize("mode", ["plain", "starttls", "implicit"])
def test_smtp_delivers_into_recipient_mailbox(mail: MailServers, mode: str) -> None:
    smtp, context = mail.smtp, mail.dovecot.ssl_context()
    client: smtplib.SMTP
    if mode == "implicit":
        assert smtp.tls_port is not None
        client = smtplib.SMTP_SSL(smtp.host, smtp.tls_port, timeout=5, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=5)
        if mode == "starttls":
            client.starttls(context=context)
    with client:
        if mode != "plain":
            client.login("ews@ews.test", "geheim")
        assert client.send_message(sent_letter()) == {}

    (envelope,) = smtp.received
    assert envelope.rcpt_tos == [KOMMUNE]
    assert envelope.tls is (mode != "plain")
    assert envelope.authenticated_as == (None if mode == "plain" else "ews@ews.test")
    (stored,) = mail.dovecot.wait_for_messages(KOMMUNE, 1, timeout=5)
    assert stored.message["Subject"] == "Eingangsbestätigung Ihrer Bewerbung"
    assert pdf_attachments(stored.raw) == [PDF]


def test_smtp_login_without_tls_and_bad_password(mail: MailServers) -> None:
    with smtplib.SMTP(mail.smtp.host, mail.smtp.port, timeout=5) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.login("ews@ews.test", "falsch")
        assert refused.value.smtp_code == 535
        client.login("ews@ews.test", "geheim")
        client.send_message(sent_letter())
    assert mail.smtp.wait_for(1, timeout=5)[0].authenticated_as == "ews@ews.test"


def test_fail_next_gives_451_once(mail: MailServers) -> None:
    mail.smtp.fail_next(451, "4.3.0 Bitte später erneut versuchen")
    with mail.smtp.client() as client:
        with pytest.raises(smtplib.SMTPResponseException) as failed:
            client.send_message(sent_letter())
    assert failed.value.smtp_code == 451
    assert mail.smtp.received == []

    with mail.smtp.client() as client:
        assert client.send_message(sent_letter()) == {}
    assert len(mail.dovecot.wait_for_messages(KOMMUNE, 1, timeout=5)) == 1


def test_fail_next_at_mail_stage_with_421_closes(mail: MailServers) -> None:
    mail.smtp.fail_next(421, "4.3.2 Dienst nicht verfügbar", stage="MAIL")
    with pytest.raises(smtplib.SMTPSenderRefused) as failed:
        with mail.smtp.client() as client:
            client.send_message(sent_letter())
    assert failed.value.smtp_code == 421


def test_reject_recipient_gives_550(mail: MailServers) -> None:
    unknown = "unbekannt@olpe.test"
    mail.smtp.reject_recipient(unknown)
    with mail.smtp.client() as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.send_message(sent_letter(to=unknown))
        assert refused.value.recipients[unknown][0] == 550
        # with a second, valid recipient only the unknown one is refused
        partly = client.send_message(sent_letter(to=unknown), to_addrs=[unknown, KOMMUNE])
    assert partly[unknown][0] == 550
    assert mail.smtp.wait_for(1, timeout=5)[0].rcpt_tos == [KOMMUNE]
    assert len(mail.dovecot.wait_for_messages(KOMMUNE, 1, timeout=5)) == 1
    assert unknown not in mail.dovecot.users()


def test_cut_connection_in_the_middle_of_a_fetch(mail: MailServers,
                                                  imap_proxy: CuttingProxy) -> None:
    big = application_mail(pdf=b"%PDF-1.7\n" + os.urandom(1_500_000))  # about 2 MB as base64
    uid = mail.dovecot.append(USER, big)
    assert len(big.as_bytes()) > 2_000_000

    imap = imaplib2.IMAP4(imap_proxy.host, imap_proxy.port, timeout=10)
    try:
        imap.login(USER, mail.dovecot.password)
        imap.select("INBOX")
        imap_proxy.cut_after(100_000)
        began = time.monotonic()
        with pytest.raises(imaplib2.IMAP4.abort, match="socket error"):  # reset or hang-up
            fetch(imap, uid)
        assert time.monotonic() - began < 5
    finally:
        imap.logout()
    assert imap_proxy.cuts == 1

    fresh = imaplib2.IMAP4(imap_proxy.host, imap_proxy.port, timeout=10)
    try:
        fresh.login(USER, mail.dovecot.password)
        fresh.select("INBOX")
        assert pdf_attachments(fetch(fresh, uid)) == pdf_attachments(big.as_bytes())
    finally:
        fresh.logout()


def test_cut_all_and_stall(mail: MailServers, imap_proxy: CuttingProxy) -> None:
    uid = mail.dovecot.append(USER, application_mail())
    imap = imaplib2.IMAP4(imap_proxy.host, imap_proxy.port, timeout=2)
    try:
        imap.login(USER, mail.dovecot.password)
        imap.select("INBOX")
        imap_proxy.cut_all()
        with pytest.raises(imaplib2.IMAP4.abort):
            imap.noop()
    finally:
        imap.logout()

    stalled = imaplib2.IMAP4(imap_proxy.host, imap_proxy.port, timeout=1)
    try:
        stalled.login(USER, mail.dovecot.password)
        stalled.select("INBOX")
        imap_proxy.stall_after(0)
        began = time.monotonic()
        with pytest.raises(imaplib2.IMAP4.abort, match="no response"):
            fetch(stalled, uid)
        assert time.monotonic() - began < 5
    finally:
        stalled.logout()


def test_sent_and_archive_folders_exist(mail: MailServers) -> None:
    assert mail.dovecot.folders(USER) == ["Archiv", "INBOX", "Sent"]
    imap = mail.dovecot.imap(USER)
    try:
        typ, data = imap.list('""', "*")
    finally:
        imap.logout()
    assert typ == "OK"
    assert b'(\\HasNoChildren \\Sent) "/" Sent' in data


def test_move_to_processed_folder(mail: MailServers) -> None:
    folder = "Bewerbungen/Verarbeitet"
    uid = mail.dovecot.append(USER, application_mail())
    imap = mail.dovecot.imap(USER)
    try:
        assert b"MOVE" in imap.capability()[1][0].split()
        assert imap.create(imap_quote(folder))[0] == "OK"
        imap.select("INBOX")
        assert imap.uid("MOVE", str(uid), imap_quote(folder))[0] == "OK"
    finally:
        imap.logout()

    assert mail.dovecot.messages(USER) == []
    (moved,) = mail.dovecot.messages(USER, folder)
    assert pdf_attachments(moved.raw) == [PDF]
    assert folder in mail.dovecot.folders(USER)
    # umlauts and dots survive (modified UTF-7 on the wire)
    mail.dovecot.append(USER, application_mail(), folder="Bewerbungen/Unvollständig 2027.1")
    assert "Bewerbungen/Unvollständig 2027.1" in mail.dovecot.folders(USER)


def test_reset_empties_everything(mail: MailServers) -> None:
    mail.dovecot.deliver(application_mail(), to=KOMMUNE)
    mail.smtp.reject_recipient(KOMMUNE)
    mail.reset()
    assert mail.dovecot.users() == []
    assert mail.dovecot.messages(KOMMUNE) == []
    with mail.smtp.client() as client:
        assert client.send_message(sent_letter()) == {}
