"""parse_mail on mails built the way real clients send them (raw bytes and EmailMessage)."""

from __future__ import annotations

import base64
import binascii
import io
import random
import struct
import unicodedata
import zipfile
from email.message import EmailMessage
from functools import cache

import pytest
from pypdf import PdfWriter

from ews.mail.parse import Attachment, ParsedMail, parse_mail

MINIMAL_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
               b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


@cache
def blank_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def b64(data: bytes) -> bytes:
    """Base64 in 76-character lines with CRLF, as every client writes it."""
    encoded = base64.b64encode(data)
    return b"\r\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def part(headers: str, body: bytes) -> bytes:
    return crlf(headers.strip("\n") + "\n\n") + body + b"\r\n"


def multipart(boundary: str, *parts: bytes, preamble: bytes = b"") -> bytes:
    out = preamble
    for item in parts:
        out += f"--{boundary}\r\n".encode() + item
    return out + f"--{boundary}--\r\n".encode()


def mail(headers: str, body: bytes) -> bytes:
    return part(headers, body)


def pdf_part(content_type: str, disposition: str | None = None, data: bytes | None = None) -> bytes:
    headers = f"Content-Type: {content_type}\nContent-Transfer-Encoding: base64\n"
    if disposition is not None:
        headers += f"Content-Disposition: {disposition}\n"
    return part(headers, b64(blank_pdf() if data is None else data))


TEXT_PART = part('Content-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: 8bit',
                 b"Sehr geehrte Damen und Herren,\nanbei unsere Bewerbung.")
HTML_PART = part('Content-Type: text/html; charset="utf-8"\nContent-Transfer-Encoding: 8bit',
                 "<html><body><p>Anbei unsere Bewerbung für EWS 6.</p></body></html>".encode())


def names(parsed: ParsedMail) -> list[str]:
    return [pdf.name for pdf in parsed.pdfs]


# --- client variants -------------------------------------------------------------------------


def test_outlook_mail_with_octet_stream_pdfs_and_rfc2047_names() -> None:
    utf8_word = "=?utf-8?B?QW5sYWdlIEfDtnJsaXR6IOKAkyDDnGJlcnNpY2h0LnBkZg==?="
    body = multipart(
        "_000_AM0PR07MB",
        part('Content-Type: multipart/alternative; boundary="_alt_"',
             multipart("_alt_", TEXT_PART, HTML_PART)),
        pdf_part('application/octet-stream; name="=?iso-8859-1?Q?Bewerbung_L=FCdenscheid.pdf?="',
                 'attachment; filename="=?iso-8859-1?Q?Bewerbung_L=FCdenscheid.pdf?=";\n'
                 ' size=1234; creation-date="Mon, 02 Mar 2026 10:00:00 GMT"'),
        pdf_part(f'application/pdf; name="{utf8_word}"', f'attachment; filename="{utf8_word}"'),
        part("Content-Type: application/ms-tnef; name=\"winmail.dat\"\n"
             "Content-Transfer-Encoding: base64\nContent-Disposition: attachment; "
             "filename=\"winmail.dat\"", b64(b"\x78\x9f\x3e\x22\x00\x00rtf body")),
    )
    raw = mail("""
From: =?iso-8859-1?Q?M=FCller=2C_J=F6rg?= <J.Mueller@Luedenscheid.DE>
To: "EWS Geschaeftsstelle" <ews@example.nrw>
Subject: =?iso-8859-1?Q?AW:_Bewerbung_EWS_6_=96_L=FCdenscheid?=
Thread-Topic: Bewerbung EWS 6
Message-ID: <AM0PR07MB1234.eurprd07.prod.outlook.com>
X-MS-Has-Attach: yes
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: J.Mueller@Luedenscheid.DE
Content-Language: de-DE
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="_000_AM0PR07MB"
""", body)
    parsed = parse_mail(raw)
    assert names(parsed) == ["Bewerbung Lüdenscheid.pdf", "Anlage Görlitz – Übersicht.pdf"]
    assert all(pdf.data == blank_pdf() and pdf.found_in == () for pdf in parsed.pdfs)
    assert parsed.subject == "AW: Bewerbung EWS 6 – Lüdenscheid"
    assert parsed.sender == "J.Mueller@luedenscheid.de"
    assert parsed.sender_name == "Müller, Jörg"
    assert parsed.message_id == "AM0PR07MB1234.eurprd07.prod.outlook.com"
    assert parsed.automatic is None
    assert parsed.skipped == []


def test_thunderbird_rfc2231_names_plain_and_continued() -> None:
    body = multipart(
        "------------Gs8w",
        TEXT_PART,
        pdf_part("application/pdf; name*=UTF-8''Bewerbung%20M%C3%B6hnesee.pdf",
                 "attachment; filename*=UTF-8''Bewerbung%20M%C3%B6hnesee.pdf"),
        pdf_part("application/pdf;\n name*0*=iso-8859-1''Anlage%20zur%20Bewerbung%20der%20Ge;\n"
                 " name*1*=meinde%20M%F6hnesee%20mit%20sehr%20langem%20Namen.pdf",
                 "attachment;\n filename*0*=iso-8859-1''Anlage%20zur%20Bewerbung%20der%20Ge;\n"
                 " filename*1*=meinde%20M%F6hnesee%20mit%20sehr%20langem%20Namen.pdf"),
    )
    raw = mail("""
Message-ID: <a1b2c3@moehnesee.de>
Date: Tue, 3 Mar 2026 09:12:00 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
From: Anna Schulte <a.schulte@moehnesee.de>
Subject: Bewerbung EWS 6
Content-Type: multipart/mixed; boundary="------------Gs8w"
""", body)
    parsed = parse_mail(raw)
    assert names(parsed) == [
        "Bewerbung Möhnesee.pdf",
        "Anlage zur Bewerbung der Gemeinde Möhnesee mit sehr langem Namen.pdf",
    ]
    assert parsed.sender_name == "Anna Schulte"
    assert parsed.automatic is None


