"""Mail for people reaches people, and correspondence is filed to its case: against real
Dovecot and SMTP. A question lands flagged in the staff folder with at most a neutral
acknowledgment; a reply (by its headers or an Az. in it) is filed to its Akte, its
attachments archived byte for byte, never a new application nor a Mängelschreiben; a
corrected application sent as a reply still replaces the first."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from fpdf import FPDF
from sqlalchemy import select

from ews.core.deadlines import BERLIN
from ews.intake import passes as intake
from ews.intake.early_readings import EARLY_READINGS
from ews.register.database import session_factory
from ews.register.reports import journal_records
from ews.register.schema import (
    ApplicationRow,
    CorrespondenceRow,
    DeclarationRow,
    FollowUpRow,
    Input,
    LetterRow,
    MailRow,
)
from ews.runtime import storage
from ews.runtime.settings import Settings
from tests.conftest import make_settings
from tests.integration.intake.test_mail_intake import (
    DONE,
    OFFICE,
    SENDER,
    answers,
    application_mail,
    form,
    mail_settings,
)
from tests.support import declgen, pdfgen
from tests.support.mailserver import MailServers

STAFF = "Zu bearbeiten"
ASKER = "kaemmerei@moehnesee.de"
MOEHNESEE = {"kommune_name": "Gemeinde Möhnesee", "kommune_typ": "Gemeinde", "ags": "05974032",
             "plz": "59519", "ort": "Möhnesee", "strasse": "Küerbiker Straße 1"}


def letter_pdf(*lines: str) -> bytes:
    """A PDF with a text layer that is no form: a signed release confirmation."""
    pdf = FPDF(format="A4")
    pdf.add_font("DejaVu", fname=str(pdfgen.FONT))
    pdf.add_page()
    pdf.set_font("DejaVu", size=11)
    for line in lines:
        pdf.cell(text=line, new_x="LMARGIN", new_y="NEXT", h=7)
    return bytes(pdf.output())


RELEASE = letter_pdf("Bestätigung der Freistellung", "Hiermit bestätigen wir die Freistellung "
                     "unseres Teams für die Entwicklungswerkstatt.", "Lüdenscheid, den 1.12.",
                     "gez. Bürgermeister")
SCAN = pdfgen.blank_scan()  # a scan without our QR code: no input, an attachment


def people_mail(subject: str, body: str, *, sender: str = ASKER,
                attachments: tuple[tuple[str, bytes], ...] = (), **headers: str
                ) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Kämmerei <{sender}>"
    message["To"] = OFFICE
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=sender.split("@")[1])
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    for name, data in attachments:
        message.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return message


def pieces(settings: Settings) -> list[CorrespondenceRow]:
    with session_factory(settings.db_url).begin() as session:
        rows = list(session.scalars(select(CorrespondenceRow).order_by(CorrespondenceRow.id)))
        session.expunge_all()
        return rows


def count(settings: Settings, table: type) -> int:
    with session_factory(settings.db_url).begin() as session:
        return len(list(session.scalars(select(table))))


def registered_case(settings: Settings, mail: MailServers, **values: str
                    ) -> tuple[str, EmailMessage]:
    """One application by mail, registered and answered: its Az. and our answer."""
    sender = SENDER if not values else "info@moehnesee.de"
    mail.dovecot.append(OFFICE, application_mail(("Bewerbung.pdf", form(**values)),
                                                 sender=sender))
    [result] = intake.run_pass(settings)
    assert result.outcome == "registered" and result.az
    return result.az, answers(mail, sender)[-1]


def test_a_question_reaches_staff_flagged_and_gets_only_the_neutral_acknowledgment(
        tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    # both questions reach the server on the same Berlin day, whenever the test runs
    noon = datetime.combine(datetime.now(BERLIN).date() - timedelta(days=1), time(12),
                            tzinfo=BERLIN)
    mail.dovecot.append(OFFICE, people_mail(
        "Frage zur Bewerbung – Bis wann können wir uns bewerben?",
        "Guten Tag,\nbis wann können wir uns bewerben?\nViele Grüße"), internaldate=noon)

    assert intake.run_pass(settings) == []

    assert journal_records(settings) == []  # no input, no „invalid“
    [piece] = pieces(settings)
    assert (piece.az, piece.matched_by, piece.state, piece.channel) == (
        None, "keine", "neu", "postfach")
    assert "bis wann können wir uns bewerben?" in piece.excerpt
    assert piece.acknowledged_at is not None
    [staff] = mail.dovecot.messages(OFFICE, STAFF)
    assert "\\Flagged" in staff.flags
    assert mail.dovecot.messages(OFFICE) == []
    [ack] = answers(mail, ASKER)
    text = ack.get_body(("plain",)).get_content()
    assert "Ihre Nachricht ist eingegangen; wir antworten Ihnen persönlich." in text
    assert "nicht als Bewerbung registriert" not in text
    assert ack["Auto-Submitted"] == "auto-replied"

    mail.dovecot.append(OFFICE, people_mail("Noch eine Frage", "Und wie viele Plätze gibt es?"),
                        internaldate=noon + timedelta(hours=3))
    intake.run_pass(settings)

    assert len(pieces(settings)) == 2
    assert len(answers(mail, ASKER)) == 1  # one acknowledgment per sender and day
    assert len(mail.dovecot.messages(OFFICE, STAFF)) == 2


def test_an_auto_reply_gets_no_acknowledgment(tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    mail.dovecot.append(OFFICE, people_mail("Automatische Antwort: Ihre Nachricht",
                                            "Ich bin bis Montag nicht im Büro.",
                                            Auto_Submitted="auto-replied"))

    intake.run_pass(settings)

    assert pieces(settings) == [] and answers(mail, ASKER) == []
    assert mail.smtp.received == []
    assert len(mail.dovecot.messages(OFFICE, DONE)) == 1


def test_a_reply_with_a_signed_pdf_is_filed_to_its_akte(tmp_path: Path, mail: MailServers
                                                        ) -> None:
    settings = mail_settings(tmp_path, mail)
    az, ours = registered_case(settings, mail)
    mail.dovecot.append(OFFICE, people_mail(
        "AW: Eingangsbestätigung", "Anbei die unterschriebene Freistellung.", sender=SENDER,
        attachments=(("Freistellung unterschrieben.pdf", RELEASE), ("Scan.pdf", SCAN)),
        In_Reply_To=ours["Message-ID"], References=ours["Message-ID"]))

    assert intake.run_pass(settings) == []

    [piece] = pieces(settings)
    assert (piece.az, piece.matched_by, piece.input_id) == (az, "antwort", None)
    attachment, scan = piece.attachments
    assert scan["name"] == "Scan.pdf" and storage.read_location(
        scan["path"], settings.storage.options) == SCAN
    assert attachment["name"] == "Freistellung unterschrieben.pdf"
    stored = storage.read_location(attachment["path"], settings.storage.options)
    assert stored == RELEASE and attachment["sha256"] == hashlib.sha256(RELEASE).hexdigest()
    assert storage.read_location(piece.raw_path or "", settings.storage.options).count(
        b"Freistellung") >= 1
    assert len(journal_records(settings)) == 1  # only the application
    assert count(settings, ApplicationRow) == 1
    with session_factory(settings.db_url).begin() as session:
        kinds = [letter.kind for letter in session.scalars(select(LetterRow))]
    assert kinds == ["eingangsbestaetigung"]  # no Mängelschreiben
    assert len(mail.dovecot.messages(OFFICE, STAFF)) == 1
    [ack] = [m for m in answers(mail) if "eingegangen" in str(m["Subject"])]
    assert az in str(ack["Subject"])


def test_an_az_in_subject_or_first_lines_finds_the_case_in_any_spelling(
        tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    first, _ours = registered_case(settings, mail)
    second, ours = registered_case(settings, mail, **MOEHNESEE)
    key, rest = second.split("-", 1)
    serial, year = rest.split("/")
    spellings = {
        "outlook": (f"AW: Ihre Bewerbung, Az. {second}", "Danke!"),
        "forward": (f"WG: Ihre Bewerbung, Az. {key} – {int(serial)}/{year}", "Zur Kenntnis."),
        "re": (f"RE: Rückfrage zu Az.\u00a0{key}\u2014{serial} / {year}", "Eine Frage."),
        "body": ("Rückfrage", f"Guten Tag,\nunser Aktenzeichen: {key} - {serial}/{year}\n"),
        "quoted": ("AW: Zusage", f"Danke, erhalten.\n\n-----Ursprüngliche Nachricht-----\n"
                                 f"Von: {OFFICE}\nBetreff: Az. {first}\n"),
    }
    for label, (subject, body) in spellings.items():
        mail.dovecot.append(OFFICE, people_mail(subject, body, Comments=label))
    chain = f"<unbekannt@example.org> {ours['Message-ID']} <auch-unbekannt@example.org>"
    mail.dovecot.append(OFFICE, people_mail("Re: Eingangsbestätigung", "Danke.",
                                            References=chain))

    assert intake.run_pass(settings) == []

    found = [(piece.subject, piece.az, piece.matched_by) for piece in pieces(settings)]
    assert [az for _s, az, _m in found] == [second, second, second, second, None, second]
    assert [m for _s, _az, m in found] == ["az", "az", "az", "az", "keine", "antwort"]
    assert count(settings, ApplicationRow) == 2
    assert len(mail.dovecot.messages(OFFICE, STAFF)) == 6


def test_a_corrected_application_sent_as_a_reply_replaces_the_first(
        tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    az, ours = registered_case(settings, mail)
    corrected = form(motivation="Korrigierte Fassung unserer Motivation.")
    mail.dovecot.append(OFFICE, people_mail(
        "AW: Eingangsbestätigung", "Anbei der korrigierte Bogen.", sender=SENDER,
        attachments=(("Bewerbung korrigiert.pdf", corrected),),
        In_Reply_To=ours["Message-ID"]))

    [result] = intake.run_pass(settings)

    assert result.outcome == "registered" and result.az != az
    with session_factory(settings.db_url).begin() as session:
        statuses = {row.az: row.status for row in session.scalars(select(ApplicationRow))}
        kind = session.scalars(select(MailRow.kind).order_by(MailRow.id.desc())).first()
    assert statuses == {az: "replaced", result.az: "registered"}
    assert kind == "schriftverkehr"
    [piece] = pieces(settings)
    assert (piece.az, piece.matched_by, piece.input_id) == (az, "antwort", result.input_id)
    registered = [m for m in answers(mail) if str(m["Subject"]).startswith(
        "Eingangsbestätigung") and result.az in str(m["Subject"])]
    assert len(registered) == 1  # answered with its letter, as any application


def registered_with_case_folder(tmp_path: Path) -> tuple[Settings, str, Path]:
    """Settings, the Az. of an application registered by a first pass, and its case folder in
    the inbox (named as an office would: „/“ cannot be in a folder name)."""
    settings = make_settings(tmp_path)
    (settings.inbox_dir / "Bewerbung.pdf").write_bytes(form())
    [first] = intake.run_pass(settings)
    assert first.az is not None
    key, rest = first.az.split("-", 1)
    serial, year = rest.split("/")
    case_folder = settings.inbox_dir / f"{key}-{serial}_{year}"
    case_folder.mkdir()
    return settings, first.az, case_folder


def test_files_in_an_az_folder_are_filed_to_that_case_and_an_unknown_az_is_quarantined(
        tmp_path: Path) -> None:
    settings, az, case_folder = registered_with_case_folder(tmp_path)
    key, year = az.split("-", 1)[0], az.rsplit("/", 1)[1]
    (case_folder / "Freistellung.pdf").write_bytes(RELEASE)
    (case_folder / "Bewerbung korrigiert.pdf").write_bytes(form(motivation="Neu gefasst."))
    unknown = settings.inbox_dir / f"{key}-999-{year}"
    unknown.mkdir()
    (unknown / "Irrläufer.pdf").write_bytes(RELEASE)

    [corrected] = intake.run_pass(settings)

    assert corrected.outcome == "registered" and corrected.az != az
    with session_factory(settings.db_url).begin() as session:
        statuses = {row.az: row.status for row in session.scalars(select(ApplicationRow))}
    assert statuses == {az: "replaced", corrected.az: "registered"}
    by_input, filed = sorted(pieces(settings), key=lambda piece: piece.input_id is None)
    assert (by_input.az, by_input.channel, by_input.matched_by, by_input.input_id) == (
        az, "ordner", "ordner", corrected.input_id)
    assert (filed.az, filed.channel, filed.matched_by) == (az, "ordner", "ordner")
    [attachment] = filed.attachments
    assert attachment["name"] == "Freistellung.pdf"
    assert storage.read_location(attachment["path"], settings.storage.options) == RELEASE
    [reason] = [path for path in settings.quarantine_dir.rglob("*.Grund.txt")]
    assert "kein Aktenzeichen, das im Register bekannt ist" in reason.read_text("utf-8")
    quarantined = [path for path in settings.quarantine_dir.rglob("*Irrläufer*")
                   if not path.name.endswith(".Grund.txt")]
    assert [path.read_bytes() for path in quarantined] == [RELEASE]
    assert [path for path in settings.inbox_dir.rglob("*") if path.is_file()
            and ".ews-" not in str(path)] == []
    assert len(journal_records(settings)) == 2  # the two applications, nothing „invalid“


def test_a_form_in_an_az_folder_is_read_once_when_its_nature_is_decided(
        tmp_path: Path) -> None:
    """Filing a case-folder file reads it to decide its nature; a form read by its fields is
    kept for the intake (``early_readings``), which does not read the file again."""
    settings, _az, case_folder = registered_with_case_folder(tmp_path)
    (case_folder / "Bewerbung korrigiert.pdf").write_bytes(form(motivation="Neu gefasst."))

    [opened] = intake.claim_new_inputs(settings)

    with session_factory(settings.db_url).begin() as session:
        claim = session.get(Input, opened).claim_path
    kept = EARLY_READINGS.take(claim)
    assert kept is not None and kept.fields["motivation"] == "Neu gefasst."
    # what the intake takes, marked: the register shows that the file was not read again
    EARLY_READINGS.keep(Path(claim), kept.model_copy(
        update={"fields": {**kept.fields, "kommune_name": None}}))
    [corrected] = intake.process_inputs([opened], settings)
    assert corrected.outcome == "invalid" and any("Kommune" in r for r in corrected.reasons)


def test_a_case_folder_pdf_is_read_within_the_intake_time_limit(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Deciding a case-folder PDF's nature reads it on the worker pool, under the intake's
    timeout: a PDF that takes longer (a scan, looked at for our QR code) holds up nothing
    and is filed to the case byte for byte."""
    settings, az, case_folder = registered_with_case_folder(tmp_path)
    settings.intake.read_timeout_seconds = 0.05  # the scan's QR search takes about 0.4 s
    scan = pdfgen.scanned_form()
    (case_folder / "Scan.pdf").write_bytes(scan)

    with caplog.at_level("WARNING", logger="ews.intake.case_folders"):
        assert intake.claim_new_inputs(settings) == []

    assert "„Scan.pdf“ im Aktenordner nicht gelesen" in caplog.text
    assert "länger als" in caplog.text
    [piece] = pieces(settings)
    assert (piece.az, piece.channel, piece.input_id) == (az, "ordner", None)
    [attachment] = piece.attachments
    assert storage.read_location(attachment["path"], settings.storage.options) == scan


