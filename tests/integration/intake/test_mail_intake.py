"""Applications by e-mail against real servers: Dovecot (IMAP) and an SMTP server that
delivers into it. What a user sees: a register entry, the archived mail, the mail moved or
flagged in the office mailbox, and the answer in the sender's (and the team's) mailbox."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import select

from ews.core.errors import MailboxError
from ews.intake import mailbox as mail_intake
from ews.intake import passes as intake
from ews.intake.early_readings import EARLY_READINGS
from ews.outbox import queue as mail_out
from ews.register.database import session_factory
from ews.register.reports import journal_records
from ews.register.schema import EventRow, MailRow, OutgoingMail
from ews.runtime.settings import ImapSettings, RoundSettings, Settings, SmtpSettings
from tests.conftest import make_settings
from tests.support import pdfgen
from tests.support.mailserver import CuttingProxy, MailServers

OFFICE = "bewerbung@ews.test"
SENDER = "buergermeister@luedenscheid.de"
TEAM = ["juergen.weiss@luedenscheid.de", "aenne.schroeder@luedenscheid.de"]
DONE = "Bewerbungen/Verarbeitet"


def mail_settings(root: Path, mail: MailServers, **changes: object) -> Settings:
    imap = ImapSettings(host="127.0.0.1", port=mail.dovecot.imap_port, user=OFFICE,
                        password="geheim", security="none", timeout_seconds=15)
    smtp = SmtpSettings(host="127.0.0.1", port=mail.smtp.port, security="none",
                        user="ews@ews.test", password="geheim", retry_seconds=0,
                        timeout_seconds=15)
    values: dict[str, object] = {"imap": imap, "smtp": smtp, "mail_from": OFFICE}
    values.update(changes)
    return make_settings(root, **values)


def application_mail(*attachments: tuple[str, bytes], sender: str = SENDER,
                     subject: str = "Bewerbung EWS 6", **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Bürgermeister <{sender}>"
    message["To"] = OFFICE
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="luedenscheid.de")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("Sehr geehrte Damen und Herren,\nanbei unsere Bewerbung.\n")
    for name, data in attachments:
        message.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return message


def attempt_without_pdf(subject: str = "Bewerbung EWS 6", **headers: str) -> EmailMessage:
    """A mail that evidently tries to apply but carries no PDF: a photo of the form."""
    message = application_mail(subject=subject, **headers)
    message.add_attachment(b"\xff\xd8\xff\xe0 ein Foto des Bogens", maintype="image",
                           subtype="jpeg", filename="Bewerbungsbogen.jpg")
    return message


def form(**changes: str) -> bytes:
    return pdfgen.filled_form({**pdfgen.VALUES, **changes})


def answers(mail: MailServers, user: str = SENDER) -> list[EmailMessage]:
    return [stored.message for stored in mail.dovecot.messages(user)]


def test_mailed_application_is_registered_archived_moved_and_answered(
        tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    raw = application_mail(("Bewerbung.pdf", form())).as_bytes(policy=SMTP)  # CRLF, as stored
    mail.dovecot.append(OFFICE, raw)

    [result] = intake.run_pass(settings)

    assert result.outcome == "registered" and result.az
    [record] = journal_records(settings)
    assert record["source"].startswith("E-Mail von buergermeister@luedenscheid.de „Bewerbung")
    assert record["source"].endswith("Uhr: Bewerbung.pdf")
    [archived] = (settings.archive_dir / "mail").rglob("*.eml")
    assert archived.read_bytes() == raw
    assert mail.dovecot.messages(OFFICE) == []
    assert len(mail.dovecot.messages(OFFICE, DONE)) == 1
    [answer] = answers(mail)
    assert answer["Subject"] == f"Eingangsbestätigung – EWS 6 ({result.az})"
    assert answer["Auto-Submitted"] == "auto-replied"
    assert answer["In-Reply-To"] == application_mail_id(raw)
    assert result.az in answer.get_body(("plain",)).get_content()
    [letter] = list(answer.iter_attachments())
    assert letter.get_filename().endswith("Eingangsbestätigung.docx")
    for member in TEAM:
        assert len(answers(mail, member)) == 1
    assert len(mail.dovecot.messages(OFFICE, "Sent")) == 1


def application_mail_id(raw: bytes) -> str:
    from email import message_from_bytes
    return str(message_from_bytes(raw)["Message-ID"])


def test_two_pdfs_with_umlaut_names_in_both_encodings_inline_and_octet_stream(
        tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    moehnesee = form(kommune_name="Gemeinde Möhnesee", kommune_typ="Gemeinde", ags="05974032",
                     plz="59519", ort="Möhnesee", strasse="Küerbiker Straße 1")
    luedenscheid = form()
    raw = (
        b"From: Verwaltung <" + SENDER.encode() + b">\r\nTo: " + OFFICE.encode() + b"\r\n"
        b"Subject: =?utf-8?q?Bewerbungen_f=C3=BCr_EWS_6?=\r\n"
        b"Message-ID: <zwei-pdfs@luedenscheid.de>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nAnbei zwei Bewerbungen.\r\n--b1\r\n"
        b"Content-Type: application/octet-stream;\r\n"
        b" name=\"=?iso-8859-1?Q?Bewerbung_L=FCdenscheid.pdf?=\"\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + _b64(luedenscheid) + b"\r\n--b1\r\n"
        b"Content-Type: application/pdf\r\n"
        b"Content-Disposition: inline; filename*=UTF-8''Bewerbung%20Mo%CC%88hnesee.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + _b64(moehnesee) + b"\r\n--b1--\r\n")
    mail.dovecot.append(OFFICE, raw)

    results = intake.run_pass(settings)

    assert sorted(r.outcome for r in results) == ["registered", "registered"]
    sources = sorted(r["source"].rsplit(": ", 1)[1] for r in journal_records(settings))
    assert sources == ["Bewerbung Lüdenscheid.pdf", "Bewerbung Möhnesee.pdf"]
    [answer] = answers(mail)  # one answer per mail, naming both inputs
    text = answer.get_body(("plain",)).get_content()
    assert "Bewerbung Lüdenscheid.pdf" in text and "Bewerbung Möhnesee.pdf" in text


def _b64(data: bytes) -> bytes:
    import base64
    return base64.encodebytes(data).replace(b"\n", b"\r\n").rstrip()


def test_forwarded_mail_and_zip_archive_are_opened(tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    inner = application_mail(("Bewerbung_Original.pdf", form()), sender="amt@luedenscheid.de")
    forwarded = EmailMessage()
    forwarded["From"], forwarded["To"] = SENDER, OFFICE
    forwarded["Subject"], forwarded["Message-ID"] = "WG: Bewerbung", make_msgid()
    forwarded.set_content("Zur Kenntnis, weitergeleitet.")
    forwarded.add_attachment(inner)
    mail.dovecot.append(OFFICE, forwarded)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("Unterlagen/Bewerbungsbogen Möhnesee.pdf",
                        form(kommune_name="Gemeinde Möhnesee", kommune_typ="Gemeinde",
                             ags="05974032", plz="59519", ort="Möhnesee"))
    zipped_mail = application_mail(sender="info@moehnesee.de")
    zipped_mail.add_attachment(archive.getvalue(), maintype="application", subtype="zip",
                               filename="unterlagen.zip")
    mail.dovecot.append(OFFICE, zipped_mail)

    results = intake.run_pass(settings)

    assert sorted(r.kommune_name or "" for r in results) == ["Gemeinde Möhnesee",
                                                            "Stadt Lüdenscheid"]
    assert all(r.outcome == "registered" for r in results)
    assert len(answers(mail, SENDER)) == 1 and len(answers(mail, "info@moehnesee.de")) == 1


def test_auto_reply_is_never_an_application_and_never_answered(
        tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    auto = application_mail(("Bewerbung.pdf", form()), subject="Automatische Antwort: EWS",
                            Auto_Submitted="auto-replied")
    mail.dovecot.append(OFFICE, auto)

    assert intake.run_pass(settings) == []

    assert journal_records(settings) == []
    with session_factory(settings.db_url).begin() as session:
        [row] = session.scalars(select(MailRow))
        assert row.kind == "automatic" and row.state == "done"
        assert "Auto-Submitted" in row.reasons[0]
    assert answers(mail) == [] and mail.smtp.received == []
    assert len(mail.dovecot.messages(OFFICE, DONE)) == 1


def test_mail_without_pdf_and_oversized_pdf_get_reasons_and_an_answer(
        tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    mail.dovecot.append(OFFICE, attempt_without_pdf())  # evidently tried to apply
    filled = form()
    big = filled + b"%" + b"0" * (30 * 1024 * 1024 - len(filled) - 1)  # 30,0 MB exactly
    mail.dovecot.append(OFFICE, application_mail(("Bewerbung gross.pdf", big),
                                                 sender="ordnungsamt@luedenscheid.de"))

    results = intake.run_pass(settings)

    assert [r.outcome for r in results] == ["invalid", "invalid"]
    reasons = {r.source_name: r.reasons for r in results}
    assert any("keine Bewerbung als PDF" in " ".join(rs) for rs in reasons.values())
    assert any("30,0 MB" in " ".join(rs) for rs in reasons.values())
    quarantined = sorted(p.name for p in settings.quarantine_dir.iterdir())
    assert len([name for name in quarantined if name.endswith(".Grund.txt")]) == 2
    [question] = answers(mail)
    assert "keine Bewerbung als PDF" in question.get_body(("plain",)).get_content()
    [too_big] = answers(mail, "ordnungsamt@luedenscheid.de")
    assert "höchstens 25 MB" in too_big.get_body(("plain",)).get_content()


def test_receipt_time_is_the_servers_internaldate_not_the_date_header(
        tmp_path: Path, mail: MailServers) -> None:
    yesterday = datetime.now(UTC) - timedelta(days=1)
    settings = mail_settings(tmp_path, mail, round=RoundSettings(
        name="EWS 6", deadline=yesterday.date() - timedelta(days=3), deadline_fixed=True))
    message = application_mail(("Bewerbung.pdf", form()))
    message.replace_header("Subject", "Bewerbung (Datum im Kopf vor der Frist)")
    message["Date"] = "Mon, 01 Jan 2024 09:00:00 +0100"
    mail.dovecot.append(OFFICE, message, internaldate=yesterday)

    [result] = intake.run_pass(settings)

    assert result.outcome == "late"
    [record] = journal_records(settings)
    assert abs(datetime.fromisoformat(record["received_at"]) - yesterday) < timedelta(seconds=2)
    [answer] = answers(mail)
    assert answer["Subject"].startswith("Verspätete Bewerbung")


def test_connection_cut_in_the_middle_of_a_fetch_loses_nothing_and_takes_nothing_twice(
        tmp_path: Path, mail: MailServers, imap_proxy: CuttingProxy) -> None:
    settings = mail_settings(tmp_path, mail)
    settings.imap.port = imap_proxy.port
    for ags, name, plz in (("05962032", "Stadt Lüdenscheid", "58507"),
                           ("05974032", "Gemeinde Möhnesee", "59519"),
                           ("05966000", "Kreis Olpe", "57462")):
        mail.dovecot.append(OFFICE, application_mail(
            ("Bewerbung.pdf", form(ags=ags, kommune_name=name, plz=plz)),
            sender=f"post@{plz}.example"))
    imap_proxy.cut_after(60_000)  # inside the FETCH of the three mails (~120 kB)

    with pytest.raises(MailboxError):
        intake.run_pass(settings)
    assert imap_proxy.cuts == 1
    assert journal_records(settings) == []  # nothing half-taken
    assert len(mail.dovecot.messages(OFFICE)) == 3  # nothing lost

    results = intake.run_pass(settings)
    intake.run_pass(settings)

    assert sorted(r.outcome for r in results) == ["registered"] * 3
    assert len(journal_records(settings)) == 3
    assert len(mail.dovecot.messages(OFFICE, DONE)) == 3
    assert len(mail.smtp.received) == 3


def test_a_cut_while_the_next_batch_is_fetched_keeps_the_batch_prepared_meanwhile(
        tmp_path: Path, mail: MailServers, imap_proxy: CuttingProxy) -> None:
    """The workers prepare one batch while the next is fetched: a cut in the second fetch
    records the first batch all the same, and the next pass takes only the rest."""
    settings = mail_settings(tmp_path, mail)
    settings.imap.port, settings.imap.batch_size = imap_proxy.port, 1
    raws = []
    for ags, name, plz in (("05962032", "Stadt Lüdenscheid", "58507"),
                           ("05974032", "Gemeinde Möhnesee", "59519"),
                           ("05966000", "Kreis Olpe", "57462")):
        message = application_mail(("Bewerbung.pdf", form(ags=ags, kommune_name=name, plz=plz)),
                                   sender=f"post@{plz}.example")
        raws.append(message.as_bytes(policy=SMTP))
        mail.dovecot.append(OFFICE, message)
    imap_proxy.cut_after(len(raws[0]) + len(raws[1]) // 2)  # inside the second mail's FETCH

    with pytest.raises(MailboxError):
        intake.run_pass(settings)
    assert imap_proxy.cuts == 1
    [first] = journal_records(settings)  # the first batch: prepared while the cut came
    assert (first["outcome"], first["kommune_name"]) == ("registered", "Stadt Lüdenscheid")

    results = intake.run_pass(settings)
    intake.run_pass(settings)

    assert sorted(r.kommune_name or "" for r in results) == ["Gemeinde Möhnesee", "Kreis Olpe"]
    records = journal_records(settings)
    assert len(records) == 3 and {r["outcome"] for r in records} == {"registered"}
    assert len(mail.dovecot.messages(OFFICE, DONE)) == 3
    assert len(mail.smtp.received) == 3  # one answer each, none twice


def test_a_mailed_form_is_read_once_while_its_mail_is_prepared(
        tmp_path: Path, mail: MailServers) -> None:
    """The preparation's reading of a form by its fields is the intake's: kept by the claimed
    file, taken by the intake, which does not read the file again. A printed form (read by
    its text layer, and by OCR for its ticks) is read by the intake itself."""
    settings = mail_settings(tmp_path, mail)
    mail.dovecot.append(OFFICE, application_mail(("Bewerbung.pdf", form()),
                                                 ("Gedruckt.pdf", pdfgen.printed_form())))

    intake.prepare(settings)
    taken = mail_intake.take_mails(settings, datetime.now(UTC))

    claims = sorted((settings.mail_dir).rglob("*.pdf"))
    assert [claim.name for claim in claims] == ["01__Bewerbung.pdf", "02__Gedruckt.pdf"]
    kept = EARLY_READINGS.take(str(claims[0]))
    assert kept is not None and kept.fields["kommune_name"] == pdfgen.VALUES["kommune_name"]
    assert EARLY_READINGS.take(str(claims[1])) is None  # not kept: the intake reads it
    # what the intake takes, marked: the register shows that the file was not read again
    EARLY_READINGS.keep(claims[0], kept.model_copy(
        update={"fields": {**kept.fields, "kommune_name": None}}))

    first, second = intake.process_inputs(taken, settings)

    assert first.outcome == "invalid" and any("Kommune" in r for r in first.reasons)
    assert (second.outcome, second.kommune_name) == ("registered", pdfgen.VALUES["kommune_name"])
    assert EARLY_READINGS.take(str(claims[0])) is None  # taken by the intake


def test_smtp_451_is_retried_and_the_answer_arrives_once(
        tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    settings.imap.sent_folder = ""
    mail.dovecot.append(OFFICE, application_mail(("Bewerbung.pdf", form())))
    mail.smtp.fail_next(code=451, message="4.3.0 Bitte später erneut versuchen")

    intake.run_pass(settings)
    [pending] = mail_out.outgoing_records(settings)
    assert pending["status"] == "queued" and "451" in pending["fehler"]
    assert answers(mail) == []

    intake.run_pass(settings)
    intake.run_pass(settings)

    [sent] = mail_out.outgoing_records(settings)
    assert sent["status"] == "sent" and sent["versuche"] == 2
    assert len(answers(mail)) == 1


def test_permanent_refusal_is_given_up_with_a_german_reason(
        tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    settings.imap.sent_folder = ""
    unknown = "gibt.es.nicht@luedenscheid.de"
    mail.dovecot.append(OFFICE, application_mail(("Bewerbung.pdf", form(
        team1_email=unknown, team2_email=unknown)), sender=unknown))
    mail.smtp.reject_recipient(unknown, code=550, message="5.1.1 Unbekannter Empfänger")

    intake.run_pass(settings)
    intake.run_pass(settings)

    [failed] = mail_out.outgoing_records(settings)
    assert failed["status"] == "failed" and failed["versuche"] == 1
    assert "endgültig abgelehnt" in failed["fehler"] and "550" in failed["fehler"]
    with session_factory(settings.db_url).begin() as session:
        [event] = session.scalars(select(EventRow).where(EventRow.action ==
                                                         "mail-fehlgeschlagen"))
        assert "Unbekannter Empfänger" in event.detail["grund"]


def test_keyword_post_action_and_the_same_mail_again_are_not_taken_twice(
        tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    settings.imap.done_action = "keyword"
    raw = application_mail(("Bewerbung.pdf", form())).as_bytes()
    mail.dovecot.append(OFFICE, raw)

    intake.run_pass(settings)
    [stored] = mail.dovecot.messages(OFFICE)
    assert "EWS-verarbeitet" in stored.flags
    assert intake.run_pass(settings) == []

    mail.dovecot.append(OFFICE, raw)  # the same mail once more (new UID, same Message-ID)
    assert intake.run_pass(settings) == []
    assert len(journal_records(settings)) == 1 and len(answers(mail)) == 1
    with session_factory(settings.db_url).begin() as session:
        kinds = sorted(row.kind for row in session.scalars(select(MailRow)))
    assert kinds == ["application", "duplicate"]
    assert [p for p in settings.mail_dir.rglob("*") if p.is_file()] == []  # all filed


def test_mail_left_sending_by_a_crash_is_not_sent_again_when_in_sent_folder(
        tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    mail.dovecot.append(OFFICE, application_mail(("Bewerbung.pdf", form())))
    intake.run_pass(settings)
    assert len(answers(mail)) == 1
    with session_factory(settings.db_url).begin() as session:
        [row] = session.scalars(select(OutgoingMail))
        row.state = "sending"  # as if the process died after the copy to Sent

    intake.run_pass(settings)

    assert len(answers(mail)) == 1
    assert mail_out.outgoing_records(settings)[0]["status"] == "sent"

    with session_factory(settings.db_url).begin() as session:
        [row] = session.scalars(select(OutgoingMail))
        row.state = "sending"  # died before the server accepted it: not in Sent
    mail.dovecot.reset()
    intake.run_pass(settings)
    assert len(answers(mail)) == 1  # sent (again) exactly once into the fresh mailbox


def test_verified_tls_for_imap_and_smtp(tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    settings.imap.security, settings.imap.port = "ssl", mail.dovecot.imaps_port
    settings.imap.ca_file = mail.dovecot.cert_path
    settings.smtp.security, settings.smtp.ca_file = "starttls", mail.dovecot.cert_path
    mail.dovecot.append(OFFICE, application_mail(("Bewerbung.pdf", form())))

    [result] = intake.run_pass(settings)

    assert result.outcome == "registered"
    assert mail.smtp.received[0].tls and mail.smtp.received[0].authenticated_as
    untrusted = mail_settings(tmp_path / "x", mail)
    untrusted.imap.security, untrusted.imap.port = "ssl", mail.dovecot.imaps_port
    with pytest.raises(MailboxError, match="nicht vertrauenswürdig"):
        intake.run_pass(untrusted)


def test_a_second_worker_taking_the_same_mail_takes_nothing(
        tmp_path: Path, mail: MailServers) -> None:
    from ews.intake.mailbox import take_mail
    from ews.mail.imap import Mailbox

    settings = mail_settings(tmp_path, mail)
    intake.prepare(settings)
    mail.dovecot.append(OFFICE, application_mail(("Bewerbung.pdf", form())))
    with_mailbox = Mailbox(settings.imap)
    try:
        [fetched] = list(with_mailbox.fetch(with_mailbox.uids_to_look_at()))
        first = take_mail(settings, with_mailbox.uidvalidity, fetched, datetime.now(UTC))
        second = take_mail(settings, with_mailbox.uidvalidity, fetched, datetime.now(UTC))
    finally:
        with_mailbox.close()
    assert len(first) == 1 and second == []
    with session_factory(settings.db_url).begin() as session:
        assert len(list(session.scalars(select(MailRow)))) == 1


def test_answers_by_implicit_tls(tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    settings.smtp.security, settings.smtp.port = "ssl", mail.smtp.tls_port
    settings.smtp.ca_file = mail.dovecot.cert_path
    mail.dovecot.append(OFFICE, application_mail(("Bewerbung.pdf", form())))

    intake.run_pass(settings)

    assert len(answers(mail)) == 1
    assert mail.smtp.received[0].tls


def test_failed_post_action_leaves_the_mail_for_the_next_pass(
        tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    settings.imap.done_action = "keyword"
    settings.imap.done_keyword = r"\Unbekannt"  # not a system flag: the server refuses it
    mail.dovecot.append(OFFICE, application_mail(("Bewerbung.pdf", form())))

    [result] = intake.run_pass(settings)

    assert result.outcome == "registered"
    [stored] = mail.dovecot.messages(OFFICE)
    assert "EWS-verarbeitet" not in stored.flags
    with session_factory(settings.db_url).begin() as session:
        [row] = session.scalars(select(MailRow))
        assert row.state == "taken" and row.error
    settings.imap.done_keyword = "EWS-verarbeitet"
    assert intake.run_pass(settings) == []  # not taken again, only marked now
    [stored] = mail.dovecot.messages(OFFICE)
    assert "EWS-verarbeitet" in stored.flags
    assert len(journal_records(settings)) == 1 and len(answers(mail)) == 1


def test_attachments_with_names_too_long_for_a_file_system_do_not_hold_up_the_mailbox(
        tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    cjk = "市民参加申請書" * 12 + "令和八年度.pdf"  # 89 characters and ".pdf": 271 bytes
    emoji = "🙂" * 75 + ".pdf"  # 304 bytes
    mail.dovecot.append(OFFICE, application_mail(
        (cjk, form()), sender="amt@luedenscheid.de", subject="申請書" * 30))
    mail.dovecot.append(OFFICE, application_mail(
        (emoji, pdfgen.filled_form({**pdfgen.VALUES, "kommune_name": "Stadt Altena",
                                    "ags": "05962004", "plz": "58762", "ort": "Altena",
                                    "datenschutz": False})),
        sender="info@altena.de", subject="🙂" * 80))
    behind = form(kommune_name="Stadt Iserlohn", ags="05962024", plz="58636", ort="Iserlohn")
    mail.dovecot.append(OFFICE, application_mail(("Bewerbung Iserlohn.pdf", behind),
                                                 sender="buergermeister@iserlohn.de"))

    results = intake.run_pass(settings)

    outcomes = {r.kommune_name: r.outcome for r in results}
    assert outcomes == {"Stadt Lüdenscheid": "registered", "Stadt Altena": "invalid",
                        "Stadt Iserlohn": "registered"}
    sources = [record["source"] for record in journal_records(settings)]
    assert any(": 市民参加申請書" in source and source.endswith(".pdf") for source in sources)
    assert any(": 🙂🙂" in source and source.endswith(".pdf") for source in sources)
    for result in results:
        stored = Path(result.stored_path or "")
        assert stored.is_file() and len(stored.name.encode("utf-8")) <= 255
    quarantined = Path(next(r.stored_path for r in results if r.outcome == "invalid") or "")
    assert "Einwilligung Datenschutz" in quarantined.with_name(
        quarantined.name + ".Grund.txt").read_text("utf-8")
    archived = list((settings.archive_dir / "mail").rglob("*.eml"))
    assert len(archived) == 3 and all(len(p.name.encode()) <= 255 for p in archived)
    assert mail.dovecot.messages(OFFICE) == []
    assert len(mail.dovecot.messages(OFFICE, DONE)) == 3
    for sender in ("amt@luedenscheid.de", "info@altena.de", "buergermeister@iserlohn.de"):
        assert len(answers(mail, sender)) == 1
    [answer] = answers(mail, "buergermeister@iserlohn.de")
    assert answer["Subject"].startswith("Eingangsbestätigung – EWS 6")