def test_apple_mail_inline_pdf_in_related_with_nfd_name_comes_back_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Bewerbung Lüdenscheid Übersicht.pdf")
    quoted = "".join(f"%{byte:02X}" if byte > 127 or byte == 32 else chr(byte)
                     for byte in nfd.encode("utf-8"))
    related = multipart(
        "Apple-Mail=_REL",
        HTML_PART,
        part(f"Content-Disposition: inline; filename*=utf-8''{quoted}\n"
             f"Content-Type: application/pdf; x-unix-mode=0644; name*=utf-8''{quoted}\n"
             "Content-Transfer-Encoding: base64", b64(MINIMAL_PDF)),
    )
    body = multipart(
        "Apple-Mail=_ALT",
        TEXT_PART,
        part('Content-Type: multipart/related; type="text/html"; boundary="Apple-Mail=_REL"',
             related),
    )
    raw = mail("""
From: =?utf-8?Q?J=C3=BCrgen_K=C3=B6hler?= <jk@hemer.de>
Content-Type: multipart/alternative; boundary="Apple-Mail=_ALT"
Mime-Version: 1.0 (Mac OS X Mail 16.0)
Subject: Bewerbung
Message-Id: <2F3A@hemer.de>
""", body)
    parsed = parse_mail(raw)
    assert names(parsed) == ["Bewerbung Lüdenscheid Übersicht.pdf"]
    assert unicodedata.is_normalized("NFC", parsed.pdfs[0].name)
    assert parsed.pdfs[0].data == MINIMAL_PDF
    assert parsed.sender_name == "Jürgen Köhler"


def test_apple_mail_inline_pdf_directly_in_mixed_without_name() -> None:
    body = multipart("Apple-Mail=_M", TEXT_PART,
                     pdf_part("application/pdf", "inline"), TEXT_PART)
    raw = mail("From: a@b.de\nSubject: x\nContent-Type: multipart/mixed; "
               'boundary="Apple-Mail=_M"', body)
    assert names(parse_mail(raw)) == ["anhang-1.pdf"]


def test_gmx_web_de_style_with_quoted_printable_body_and_8bit_names() -> None:
    body = multipart(
        "gmx-part",
        part("Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable",
             b"Gr=C3=BC=C3=9Fe aus H=C3=B6xter"),
        # raw UTF-8 in a quoted name (seen from web interfaces), and raw windows-1252
        pdf_part('application/pdf; name="Bewerbung H\u00f6xter.pdf"',
                 'attachment; filename="Bewerbung H\u00f6xter.pdf"'),
    )
    body = body.replace("H\u00f6xter".encode(), "H\u00f6xter".encode("utf-8"))
    legacy = pdf_part("application/pdf", 'attachment; filename="Stra\u00dfe.pdf"')
    legacy = legacy.replace("Stra\u00dfe".encode(), "Stra\u00dfe".encode("cp1252"))
    body = body.replace(b"--gmx-part--", b"--gmx-part\r\n" + legacy + b"--gmx-part--")
    raw = mail("""
Message-ID: <trinity-1234@3c-app-gmx-bs01>
From: "Peter Gross" <peter.gross@gmx.de>
Subject: =?UTF-8?Q?Bewerbung_H=C3=B6xter?=
Content-Type: multipart/mixed; boundary=gmx-part
""", body)
    parsed = parse_mail(raw)
    assert names(parsed) == ["Bewerbung Höxter.pdf", "Straße.pdf"]
    assert parsed.subject == "Bewerbung Höxter"


def test_windows_1252_and_unknown_charset_encoded_words() -> None:
    body = multipart(
        "b",
        pdf_part('application/pdf; name="=?windows-1252?Q?Bewerbung_=96_Stra=DFe.pdf?="'),
        pdf_part('application/pdf; name="=?x-unknown?Q?L=C3=BCdenscheid.pdf?="'),
        pdf_part('application/pdf; name="=?x-mac-unknown?Q?Gro=DF_Gerau.pdf?="'),
        pdf_part("application/pdf; name*=x-bogus''K%F6ln.pdf"),
    )
    raw = mail("From: a@b.de\nSubject: =?windows-1252?Q?=84Bewerbung=93?=\n"
               "Content-Type: multipart/mixed; boundary=b", body)
    parsed = parse_mail(raw)
    assert names(parsed) == ["Bewerbung – Straße.pdf", "Lüdenscheid.pdf", "Groß Gerau.pdf",
                             "Köln.pdf"]
    assert parsed.subject == "„Bewerbung“"