def test_no_acknowledgment_to_a_sender_failing_dmarc_nor_to_ourselves_and_keyword_mode(
        tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    settings.imap.authserv_id = "mx.ews.test"
    settings.imap.done_action = "keyword"
    forged = people_mail("Frage", "Wie ist der Stand?")
    forged["Authentication-Results"] = ("mx.ews.test; dkim=none; dmarc=fail (p=reject "
                                        "dis=none) header.from=moehnesee.de")
    mail.dovecot.append(OFFICE, forged)
    mail.dovecot.append(OFFICE, people_mail("Notiz", "Bitte Rückruf.", sender=OFFICE))

    intake.run_pass(settings)

    assert [(piece.matched_by, piece.acknowledged_at) for piece in pieces(settings)] == [
        ("keine", None), ("keine", None)]
    assert mail.smtp.received == []
    with session_factory(settings.db_url).begin() as session:
        kinds = [row.kind for row in session.scalars(select(MailRow).order_by(MailRow.id))]
    assert kinds == ["unverified", "schriftverkehr"]
    flagged = mail.dovecot.messages(OFFICE)  # keyword mode: they stay, marked and flagged
    assert len(flagged) == 2
    assert all({"\\Flagged", settings.imap.done_keyword} <= message.flags
               for message in flagged)


@pytest.mark.ocr
def test_a_declaration_recognised_by_its_qr_code_is_filed_to_its_akte_too(
        tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    intake.prepare(settings)
    hagen = declgen.HAGEN
    with session_factory(settings.db_url).begin() as session:
        session.add(DeclarationRow(az=hagen.az, ags=hagen.ags, kommune_name=hagen.kommune,
                                   issued_by="test", issued_at=datetime.now(UTC)))
    mail.dovecot.append(OFFICE, people_mail(
        "Unterschriebene Erklärung", "Anbei.", sender="buero@hagen.de",
        attachments=(("Erklärung.pdf", declgen.scanned_declaration()),)))

    [result] = intake.run_pass(settings)

    assert (result.outcome.value, result.az) == ("declaration", hagen.az)
    [piece] = pieces(settings)
    assert (piece.az, piece.matched_by, piece.input_id) == (hagen.az, "qr", result.input_id)
    assert len(mail.dovecot.messages(OFFICE, DONE)) == 1  # answered in full: not for staff
    [answer] = answers(mail, "buero@hagen.de")
    assert "Beitritt" in str(answer["Subject"])


def test_a_corrected_form_sent_as_a_reply_to_the_maengelschreiben_closes_its_follow_up(
        tmp_path: Path, mail: MailServers) -> None:
    """The defective application has no Az.: the reply to our answer finds no case, and its
    form is an application of the same municipality that closes the correction follow-up."""
    settings = mail_settings(tmp_path, mail)
    mail.dovecot.append(OFFICE, application_mail(("Bewerbung.pdf", form(datenschutz=False)),
                                                 sender=SENDER))
    [invalid] = intake.run_pass(settings)
    assert invalid.outcome == "invalid" and invalid.az is None
    [ours] = answers(mail, SENDER)
    with session_factory(settings.db_url).begin() as session:
        [opened] = session.scalars(select(FollowUpRow)).all()
        assert (opened.kind, opened.state) == ("korrektur", "offen")
    mail.dovecot.append(OFFICE, people_mail(
        "AW: Ihre Bewerbung – Mängel", "Anbei der vollständige Bogen.\n\n> Ihre Bewerbung …",
        sender=SENDER, attachments=(("Bewerbung berichtigt.pdf", form()),),
        In_Reply_To=ours["Message-ID"], References=ours["Message-ID"]))

    [corrected] = intake.run_pass(settings)

    assert corrected.outcome == "registered" and corrected.az
    with session_factory(settings.db_url).begin() as session:
        [closed] = session.scalars(select(FollowUpRow)).all()
        letters = [letter.kind for letter in session.scalars(
            select(LetterRow).order_by(LetterRow.id))]
    assert (closed.state, closed.closed_by) == ("erledigt", "posteingang")
    assert corrected.az in (closed.close_note or "")
    assert letters == ["maengelschreiben", "eingangsbestaetigung"]  # no second Mängelschreiben
