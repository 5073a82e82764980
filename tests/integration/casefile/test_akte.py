"""``ews akte``: a case built by the real intake (an application and its correction), with the
correspondence, follow-up, outgoing mails and decision other parts write added as rows, read
back as a table, as JSON, as an Aktenauszug (real LibreOffice) and in the register's XLSX."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from fsspec.core import url_to_fs
from openpyxl import load_workbook
from typer.testing import CliRunner

from ews.casefile.export import check_toc_template
from ews.core.deadlines import BERLIN
from ews.intake import passes as intake
from ews.register.case_file import case_file
from ews.register.case_keys import mail_lines
from ews.register.database import transaction
from ews.register.reports import record_stamp
from ews.register.schema import (
    ApplicationRow,
    CorrespondenceRow,
    DecisionRow,
    DeclarationRow,
    EventRow,
    FollowUpRow,
    LetterRow,
    MailRow,
    OutgoingMail,
)
from ews.runtime import storage
from ews.runtime.settings import Settings
from ews.selection.export_xlsx import export_register
from flows.cli import app
from tests.conftest import cli_env, make_settings
from tests.support import pdfgen
from tests.support.sql import statements_sent

REPLY_SUBJECT = "AW: Ihre Bewerbung, Az. {az}"
REMINDER_SUBJECT = "Erinnerung: Bestätigung der Freistellung"
ACK_SUBJECT = "Ihre Nachricht ist eingegangen"


def eml(path: Path, subject: str, sender: str, to: str) -> tuple[str, bytes]:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message.set_content("Sehr geehrte Damen und Herren,\nanbei die Bestätigung.\n")
    data = bytes(message)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path), data


def add_rows(settings: Settings, az: str, files: Path) -> dict[str, Any]:
    """What the mail intake, the follow-ups and the selection add to the case, as rows; their
    times follow the application's receipt, whatever day the tests run."""
    raw_path, raw = eml(files / "mail" / "antwort.eml", REPLY_SUBJECT.format(az=az),
                        "kommune@example.org", "ews@ews.test")
    raw_sha256 = hashlib.sha256(raw).hexdigest()
    attachment = files / "mail" / "Freistellung unterschrieben.pdf"
    attachment.write_bytes(pdfgen.filled_form())
    photo = "memory://ews-akte/anhang/Foto vom Termin.jpg"  # an fsspec store
    fs, photo_path = url_to_fs(photo)
    photo_bytes = b"\xff\xd8\xff\xe0 kein echtes JPEG"
    fs.pipe_file(photo_path, photo_bytes)
    reminder_path, _ = eml(files / "ausgang" / "erinnerung.eml", REMINDER_SUBJECT,
                           "ews@ews.test", "team@example.org")
    ack_path, _ = eml(files / "ausgang" / "eingang.eml", ACK_SUBJECT, "ews@ews.test",
                      "kommune@example.org")
    with transaction(settings.db_url) as session:
        application = session.query(ApplicationRow).filter_by(az=az).one()
        start = application.received_at
        mail = MailRow(account="ews", folder="INBOX", uidvalidity=1, uid=99,
                       message_id="<antwort@example.org>", sha256=raw_sha256,
                       internaldate=start + timedelta(hours=3), sender="kommune@example.org",
                       subject=REPLY_SUBJECT.format(az=az), kind="correspondence",
                       reasons=[], raw_path=raw_path, state="done")
        session.add(mail)
        session.flush()
        session.add(CorrespondenceRow(
            az=az, application_id=application.id, channel="postfach", mail_id=mail.id,
            matched_by="az", sender="kommune@example.org", subject=mail.subject,
            excerpt="anbei die Bestätigung.", received_at=start + timedelta(hours=3),
            raw_path=raw_path, sha256=raw_sha256, state="neu",
            attachments=[{"name": attachment.name, "path": str(attachment),
                          "sha256": hashlib.sha256(attachment.read_bytes()).hexdigest(),
                          "size": attachment.stat().st_size},
                         {"name": "Foto vom Termin.jpg", "path": photo,
                          "sha256": hashlib.sha256(photo_bytes).hexdigest(),
                          "size": len(photo_bytes)}]))
        session.add(DecisionRow(application_id=application.id, round_name="EWS 6",
                                decision="angenommen", decided_by="sachbearbeitung",
                                decided_at=start + timedelta(hours=1)))
        follow_up = FollowUpRow(az=az, application_id=application.id, kind="freistellung",
                                due_on=(start + timedelta(days=14)).date().isoformat(),
                                state="offen", created_by="postausgang",
                                created_at=start + timedelta(hours=2))
        session.add(follow_up)
        session.flush()
        session.add(OutgoingMail(
            purpose="erinnerung", subject_key=f"wiedervorlage:{follow_up.id}:{follow_up.due_on}",
            message_id="<erinnerung@ews.test>", recipients=["team@example.org"],
            eml_path=reminder_path, state="sent", attempts=1,
            next_attempt_at=start + timedelta(hours=4), refused={},
            sent_at=start + timedelta(hours=4), created_at=start + timedelta(hours=4)))
        day = f"{(start + timedelta(hours=3)).astimezone(BERLIN):%Y-%m-%d}"
        for sender, path in (("kommune@example.org", ack_path), ("andere@example.org", "")):
            # one per sender and day: only the first is the acknowledgment of this case
            session.add(OutgoingMail(
                purpose="eingang", subject_key=f"absender:{sender}:{day}",
                message_id=f"<eingang-{sender}>", recipients=[sender], eml_path=path,
                state="sent", attempts=1, next_attempt_at=start + timedelta(hours=3, minutes=1),
                refused={}, sent_at=start + timedelta(hours=3, minutes=1),
                created_at=start + timedelta(hours=3, minutes=1)))
        session.add(EventRow(at=start + timedelta(hours=5), actor="sachbearbeitung",
                             action="wiedervorlage-verlaengert", subject=az,
                             detail={"bis": "31.12.2099"}))
    return {"reply": raw_path, "attachment": str(attachment), "reminder": reminder_path,
            "photo": photo}


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, str, str, dict[str, Any]]:
    """Lüdenscheid applies on paper (stamped), then sends a corrected form (it replaces the
    first); the Az. of the first and of the second application, and the added files."""
    settings = make_settings(tmp_path_factory.mktemp("akte"))
    intake.prepare(settings)
    paper = settings.inbox_dir / "bewerbung.pdf"
    paper.write_bytes(pdfgen.filled_form())
    now = datetime.now(BERLIN)
    record_stamp(settings, paper, now - timedelta(hours=2), actor="Poststelle", now=now)
    [first] = intake.run_pass(settings)
    corrected = dict(pdfgen.VALUES, motivation="Korrigierte Fassung.")
    (settings.inbox_dir / "korrektur.pdf").write_bytes(pdfgen.filled_form(corrected))
    [second] = intake.run_pass(settings)
    assert first.outcome == second.outcome == "registered" and first.az and second.az
    files = add_rows(settings, second.az, tmp_path_factory.mktemp("dateien"))
    return settings, first.az, second.az, files