def test_email_message_built_mail_with_two_pdfs_keeps_document_order() -> None:
    message = EmailMessage()
    message["From"] = "Stadt Hemer <info@hemer.de>"
    message["To"] = "ews@example.nrw"
    message["Subject"] = "Bewerbung EWS 6 – Stadt Hemer"
    message["Message-ID"] = "  <x1@hemer.de>  "
    message.set_content("Anbei zwei Dateien.")
    message.add_attachment(MINIMAL_PDF, maintype="application", subtype="pdf",
                           filename="1 Bewerbungsbogen.pdf")
    message.add_attachment(blank_pdf(), maintype="application", subtype="x-pdf",
                           filename="2 Anlage Übersicht.pdf")
    parsed = parse_mail(message.as_bytes())
    assert parsed.pdfs == [Attachment("1 Bewerbungsbogen.pdf", MINIMAL_PDF),
                           Attachment("2 Anlage Übersicht.pdf", blank_pdf())]
    assert parsed.subject == "Bewerbung EWS 6 – Stadt Hemer"
    assert parsed.message_id == "x1@hemer.de"
    assert parsed.sender == "info@hemer.de"


def test_mail_without_attachment_and_html_only_mail() -> None:
    plain = mail("From: a@b.de\nSubject: Frage\nContent-Type: text/plain; charset=utf-8",
                 b"Wann ist die Frist? %PDF-1.7 steht hier nur im Text.")
    html = mail("From: a@b.de\nSubject: Frage\nContent-Type: text/html; charset=utf-8",
                b"<html><body>Frist?</body></html>")
    for raw in (plain, html):
        parsed = parse_mail(raw)
        assert parsed.pdfs == [] and parsed.skipped == [] and parsed.automatic is None
        assert parsed.subject == "Frage"


def test_pdf_is_recognised_by_bytes_whatever_type_and_name() -> None:
    body = multipart(
        "b",
        TEXT_PART,
        pdf_part("application/octet-stream", 'attachment; filename="ATT00001.dat"'),
        pdf_part("image/jpeg", 'attachment; filename="Bewerbung"'),
        part("Content-Type: text/plain", MINIMAL_PDF),  # a PDF typed oddly as text
        pdf_part("application/octet-stream"),  # no disposition, no name
    )
    raw = mail("From: a@b.de\nSubject: x\nContent-Type: multipart/mixed; boundary=b", body)
    parsed = parse_mail(raw)
    assert names(parsed) == ["ATT00001.dat.pdf", "Bewerbung.pdf", "anhang-3.pdf", "anhang-4.pdf"]
    assert parsed.pdfs[2].data.startswith(b"%PDF-1.4")


def test_a_file_named_pdf_that_is_no_pdf_is_reported() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(100)
    body = multipart("b", pdf_part("application/pdf", 'attachment; filename="bewerbung.pdf"',
                                   data=png))
    raw = mail("From: a@b.de\nSubject: x\nContent-Type: multipart/mixed; boundary=b", body)
    parsed = parse_mail(raw)
    assert parsed.pdfs == []
    assert parsed.skipped == [
        "Der Anhang „bewerbung.pdf“ wurde nicht übernommen. Die Datei ist kein PDF-Dokument, "
        "sondern offenbar ein Bild (PNG). Bitte senden Sie den ausgefüllten Bewerbungsbogen "
        "als PDF-Datei."]


def test_winmail_dat_holding_a_pdf_is_reported() -> None:
    tnef = b"\x78\x9f\x3e\x22" + bytes(2000) + MINIMAL_PDF
    body = multipart("b", TEXT_PART, part(
        'Content-Type: application/ms-tnef; name="winmail.dat"\nContent-Transfer-Encoding: base64',
        b64(tnef)))
    raw = mail("From: a@b.de\nSubject: x\nContent-Type: multipart/mixed; boundary=b", body)
    parsed = parse_mail(raw)
    assert parsed.pdfs == []
    assert len(parsed.skipped) == 1 and "„winmail.dat“" in parsed.skipped[0]
    assert "Outlook" in parsed.skipped[0]


@pytest.mark.parametrize(("given", "expected"), [
    ("../../etc/bewerbung.pdf", "bewerbung.pdf"),
    ("C:\\Users\\a\\Documents\\x.pdf", "x.pdf"),
    ("/tmp/../Antrag.PDF", "Antrag.PDF"),
    ("..", "anhang-1.pdf"),
    ("   ", "anhang-1.pdf"),
    ("Bewerbung\u202etxt.pdf", "Bewerbungtxt.pdf"),
    ("Bew\x00erbung.pdf", "Bewerbung.pdf"),
])
def test_path_parts_and_control_characters_are_removed(given: str, expected: str) -> None:
    message = EmailMessage()
    message["From"] = "a@b.de"
    message.add_attachment(MINIMAL_PDF, maintype="application", subtype="pdf", filename=given)
    assert names(parse_mail(message.as_bytes())) == [expected]


# --- forwarded mails -------------------------------------------------------------------------


INNER_MAIL = mail("""
From: Bürgermeister <bm@hemer.de>
Subject: Bewerbung EWS 6 Stadt Hemer
Message-ID: <inner@hemer.de>
Content-Type: multipart/mixed; boundary=inner
""", multipart("inner", TEXT_PART,
               pdf_part("application/pdf", 'attachment; filename="Bewerbung Hemer.pdf"')))


