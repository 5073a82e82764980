"""No mail can make the service send a flood: real Dovecot (IMAP) and SMTP servers.

What a user sees: how many answers arrive in which mailbox, the journal entries, the mail
ledger's kind for staff, and the outbox rows of answers that were withheld with a reason."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from pypdf import PdfWriter
from sqlalchemy import select

from ews.intake import mailbox as mail_intake
from ews.intake import passes as intake
from ews.mail.parse import parse_mail
from ews.operations.health import register_health
from ews.outbox import conversion
from ews.outbox.queue import outgoing_records
from ews.register.database import session_factory
from ews.register.reports import journal_records
from ews.register.schema import MailRow
from ews.runtime.settings import Settings
from tests.integration.intake.test_mail_intake import (
    OFFICE,
    SENDER,
    answers,
    application_mail,
    attempt_without_pdf,
    form,
    mail_settings,
)
from tests.support.mailserver import MailServers

OTHER = "info@moehnesee.de"
NOW = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)


def moehnesee() -> bytes:
    return form(kommune_name="Gemeinde Möhnesee", kommune_typ="Gemeinde", ags="05974032",
                plz="59519", ort="Möhnesee", strasse="Küerbiker Straße 1",
                team1_email="team@moehnesee.de", team2_email="ehrenamt@moehnesee.de")


def small_pdf(number: int) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.add_metadata({"/Title": f"Anlage {number}"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zipped(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def sixty_pdfs_in_nested_zips() -> bytes:
    inner = {f"teil-{part}.zip": zipped({f"anlage-{part}-{n:02d}.pdf": small_pdf(part * 100 + n)
                                          for n in range(20)})
             for part in range(3)}
    return zipped(inner)


def with_zip(message: EmailMessage, data: bytes) -> EmailMessage:
    message.add_attachment(data, maintype="application", subtype="zip",
                           filename="unterlagen.zip")
    return message


def run(settings: Settings, now: datetime) -> None:
    """One pass of the service at ``now``: take the mails, process, answer, send."""
    intake.prepare(settings)
    mail_intake.take_mails(settings, now)
    intake.process_inputs(intake.open_input_ids(settings), settings, now=lambda: now)
    conversion.convert_pending_letters(settings)
    mail_intake.answer_and_finish(settings, now)


def mail_kinds(settings: Settings) -> dict[str | None, str]:
    with session_factory(settings.db_url).begin() as session:
        return {row.sender: row.kind for row in session.scalars(select(MailRow))}


def body(message: EmailMessage) -> str:
    return str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def test_parser_stops_after_one_pdf_more_than_the_cap() -> None:
    raw = with_zip(application_mail(), sixty_pdfs_in_nested_zips()).as_bytes()

    assert len(parse_mail(raw, max_pdfs=20).pdfs) == 21
    assert len(parse_mail(raw).pdfs) == 60


def test_mail_with_60_pdfs_in_nested_zips_gets_one_answer_and_one_entry_for_staff(
        tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    mail.dovecot.append(OFFICE, with_zip(application_mail(), sixty_pdfs_in_nested_zips()))
    mail.dovecot.append(OFFICE, application_mail(("Bewerbung.pdf", moehnesee()), sender=OTHER))

    run(settings, NOW)

    flood, ordinary = journal_records(settings)
    assert flood["outcome"] == "invalid"
    assert "zu viele PDF-Dateien – zur Prüfung durch das Programmbüro" in flood["source"]
    assert flood["reasons"][0] == (
        "Die E-Mail enthält mehr als 20 PDF-Dateien; automatisch verarbeitet werden höchstens "
        "20 je E-Mail. Eine Mitarbeiterin oder ein Mitarbeiter des Programmbüros sieht sich die "
        "E-Mail an.")
    assert flood["stored_path"].endswith(".eml")
    assert mail_kinds(settings)[SENDER] == "staff"
    status = register_health(settings, NOW).failed  # what `ews status` shows
    assert [item.source_name for item in status.last_quarantined] == [flood["source"]]
    [answer] = answers(mail)
    assert "mehr als 20 PDF-Dateien" in body(answer)
    assert ordinary["outcome"] == "registered" and ordinary["kommune_name"] == "Gemeinde Möhnesee"
    [confirmation] = answers(mail, OTHER)
    assert ordinary["az"] in body(confirmation)
    assert len(mail.smtp.received) == 2


def test_sender_of_a_mail_with_three_pdfs_gets_one_answer_naming_all_three(
        tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    mail.dovecot.append(OFFICE, application_mail(
        ("Bewerbung Lüdenscheid.pdf", form()), ("Bewerbung Möhnesee.pdf", moehnesee()),
        ("Anlage.pdf", small_pdf(1))))

    run(settings, NOW)

    records = journal_records(settings)
    assert sorted(r["outcome"] for r in records) == ["invalid", "registered", "registered"]
    [envelope] = mail.smtp.received
    assert envelope.rcpt_tos == [SENDER]  # two municipalities: neither team reads the other's
    [answer] = answers(mail)
    assert answer["Subject"] == "Ihre E-Mail mit 3 Dateien – EWS 6"
    text = body(answer)
    for record in records:
        assert f"Eingangsnummer {record['eingangsnummer']:06d}" in text
        assert record["source"].rsplit(": ", 1)[1] in text
        if record["az"]:
            assert record["az"] in text
    # each registered input's confirmation; a PDF that is no form has nobody to write to
    names = sorted(part.get_filename() for part in answer.iter_attachments())
    assert len(names) == 2 and all(name.endswith("Eingangsbestätigung.docx") for name in names)


def test_after_the_daily_limit_the_sender_gets_no_more_answers_but_inputs_are_registered(
        tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    settings.smtp.max_answers_per_sender_per_day = 2
    for number in range(2):
        mail.dovecot.append(OFFICE, attempt_without_pdf(subject=f"Bewerbung {number}"))
    mail.dovecot.append(OFFICE, application_mail(("Bewerbung.pdf", form()),
                                                 sender="Buergermeister@Luedenscheid.DE"))

    run(settings, NOW)

    assert len(answers(mail)) == 2
    assert [r["outcome"] for r in journal_records(settings)] == [
        "invalid", "invalid", "registered"]
    [withheld] = [r for r in outgoing_records(settings) if r["status"] == "withheld"]
    assert "in den letzten 24 Stunden bereits 2 automatische Antworten" in withheld["fehler"]
    assert len(answers(mail, TEAM_MEMBER)) == 0  # the whole answer is withheld

    mail.dovecot.append(OFFICE, attempt_without_pdf(subject="Noch eine Bewerbung"))
    run(settings, NOW + timedelta(hours=23))
    assert len(answers(mail)) == 2 and len(journal_records(settings)) == 4

    mail.dovecot.append(OFFICE, attempt_without_pdf(subject="Bewerbung am nächsten Tag"))
    run(settings, NOW + timedelta(hours=24, minutes=1))
    assert len(answers(mail)) == 3 and len(journal_records(settings)) == 5


TEAM_MEMBER = "juergen.weiss@luedenscheid.de"


def test_dmarc_failure_gets_no_answer_and_is_marked_for_staff(
        tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    settings.imap.authserv_id = "mx.ews.test"
    forged = application_mail(("Bewerbung.pdf", form()), Reply_To="opfer@anderswo.example")
    forged["Authentication-Results"] = ("mx.ews.test; dkim=none; dmarc=fail (p=reject "
                                        "dis=none) header.from=luedenscheid.de")
    mail.dovecot.append(OFFICE, forged)
    mail.dovecot.append(OFFICE, application_mail(("Bewerbung.pdf", moehnesee()), sender=OTHER))

    run(settings, NOW)

    spoofed, ordinary = journal_records(settings)
    assert spoofed["outcome"] == "registered"  # the receipt counts; staff decide on the rest
    assert spoofed["source"].endswith("Bewerbung.pdf – zur Prüfung durch das Programmbüro")
    assert mail_kinds(settings)[SENDER] == "unverified"
    assert answers(mail) == [] and answers(mail, "opfer@anderswo.example") == []
    assert answers(mail, TEAM_MEMBER) == []
    [withheld] = [r for r in outgoing_records(settings) if r["status"] == "withheld"]
    assert "DMARC: fail" in withheld["fehler"] and "luedenscheid.de" in withheld["fehler"]
    status = register_health(settings, NOW).failed  # what `ews status` shows
    assert status.for_staff == 1 and status.last_for_staff[0].reason == withheld["fehler"]
    assert ordinary["outcome"] == "registered"
    [envelope] = mail.smtp.received
    assert envelope.rcpt_tos == [OTHER, "team@moehnesee.de", "ehrenamt@moehnesee.de"]


def test_reply_to_in_another_domain_is_not_answered_without_authentication(
        tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    mail.dovecot.append(OFFICE, application_mail(Reply_To="opfer@anderswo.example"))
    passed = application_mail(sender=OTHER, Reply_To="buero@dienstleister.example")
    passed["Authentication-Results"] = "mx.ews.test; dmarc=pass header.from=moehnesee.de"
    mail.dovecot.append(OFFICE, passed)

    run(settings, NOW)

    assert len(answers(mail)) == 1 and answers(mail, "opfer@anderswo.example") == []
    assert len(answers(mail, "buero@dienstleister.example")) == 1  # topmost header: passed