def akte(settings: Settings, *args: str) -> Any:
    return CliRunner().invoke(app, ["akte", *args], env={**cli_env(settings), "COLUMNS": "250"})


def records(settings: Settings, az: str) -> dict[str, Any]:
    result = akte(settings, az, "--json")
    assert result.exit_code == 0, result.output
    record: dict[str, Any] = json.loads(result.stdout)
    return record


def test_the_akte_lists_every_entry_in_time_order(case: tuple[Any, ...]) -> None:
    settings, first_az, second_az, files = case
    record = records(settings, second_az)
    assert record["aktenzeichen"] == second_az and record["kommune"]
    entries = record["eintraege"]
    times = [datetime.fromisoformat(entry["zeit"]) for entry in entries]
    assert times == sorted(times) and all(t.utcoffset() is not None for t in times)
    kinds = [entry["art"] for entry in entries]
    assert kinds.count("eingang") == 2 and kinds.count("brief") == 2
    for kind in ("stempel", "post_ein", "post_aus", "entscheidung", "wiedervorlage", "ereignis"):
        assert kind in kinds, kinds
    titles = [entry["titel"] for entry in entries]
    reply = REPLY_SUBJECT.format(az=second_az)
    # the receipts, then the rows added after the second receipt, in their order
    ordered = ["Entscheidung: angenommen", "Wiedervorlage: Bestätigung der Freistellung",
               f"Schriftverkehr eingegangen: {reply}",
               "E-Mail versandt: Eingangsnachricht („Ihre Nachricht ist eingegangen“)",
               "E-Mail versandt: Erinnerung (Wiedervorlage)", "Wiedervorlage verlängert"]
    assert [title for title in titles if title in ordered] == ordered  # each once, in order
    assert titles.index("Brief: Eingangsbestätigung") < titles.index(ordered[0])
    documents = {doc["ort"] for entry in entries for doc in entry["dokumente"]}
    assert {files["reply"], files["attachment"], files["reminder"], files["photo"]} <= documents
    # the mail is shown once: as the correspondence filed to the case
    assert not any(title.startswith("E-Mail eingegangen") for title in titles)
    # the first Az. opens the same case
    assert len(records(settings, first_az)["eintraege"]) == len(entries)