def forwarded(inner: bytes, *, cte: str = "7bit", outer_subject: str = "WG: Bewerbung") -> bytes:
    payload = b64(inner) if cte == "base64" else inner
    boundary = f"fwd-{len(inner)}"  # unique per nesting level, as clients make them
    body = multipart(boundary, TEXT_PART, part(
        f"Content-Type: message/rfc822\nContent-Transfer-Encoding: {cte}\n"
        'Content-Disposition: attachment; filename="Bewerbung EWS 6 Stadt Hemer.eml"', payload))
    return mail(f"From: Kollege <k@hemer.de>\nSubject: {outer_subject}\n"
                f"Content-Type: multipart/mixed; boundary={boundary}", body)


def test_mail_forwarded_as_attachment_is_descended_into() -> None:
    parsed = parse_mail(forwarded(INNER_MAIL))
    assert parsed.pdfs == [Attachment("Bewerbung Hemer.pdf", blank_pdf(),
                                      ("Bewerbung EWS 6 Stadt Hemer",))]
    assert parsed.sender == "k@hemer.de"


def test_base64_encoded_forward_and_forward_without_subject() -> None:
    assert names(parse_mail(forwarded(INNER_MAIL, cte="base64"))) == ["Bewerbung Hemer.pdf"]
    no_subject = INNER_MAIL.replace(b"Subject: Bewerbung EWS 6 Stadt Hemer\r\n", b"")
    parsed = parse_mail(forwarded(no_subject))
    assert parsed.pdfs[0].found_in == ("weitergeleitete Nachricht",)


def test_eml_file_attached_as_octet_stream_is_descended_into() -> None:
    body = multipart("b", TEXT_PART, part(
        'Content-Type: application/octet-stream; name="Bewerbung.eml"\n'
        "Content-Transfer-Encoding: base64", b64(INNER_MAIL)))
    raw = mail("From: a@b.de\nSubject: x\nContent-Type: multipart/mixed; boundary=b", body)
    assert parse_mail(raw).pdfs[0].found_in == ("Bewerbung EWS 6 Stadt Hemer",)


def test_forward_chain_deeper_than_max_depth_is_reported() -> None:
    twice = forwarded(forwarded(INNER_MAIL, outer_subject="WG: innen"))
    parsed = parse_mail(twice)
    assert parsed.pdfs[0].found_in == ("WG: innen", "Bewerbung EWS 6 Stadt Hemer")
    parsed = parse_mail(twice, max_depth=1)
    assert parsed.pdfs == []
    assert parsed.skipped == [
        "Die weitergeleitete Nachricht „Bewerbung EWS 6 Stadt Hemer“ (in „WG: innen“) ist zu "
        "tief verschachtelt; ihre Anhänge wurden nicht geprüft."]


def test_inline_forward_keeps_attachments_in_outer_mail() -> None:
    text = part("Content-Type: text/plain; charset=utf-8", (
        b"zur Kenntnis\n\n-------- Weitergeleitete Nachricht --------\nBetreff: Bewerbung\n"
        b"Von: bm@hemer.de\n\nanbei"))
    body = multipart("b", text, pdf_part("application/pdf", 'attachment; filename="a.pdf"'))
    raw = mail("From: a@b.de\nSubject: Fwd: Bewerbung\n"
               "Content-Type: multipart/mixed; boundary=b", body)
    assert parse_mail(raw).pdfs == [Attachment("a.pdf", blank_pdf())]


# --- ZIP archives ----------------------------------------------------------------------------