def test_the_table_shows_the_case_in_german(case: tuple[Any, ...]) -> None:
    settings, _first_az, second_az, _files = case
    result = akte(settings, second_az)
    assert result.exit_code == 0, result.output
    assert f"Akte {second_az}" in result.output
    for word in ("Eingangsbestätigung", "Entscheidung: angenommen", "Post aus", "Wiedervorlage"):
        assert word in result.output, word


@pytest.mark.parametrize("spelling", ["{az} ", "Az. {az}", "{spaced}"])
def test_the_usual_spellings_of_the_az_find_the_case(case: tuple[Any, ...], spelling: str
                                                     ) -> None:
    settings, _first_az, second_az, _files = case
    spaced = second_az.replace("-", " \u2013 ")  # 13.0.70 – 002/2026
    record = records(settings, spelling.format(az=second_az, spaced=spaced))
    assert record["aktenzeichen"] == second_az


def test_an_unknown_az_is_refused_in_german(case: tuple[Any, ...]) -> None:
    settings, *_ = case
    result = akte(settings, "13.0.70-999/1999")
    assert result.exit_code == 1
    assert "Keine Akte gefunden" in result.output and "13.0.70-999/1999" in result.output


def test_a_non_empty_export_folder_is_refused(case: tuple[Any, ...], tmp_path: Path) -> None:
    settings, _first_az, second_az, _files = case
    (tmp_path / "notiz.txt").write_text("schon da")
    result = akte(settings, second_az, "--export", str(tmp_path))
    assert result.exit_code == 2
    assert "nicht leer" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["notiz.txt"]


def poppler(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


@pytest.mark.libreoffice
def test_the_export_writes_a_pdfa_toc_and_every_document_byte_for_byte(
        case: tuple[Any, ...], tmp_path: Path) -> None:
    settings, _first_az, second_az, files = case
    target = tmp_path / "auszug"
    result = akte(settings, second_az, "--export", str(target))
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in target.iterdir())
    assert names[0] == "000_Inhaltsverzeichnis.pdf" and "manifest-sha256.txt" in names
    # the same check as the letters' PDF/A (tests/integration/letters/test_pdfa.py)
    toc = target / "000_Inhaltsverzeichnis.pdf"
    xmp = " ".join(poppler("pdfinfo", "-meta", str(toc)).split())
    assert "<pdfaid:part>2</pdfaid:part>" in xmp
    assert "<pdfaid:conformance>B</pdfaid:conformance>" in xmp
    fonts = poppler("pdffonts", str(toc)).splitlines()[2:]
    assert fonts and all(" yes " in line for line in fonts), fonts
    text = poppler("pdftotext", str(toc), "-")
    assert second_az in text and "Aktenauszug" in text
    # a name wrapped in its cell loses its hyphen at the line end in the extracted text
    plain_text = "".join(text.split()).replace("-", "")
    # every document of the case, numbered in time order, byte for byte
    record = records(settings, second_az)
    sources = [doc["ort"] for entry in record["eintraege"] for doc in entry["dokumente"]]
    documents = [name for name in names if name[:3].isdigit() and name[:3] != "000"]
    assert len(documents) == len(sources) >= 7
    for number, (name, source) in enumerate(zip(documents, sources, strict=True), start=1):
        assert name.startswith(f"{number:03d}_"), name
        assert name.replace("-", "") in plain_text, name
        original = storage.read_location(source, settings.storage.options)
        assert (target / name).read_bytes() == original, name
    assert any(name.endswith("_Eingangsbestaetigung.docx") for name in documents)
    assert any(name.endswith(".eml") for name in documents)
    assert any(name.endswith("_Freistellung_unterschrieben.pdf") for name in documents)
    manifest = (target / "manifest-sha256.txt").read_text().splitlines()
    listed = dict(reversed(line.split("  ", 1)) for line in manifest)
    assert set(listed) == set(names) - {"manifest-sha256.txt"}
    for name, digest in listed.items():
        assert hashlib.sha256((target / name).read_bytes()).hexdigest() == digest
    assert files["attachment"] in sources and files["photo"] in sources
    assert any(name.endswith("_Foto_vom_Termin.jpg") for name in documents)
    # once written, the folder is not written again
    again = akte(settings, second_az, "--export", str(target))
    assert again.exit_code == 2 and "nicht leer" in again.output


def test_the_register_workbook_has_the_correspondence_sheet(case: tuple[Any, ...],
                                                            tmp_path: Path) -> None:
    settings, _first_az, second_az, _files = case
    target = export_register(settings, tmp_path / "register.xlsx")
    sheet = load_workbook(target)["Schriftverkehr"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == ["Aktenzeichen", "Kommune", "Datum (MEZ/MESZ)", "Richtung",
                       "Absender/Empfänger", "Betreff", "zugeordnet durch", "Status"]
    of_case = [row for row in rows[1:] if row[0] == second_az]  # other tests add cases
    assert [row[3] for row in of_case] == ["Eingang", "Ausgang", "Ausgang"]
    incoming, acknowledgment, outgoing = of_case
    assert incoming[0] == outgoing[0] == acknowledgment[0] == second_az
    assert incoming[1] == outgoing[1] and incoming[1]
    assert acknowledgment[4] == "kommune@example.org" and acknowledgment[5] == ACK_SUBJECT
    assert incoming[4] == "kommune@example.org"
    assert incoming[5] == REPLY_SUBJECT.format(az=second_az)
    assert incoming[6] == "Aktenzeichen im Betreff/Text" and incoming[7] == "neu"
    assert outgoing[4] == "team@example.org" and outgoing[5] == REMINDER_SUBJECT
    assert outgoing[7] == "gesendet"
    assert isinstance(incoming[2], datetime) and incoming[2] < outgoing[2]


def test_the_case_is_read_in_a_fixed_number_of_queries(case: tuple[Any, ...]) -> None:
    settings, first_az, second_az, _files = case
    with transaction(settings.db_url) as session, statements_sent(
            session.get_bind().engine) as statements:
        found = case_file(session, first_az)  # the replaced one: not the first lookup
    assert found is not None and second_az in found.azs and len(found.entries) >= 9
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 12, selects  # the bound case_file promises


@pytest.mark.libreoffice
def test_a_declaration_only_case_exports_and_names_what_is_missing(
        case: tuple[Any, ...], tmp_path: Path) -> None:
    """A municipality that only signed the Gemeinsame Erklärung: its case is the declaration;
    a document gone from the store is named, not skipped in silence."""
    settings, *_ = case
    az = "13.0.70-050/2026"
    with transaction(settings.db_url) as session:
        session.add(DeclarationRow(az=az, ags="05958004", kommune_name="Gemeinde Y",
                                   docx_path=str(tmp_path / "weg" / "Erklärung.docx"),
                                   state="issued", issued_by="netzwerk",
                                   issued_at=datetime.now(BERLIN) - timedelta(days=1)))
        scan, received = tmp_path / "Erklärung unterschrieben.pdf", datetime.now(BERLIN)
        scan.write_bytes(b"%PDF-1.7 heute anders als beim Eingang")
        session.add(CorrespondenceRow(
            az=az, channel="ordner", matched_by="ordner", subject="",
            received_at=received + timedelta(seconds=1), sha256="1" * 64,
            state="neu", attachments=[{"name": scan.name, "path": str(scan),
                                       "sha256": "1" * 64, "size": 1}]))
    record = records(settings, az.replace("-", " – "))
    assert record["kommune"] == "Gemeinde Y" and record["runde"] is None
    assert [entry["titel"] for entry in record["eintraege"]] == [
        "Gemeinsame Erklärung ausgestellt", "Schriftverkehr eingegangen: –"]
    target = tmp_path / "auszug"
    target.mkdir()  # an empty folder is taken
    result = akte(settings, az, "--export", str(target))
    assert result.exit_code == 1 and "Erklärung.docx fehlt" in result.output
    assert "SHA-256 weicht ab" in result.output
    altered = f"002_{received + timedelta(seconds=1):%Y-%m-%d}_Erklaerung_unterschrieben.pdf"
    assert sorted(p.name for p in target.iterdir()) == [
        "000_Inhaltsverzeichnis.pdf", altered, "manifest-sha256.txt"]
    assert (target / altered).read_bytes() == scan.read_bytes()  # as it is, for the record
    toc = poppler("pdftotext", str(target / "000_Inhaltsverzeichnis.pdf"), "-")
    assert "(fehlt)" in "".join(toc.split()) and "Gemeinde Y" in toc
    assert "(Prüfsummeabweichend)" in "".join(toc.split())


def test_a_correction_follow_up_brings_its_maengelschreiben_and_form(
        case: tuple[Any, ...]) -> None:
    """The form the Mängelschreiben answered has no Az.; the follow-up on the letter files
    both to the case. (Last in this module: it adds to the shared case.)"""
    settings, _first_az, second_az, _files = case
    broken = dict(pdfgen.VALUES, team1_email="keine-adresse", datenschutz=False)
    (settings.inbox_dir / "unvollständig.pdf").write_bytes(pdfgen.filled_form(broken))
    [invalid] = intake.run_pass(settings)
    assert invalid.outcome == "invalid" and invalid.az is None
    with transaction(settings.db_url) as session:
        letter = session.query(LetterRow).filter_by(input_id=invalid.input_id).one()
        assert letter.kind == "maengelschreiben"
        # the intake opened the correction follow-up; a corrected application of the case
        # links it (as register.follow_ups.close_corrections does)
        follow_up = session.query(FollowUpRow).filter_by(letter_id=letter.id).one()
        assert (follow_up.kind, follow_up.state) == ("korrektur", "offen")
        follow_up.application_id = session.query(ApplicationRow).filter_by(
            az=second_az).one().id
    titles = [entry["titel"] for entry in records(settings, second_az)["eintraege"]]
    assert "Brief: Mängelschreiben" in titles and "Eingang (ungültig)" in titles
    assert titles.index("Eingang (ungültig)") < titles.index("Brief: Mängelschreiben")


def test_the_case_and_its_mail_lines_on_both_registers(tmp_path: Path,
                                                       database_url: str | None) -> None:
    changes: dict[str, Any] = {} if database_url is None else {"database_url": database_url}
    settings = make_settings(tmp_path / "ablage", **changes)
    (settings.inbox_dir / "bewerbung.pdf").write_bytes(pdfgen.filled_form())
    [result] = intake.run_pass(settings)
    assert result.az
    files = add_rows(settings, result.az, tmp_path / "dateien")
    with transaction(settings.db_url) as session:
        found = case_file(session, result.az)
        lines = mail_lines(session)
    assert found is not None
    kinds = [entry.kind for entry in found.entries]
    assert kinds.count("post_aus") == 2 and kinds.count("post_ein") == 1
    assert files["photo"] in {doc.location for entry in found.entries for doc in entry.documents}
    assert [(line.direction, line.az) for line in lines] == [
        ("Eingang", result.az), ("Ausgang", result.az), ("Ausgang", result.az)]


def test_without_its_template_the_export_writes_nothing_and_says_why(
        case: tuple[Any, ...], tmp_path: Path) -> None:
    settings, _first_az, second_az, _files = case
    templates = tmp_path / "vorlagen"
    shutil.copytree(settings.templates_dir, templates)
    (templates / "aktenauszug.docx").unlink()
    target = tmp_path / "auszug"
    result = CliRunner().invoke(app, ["akte", second_az, "--export", str(target)], env={
        **cli_env(settings), "EWS_TEMPLATES_DIR": str(templates), "COLUMNS": "250"})
    assert result.exit_code == 1
    assert "Aktenauszug nicht erstellt" in result.output and "aktenauszug.docx" in result.output
    assert not target.exists() and list(tmp_path.iterdir()) == [templates]


def test_the_template_check_names_a_typo_in_the_aktenauszug(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    templates = tmp_path / "vorlagen"
    shutil.copytree(settings.templates_dir, templates)
    broken = Document(str(templates / "aktenauszug.docx"))
    broken.add_paragraph("{{ kommnue }}")
    broken.save(str(templates / "aktenauszug.docx"))
    assert check_toc_template(settings) == []  # the template as built
    [problem] = check_toc_template(settings.model_copy(update={"templates_dir": templates}))
    assert "aktenauszug.docx" in problem and "kommnue" in problem
    result = CliRunner().invoke(app, ["vorlagen", "pruefen"], env={
        **cli_env(settings), "EWS_TEMPLATES_DIR": str(templates), "COLUMNS": "250"})
    assert result.exit_code == 1 and "kommnue" in result.output