def make_zip(members: list[tuple[bytes | str, bytes]], *, flag_utf8: bool = True,
             method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP whose member names are written exactly as given: str names the way zipfile
    writes them (UTF-8 flag when needed), bytes names raw without the UTF-8 flag."""
    buffer = io.BytesIO()
    patches: list[tuple[bytes, bytes]] = []
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for index, (name, data) in enumerate(members):
            if isinstance(name, bytes):
                placeholder = f"@{index:03d}".encode().ljust(len(name), b"#")
                patches.append((placeholder, name))
                name = placeholder.decode()
            archive.writestr(name, data)
    raw = buffer.getvalue()
    for placeholder, name in patches:
        raw = raw.replace(placeholder, name)
    return raw


def zip_mail(data: bytes, name: str = "unterlagen.zip", content_type: str = "application/zip"
             ) -> bytes:
    body = multipart("b", TEXT_PART, part(
        f'Content-Type: {content_type}; name="{name}"\nContent-Transfer-Encoding: base64\n'
        f'Content-Disposition: attachment; filename="{name}"', b64(data)))
    return mail("From: a@b.de\nSubject: Bewerbung\nContent-Type: multipart/mixed; boundary=b",
                body)


def set_encrypted(data: bytes, name: str) -> bytes:
    """Set the 'encrypted' flag bit of one member in its local and central header."""
    raw = bytearray(data)
    encoded = name.encode()
    local = raw.find(b"PK\x03\x04" + bytes(26)[:0])
    while local != -1:
        if raw[local + 30:local + 30 + len(encoded)] == encoded:
            raw[local + 6] |= 0x01
        local = raw.find(b"PK\x03\x04", local + 4)
    central = raw.find(b"PK\x01\x02")
    while central != -1:
        if raw[central + 46:central + 46 + len(encoded)] == encoded:
            raw[central + 8] |= 0x01
        central = raw.find(b"PK\x01\x02", central + 4)
    return bytes(raw)


def test_zip_with_two_pdfs_in_a_subfolder_cp437_and_utf8_names() -> None:
    data = make_zip([
        ("Unterlagen/", b""),
        ("Unterlagen/Bewerbung H\x94xter Stra\xe1e.pdf".encode("latin-1"), MINIMAL_PDF),
        ("Unterlagen/Anlage Gütersloh.pdf", blank_pdf()),
        ("Unterlagen/liesmich.txt", b"Hallo"),
        (unicodedata.normalize("NFD", "Unterlagen/Übersicht Möhnesee.pdf").encode(),
         MINIMAL_PDF),  # macOS: UTF-8 without the flag, decomposed
        ("__MACOSX/Unterlagen/._Anlage Gütersloh.pdf", b"\x00\x05\x16\x07%PDF-"),
    ])
    parsed = parse_mail(zip_mail(data))
    assert names(parsed) == ["Bewerbung Höxter Straße.pdf", "Anlage Gütersloh.pdf",
                             "Übersicht Möhnesee.pdf"]
    assert all(unicodedata.is_normalized("NFC", name) for name in names(parsed))
    assert [pdf.found_in for pdf in parsed.pdfs] == [("unterlagen.zip",)] * 3
    assert parsed.pdfs[1].data == blank_pdf()
    assert parsed.skipped == []


def test_zip_member_with_info_zip_unicode_path_field() -> None:
    def unicode_path(header_name: str, name: str) -> bytes:
        body = b"\x01" + struct.pack("<I", binascii.crc32(header_name.encode())) + name.encode()
        return struct.pack("<HH", 0x7075, len(body)) + body

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for header_name, real, extra_for in (("Bewerbung H_xter.pdf", "Bewerbung Höxter.pdf", None),
                                            ("alt.pdf", "Umbenannt Köln.pdf", "anders.pdf")):
            info = zipfile.ZipInfo(header_name)
            info.extra = unicode_path(extra_for or header_name, real)
            archive.writestr(info, MINIMAL_PDF)
    parsed = parse_mail(zip_mail(buffer.getvalue()))
    # the second field's CRC belongs to another header name: a stale field, ignored
    assert names(parsed) == ["Bewerbung Höxter.pdf", "alt.pdf"]


def test_zip_in_forwarded_mail_and_nested_zip() -> None:
    inner_zip = make_zip([("innen.pdf", MINIMAL_PDF)], method=zipfile.ZIP_STORED)
    outer_zip = make_zip([("a/innen.zip", inner_zip), ("aussen.pdf", blank_pdf())])
    inner_mail = zip_mail(outer_zip).replace(b"Subject: Bewerbung", b"Subject: Fwd: Bewerbung")
    parsed = parse_mail(forwarded(inner_mail))
    assert [(pdf.name, pdf.found_in) for pdf in parsed.pdfs] == [
        ("innen.pdf", ("Fwd: Bewerbung", "unterlagen.zip", "innen.zip")),
        ("aussen.pdf", ("Fwd: Bewerbung", "unterlagen.zip")),
    ]
    parsed = parse_mail(zip_mail(outer_zip), max_depth=1)
    assert names(parsed) == ["aussen.pdf"]
    assert parsed.skipped == ["Die ZIP-Datei „innen.zip“ (in „unterlagen.zip“) ist zu tief "
                              "verschachtelt und wurde nicht geöffnet."]


def test_encrypted_zip_is_reported() -> None:
    data = set_encrypted(make_zip([("bewerbung.pdf", MINIMAL_PDF)]), "bewerbung.pdf")
    parsed = parse_mail(zip_mail(data))
    assert parsed.pdfs == []
    assert parsed.skipped == ["Die ZIP-Datei „unterlagen.zip“ ist verschlüsselt und konnte "
                              "nicht geöffnet werden."]


def test_partly_encrypted_zip_keeps_the_readable_member() -> None:
    data = make_zip([("offen.pdf", MINIMAL_PDF), ("geheim.pdf", MINIMAL_PDF)])
    parsed = parse_mail(zip_mail(set_encrypted(data, "geheim.pdf")))
    assert names(parsed) == ["offen.pdf"]
    assert parsed.skipped == ["Die Datei „geheim.pdf“ (in „unterlagen.zip“) ist verschlüsselt "
                              "und konnte nicht geöffnet werden."]


def test_broken_zip_and_corrupt_member_are_reported() -> None:
    parsed = parse_mail(zip_mail(b"PK\x03\x04" + bytes(200)))
    assert parsed.skipped == ["Die ZIP-Datei „unterlagen.zip“ ist beschädigt und konnte nicht "
                              "geöffnet werden."]
    good = make_zip([("a.pdf", MINIMAL_PDF + bytes(500))], method=zipfile.ZIP_STORED)
    corrupt = good.replace(b"%%EOF", b"%%XXX")  # stored bytes changed, CRC no longer matches
    parsed = parse_mail(zip_mail(corrupt))
    assert parsed.pdfs == []
    assert parsed.skipped == ["Die Datei „a.pdf“ (in „unterlagen.zip“) ist beschädigt oder in "
                              "einem nicht unterstützten Verfahren gepackt und konnte nicht "
                              "gelesen werden."]


def test_zip_bomb_member_declared_too_large_is_not_unpacked() -> None:
    data = make_zip([("bombe.pdf", b"%PDF-1.4\n" + bytes(3 * 1024 * 1024))])
    assert len(data) < 20_000
    parsed = parse_mail(zip_mail(data), max_attachment_bytes=1024 * 1024)
    assert parsed.pdfs == []
    assert parsed.skipped == ["Die Datei „bombe.pdf“ (in „unterlagen.zip“) ist 3,0 MB groß; "
                              "angenommen werden höchstens 1 MB."]


def test_zip_member_larger_than_declared_is_not_taken() -> None:
    data = bytearray(make_zip([("a.pdf", b"%PDF-1.4\n" + bytes(2_000_000))]))
    for signature, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        start = data.find(signature)
        data[start + offset:start + offset + 4] = struct.pack("<I", 2000)
    parsed = parse_mail(zip_mail(bytes(data)), max_attachment_bytes=1_000_000)
    assert parsed.pdfs == []
    assert len(parsed.skipped) == 1 and "„a.pdf“" in parsed.skipped[0]


def test_zip_with_too_many_members_is_not_opened() -> None:
    data = make_zip([(f"{n}.pdf", MINIMAL_PDF) for n in range(5)])
    parsed = parse_mail(zip_mail(data), max_zip_members=4)
    assert parsed.pdfs == []
    assert parsed.skipped == ["Die ZIP-Datei „unterlagen.zip“ enthält 5 Dateien; geöffnet "
                              "werden nur Archive mit höchstens 4 Dateien."]
    assert len(parse_mail(zip_mail(data), max_zip_members=5).pdfs) == 5


def test_unpacked_total_per_mail_is_bounded() -> None:
    member = b"%PDF-1.4\n" + bytes(300_000)
    data = make_zip([(f"{n}.pdf", member) for n in range(6)])
    parsed = parse_mail(zip_mail(data), max_attachment_bytes=400_000)
    assert len(parsed.pdfs) == 5  # 4 × 400 KB budget holds five members of 300 KB
    assert len(parsed.skipped) == 1 and "„5.pdf“" in parsed.skipped[0]


def test_word_document_is_no_archive_but_a_renamed_one_is_reported() -> None:
    docx = make_zip([("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w/>"),
                     ("word/media/x.pdf", MINIMAL_PDF)])
    parsed = parse_mail(zip_mail(docx, "Anschreiben.docx", "application/vnd.openxmlformats"))
    assert parsed.pdfs == [] and parsed.skipped == []
    parsed = parse_mail(zip_mail(docx, "bewerbung.pdf", "application/pdf"))
    assert parsed.pdfs == []
    assert parsed.skipped[0].startswith("Der Anhang „bewerbung.pdf“ wurde nicht übernommen. "
                                        "Die Datei ist kein PDF-Dokument, sondern offenbar "
                                        "ein Word-Dokument")


# --- size limit ------------------------------------------------------------------------------


def test_attachment_of_30_mb_is_skipped_with_german_sizes() -> None:
    data = b"%PDF-1.4\n" + bytes(30 * 1024 * 1024 - 9)
    encoded = base64.b64encode(data)  # one long line keeps the test fast; parsers accept it
    body = multipart("b", TEXT_PART, part(
        'Content-Type: application/pdf; name="bewerbung.pdf"\nContent-Transfer-Encoding: base64',
        encoded), pdf_part("application/pdf", 'attachment; filename="klein.pdf"'))
    raw = mail("From: a@b.de\nSubject: x\nContent-Type: multipart/mixed; boundary=b", body)
    parsed = parse_mail(raw)
    assert names(parsed) == ["klein.pdf"]
    assert parsed.skipped == ["Der Anhang „bewerbung.pdf“ ist 30,0 MB groß; angenommen werden "
                              "höchstens 25 MB."]


# --- automatic mails -------------------------------------------------------------------------


def test_delivery_status_notification_is_automatic_and_its_pdfs_do_not_count() -> None:
    body = multipart(
        "dsn",
        part("Content-Type: text/plain; charset=us-ascii",
             b"This is the mail system at host mx.example.nrw.\r\n"
             b"I'm sorry to have to inform you that your message could not be delivered."),
        part("Content-Type: message/delivery-status",
             b"Reporting-MTA: dns; mx.example.nrw\r\n\r\nFinal-Recipient: rfc822; x@hemer.de\r\n"
             b"Action: failed\r\nStatus: 5.1.1\r\n"),
        part("Content-Type: message/rfc822", INNER_MAIL),
    )
    raw = mail("""
Return-Path: <>
From: MAILER-DAEMON@mx.example.nrw (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"
""", body)
    parsed = parse_mail(raw)
    assert parsed.automatic is not None and "Zustellbenachrichtigung" in parsed.automatic
    assert parsed.pdfs == []


def test_exim_bounce_in_plain_text_is_automatic() -> None:
    raw = mail("Return-Path: <>\nFrom: Mail Delivery System <Mailer-Daemon@mail.example.de>\n"
               "X-Failed-Recipients: x@hemer.de\nSubject: Mail delivery failed: returning "
               "message to sender\nContent-Type: text/plain", b"This message was created...")
    assert parse_mail(raw).automatic == ("Die Nachricht ist eine automatische "
                                         "Unzustellbarkeitsmeldung des Mailservers.")


def test_read_receipt_is_automatic() -> None:
    body = multipart(
        "mdn",
        part("Content-Type: text/plain; charset=utf-8",
             b"Ihre Nachricht wurde gelesen."),
        part("Content-Type: message/disposition-notification",
             b"Reporting-UA: hemer.de; Microsoft Exchange Server\r\n"
             b"Final-Recipient: rfc822;bm@hemer.de\r\n"
             b"Disposition: automatic-action/MDN-sent-automatically; displayed\r\n"),
    )
    raw = mail("""
From: Bürgermeister <bm@hemer.de>
Subject: Gelesen: Bewerbung EWS 6
Content-Type: multipart/report; report-type=disposition-notification; boundary=mdn
""", body)
    assert parse_mail(raw).automatic == "Die Nachricht ist eine automatische Lesebestätigung."


def test_outlook_german_auto_reply_with_and_without_auto_submitted() -> None:
    headers = """
From: =?iso-8859-1?Q?J=F6rg_M=FCller?= <j.mueller@luedenscheid.de>
Subject: =?iso-8859-1?Q?Automatische_Antwort:_Bewerbung_EWS_6?=
Thread-Topic: Bewerbung EWS 6
X-MS-Has-Attach:
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: j.mueller@luedenscheid.de
Content-Type: text/plain; charset="iso-8859-1"
"""
    body = "Ich bin bis zum 10.03. nicht im Büro.".encode("iso-8859-1")
    with_header = parse_mail(mail(headers + "Auto-Submitted: auto-generated\n", body))
    assert with_header.automatic == ("Die Nachricht ist als automatisch versandt gekennzeichnet "
                                     "(Auto-Submitted: auto-generated).")
    without = parse_mail(mail(headers, body))
    assert without.automatic is not None
    assert "„Automatische Antwort: Bewerbung EWS 6“" in without.automatic
    assert "X-Auto-Response-Suppress" in without.automatic


def test_gmail_vacation_reply_is_automatic() -> None:
    raw = mail("""
From: Hans Schmitz <hans.schmitz@gmail.com>
Subject: Re: Bewerbung EWS 6
Auto-Submitted: auto-replied
In-Reply-To: <ews-123@example.nrw>
Content-Type: text/plain; charset="UTF-8"
""", b"Ich bin im Urlaub.")
    assert parse_mail(raw).automatic == ("Die Nachricht ist als automatisch versandt "
                                         "gekennzeichnet (Auto-Submitted: auto-replied).")


@pytest.mark.parametrize("headers", [
    "Auto-Submitted: no\nX-Auto-Response-Suppress: All\nSubject: AW: Bewerbung EWS 6",
    "X-Auto-Response-Suppress: All\nX-MS-Exchange-Inbox-Rules-Loop: a@b.de\n"
    "Subject: AW: Automatische Antwort: Bewerbung EWS 6",
    "X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent\nSubject: WG: Bewerbung",
    "Subject: Abwesenheitsnotiz und Bewerbung",  # subject alone is no marker
    "Return-Path: <bm@hemer.de>\nSubject: Read: unsere Bewerbung",
])
def test_human_mails_are_not_automatic(headers: str) -> None:
    message = mail(f"From: bm@hemer.de\n{headers}\nContent-Type: multipart/mixed; boundary=b",
                   multipart("b", TEXT_PART, pdf_part("application/pdf")))
    parsed = parse_mail(message)
    assert parsed.automatic is None
    assert len(parsed.pdfs) == 1


@pytest.mark.parametrize(("headers", "expected"), [
    ("Precedence: bulk", "Precedence: bulk"),
    ("X-Precedence: junk", "X-Precedence: junk"),
    ("Precedence: auto_reply", "Precedence: auto_reply"),
    ("List-Id: <ews-news.example.nrw>", "Mailingliste"),
    ("List-Unsubscribe: <mailto:leave@example.nrw>", "Newsletter"),
    ("X-Autoreply: yes", "X-Autoreply"),
    ("X-Autorespond: Abwesend", "X-Autorespond"),
    ("X-Autogenerated: Reply", "X-Autogenerated"),
    ("X-MS-Exchange-Message-Is-Ndr:", "Unzustellbarkeitsmeldung"),
    ("Sender: x@y.de\nFrom: postmaster@hemer.de", "postmaster@hemer.de"),
    ("Return-Path: <>\nSubject: Abwesenheitsnotiz", "Return-Path: <>"),
    ("Return-Path: <>\nSubject: Unzustellbar: Bewerbung", "Return-Path: <>"),
])
def test_automatic_markers(headers: str, expected: str) -> None:
    if "From:" not in headers:
        headers += "\nFrom: info@hemer.de"
    if "Subject:" not in headers:
        headers += "\nSubject: Neuigkeiten"
    parsed = parse_mail(mail(headers + "\nContent-Type: text/plain", b"Text"))
    assert parsed.automatic is not None and expected in parsed.automatic


# --- sender, ids, damaged mails --------------------------------------------------------------


def test_reply_to_wins_over_from_unless_invalid() -> None:
    base = "From: Stadt Hemer <Info@Hemer.DE>\nSubject: x\nContent-Type: text/plain\n"
    parsed = parse_mail(mail(base + "Reply-To: Anna Schulte <A.Schulte@Hemer.DE>", b"x"))
    assert (parsed.sender, parsed.sender_name) == ("A.Schulte@hemer.de", "Stadt Hemer")
    parsed = parse_mail(mail(base + "Reply-To: kein-at-zeichen", b"x"))
    assert parsed.sender == "Info@hemer.de"
    parsed = parse_mail(mail("From: Info@Müller-Bäckerei.DE\nContent-Type: text/plain", b"x"))
    assert parsed.sender == "Info@müller-bäckerei.de"
    assert parsed.sender_name is None
    assert parse_mail(mail("From: undisclosed-recipients:;\nSubject: x", b"x")).sender is None


def test_mail_without_message_id_and_without_subject() -> None:
    parsed = parse_mail(mail("From: a@b.de\nContent-Type: text/plain", b"x"))
    assert parsed.message_id is None and parsed.subject == ""


@pytest.mark.parametrize("damage", ["junk", "truncated", "padded_per_line"])
def test_broken_base64_still_yields_the_pdf(damage: str) -> None:
    encoded = base64.b64encode(MINIMAL_PDF)
    assert len(encoded) % 4 == 0
    if damage == "junk":  # junk characters, padding cut off
        damaged = encoded[:40] + b"!!\xff*" + encoded[40:-2]
    elif damage == "truncated":  # a length no decoder accepts (4n + 1)
        damaged = encoded[:-3]
    else:  # every line encoded on its own, each with padding (old webmailers)
        damaged = b"\r\n".join(base64.b64encode(MINIMAL_PDF[i:i + 40])
                                for i in range(0, len(MINIMAL_PDF), 40))
    body = multipart("b", part(
        'Content-Type: application/pdf; name="a.pdf"\nContent-Transfer-Encoding: base64',
        damaged))
    raw = mail("From: a@b.de\nContent-Type: multipart/mixed; boundary=b", body)
    parsed = parse_mail(raw)
    assert names(parsed) == ["a.pdf"]
    assert parsed.pdfs[0].data.startswith(b"%PDF-1.4\n1 0 obj")
    if damage == "padded_per_line":
        assert parsed.pdfs[0].data == MINIMAL_PDF


def test_multipart_without_boundary_parameter_is_salvaged() -> None:
    body = multipart("lost", TEXT_PART, pdf_part("application/pdf", 'attachment; filename="a.pdf"'))
    raw = mail("From: a@b.de\nSubject: x\nContent-Type: multipart/mixed", body)
    assert names(parse_mail(raw)) == ["a.pdf"]


def test_malformed_headers_do_not_raise() -> None:
    raw = mail("""
From: <
Reply-To: "\\
Message-ID: <@>
Subject: =?utf-8?B?????= =?unknown?Q?=FF?=
Content-Type: multipart/mixed; boundary=b; charset=nonsense;;;===
Content-Disposition: attachment; filename*=''
Auto-Submitted: \xff\xfe
""", multipart("b", pdf_part('application/pdf; name*=bogus\'\'%FF.pdf')))
    parsed = parse_mail(raw.replace("\xff\xfe".encode(), b"\xff\xfe"))
    assert parsed.message_id == "@"
    assert parsed.sender is None
    assert len(parsed.pdfs) == 1 and parsed.pdfs[0].name.endswith(".pdf")
    assert parsed.automatic is not None  # an Auto-Submitted header with garbage is not "no"


def test_absurdly_nested_mail_keeps_its_headers() -> None:
    levels = 3000
    raw = b"From: a@b.de\r\nSubject: tief\r\n" + b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
        for i in range(levels)) + pdf_part("application/pdf") + b"".join(
        b"--b%d--\r\n" % i for i in reversed(range(levels)))
    parsed = parse_mail(raw)
    assert (parsed.sender, parsed.subject, parsed.pdfs) == ("a@b.de", "tief", [])
    assert len(parsed.skipped) == 1


def test_garbage_and_mutated_mails_never_raise() -> None:
    samples = [b"", b"\x00\xff" * 50, b"Content-Type: multipart/mixed\r\n\r\n--",
               b"Content-Type: message/rfc822\r\n\r\n", forwarded(INNER_MAIL, cte="base64")]
    rng = random.Random(6)
    source = forwarded(zip_mail(make_zip([("a.pdf", MINIMAL_PDF)])))
    for _ in range(150):
        mutated = bytearray(source)
        for _ in range(rng.randint(1, 20)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        samples.append(bytes(mutated))
    for sample in samples:
        parsed = parse_mail(sample)
        assert isinstance(parsed, ParsedMail)
        assert all(pdf.name for pdf in parsed.pdfs)


def test_mail_with_more_than_200_parts_is_not_opened_but_its_header_is_read() -> None:
    part = b"--b\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\r\n"
    raw = (b"From: Kommune <info@kommune.example>\r\nSubject: Viele Teile\r\n"
           b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + part * 400 + b"--b--\r\n")

    parsed = parse_mail(raw)

    assert parsed.sender == "info@kommune.example" and parsed.subject == "Viele Teile"
    assert parsed.pdfs == []
    assert parsed.skipped == ["Die Nachricht besteht aus mehr als 200 Teilen; ihre Anhänge "
                              "wurden nicht geprüft."]


def test_header_longer_than_the_parsing_bound_keeps_its_first_parameters() -> None:
    raw = (b"Subject: Bewerbung\r\nContent-Type: application/pdf; name=\"Bewerbung.pdf\"; "
           + b"x=y; " * 2000 + b"\r\n\r\n%PDF-1.4\r\n")

    [pdf] = parse_mail(raw).pdfs

    assert pdf.name == "Bewerbung.pdf"
