"""The whole service with its files in a storage outside the data folder: a shared folder given
as ``file://`` URL, and an fsspec filesystem that is not a local folder to the service (fsspec's
``dir://`` over a temporary folder: it goes through the same code as an object store and, unlike
``memory://``, is seen by the worker processes). What a user checks: the register's locations
point into the storage, the bytes there are the right ones, a quarantined file has its reason
beside it, letters, circulars and outgoing mails are read back from the storage by another
machine with folders of its own, and nothing is left in the local folders."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.policy import SMTP
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from ews.circulars.drafts import read_draft
from ews.circulars.mailing import send_circulars
from ews.circulars.reports import circular_records
from ews.core.models import LetterKind
from ews.intake import mailbox as mail_intake
from ews.intake import passes as intake
from ews.intake.pipeline import InputResult
from ews.letters.context import sample_letter_data
from ews.letters.render import letter_bytes
from ews.outbox import conversion
from ews.register.database import session_factory
from ews.register.reports import journal_records
from ews.register.schema import LetterRow, MailRow, OutgoingMail
from ews.runtime.folders import WORK_FOLDER
from ews.runtime.settings import LetterSettings, Settings, StorageSettings
from ews.runtime.storage import open_store, read_location
from tests.conftest import make_settings
from tests.integration.circulars.test_circulars import (
    NOW,
    add_members,
    issue_and_crash_before_the_documents,
    write_draft,
)
from tests.integration.circulars.test_circulars import _address as member_address
from tests.integration.intake.test_mail_intake import (
    OFFICE,
    application_mail,
    attempt_without_pdf,
    form,
    mail_settings,
)
from tests.support import pdfgen
from tests.support.mailserver import MailServers

INCOMPLETE = dict(pdfgen.VALUES, team1_email="keine-adresse", datenschutz=False)


@pytest.fixture
def object_store(tmp_path: Path) -> StorageSettings:
    return StorageSettings(url="dir://", options={"path": str(tmp_path / "objektspeicher"),
                                                  "target_protocol": "file"})


def drop_valid_and_incomplete(settings: Settings) -> tuple[bytes, bytes]:
    valid, incomplete = pdfgen.filled_form(), pdfgen.filled_form(INCOMPLETE)
    (settings.inbox_dir / "Bewerbung Lüdenscheid.pdf").write_bytes(valid)
    (settings.inbox_dir / "unvollständig.pdf").write_bytes(incomplete)
    return valid, incomplete


def by_outcome(results: list[InputResult]) -> dict[str, InputResult]:
    return {result.outcome.value: result for result in results}


def files_in(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def assert_nothing_stored_locally(settings: Settings) -> None:
    assert files_in(settings.archive_dir) == [] and files_in(settings.quarantine_dir) == []
    assert files_in(settings.inbox_dir / WORK_FOLDER) == []
    assert files_in(settings.mail_dir) == []


def assert_quarantined_in(shared: Path, result: InputResult, data: bytes, reason: str) -> None:
    """The input lies byte for byte in the shared folder's quarantine with its reason."""
    quarantined = Path(result.stored_path or "")
    assert quarantined.parent == shared / "quarantaene"
    assert quarantined.read_bytes() == data
    text = quarantined.with_name(quarantined.name + ".Grund.txt").read_text("utf-8")
    assert reason in text


def test_originals_go_to_a_shared_folder_given_as_file_url(tmp_path: Path) -> None:
    shared = tmp_path / "Geteilte Ablage"
    settings = make_settings(tmp_path / "dienst",
                             storage=StorageSettings(url=shared.as_uri()))
    valid, incomplete = drop_valid_and_incomplete(settings)

    results = by_outcome(intake.run_pass(settings))

    archived = Path(results["registered"].stored_path or "")
    assert archived.parent.parent == shared / "archiv"
    assert archived.name.endswith("__Bewerbung Lüdenscheid.pdf")
    assert archived.read_bytes() == valid
    assert_quarantined_in(shared, results["invalid"], incomplete,
                          "„Einwilligung Datenschutz“ muss angekreuzt sein")
    stored = {r["source"]: r["stored_path"] for r in journal_records(settings)}
    assert stored["Bewerbung Lüdenscheid.pdf"] == str(archived)
    assert_nothing_stored_locally(settings)


def test_originals_go_to_an_object_store(tmp_path: Path, object_store: StorageSettings
                                        ) -> None:
    settings = make_settings(tmp_path, storage=object_store)
    valid, incomplete = drop_valid_and_incomplete(settings)

    results = by_outcome(intake.run_pass(settings))

    archive = open_store(settings.archive_root, object_store.options)
    archived = results["registered"].stored_path or ""
    assert archived.startswith("dir://archiv/")
    assert archive.read_bytes(archived) == valid
    quarantine = open_store(settings.quarantine_root, object_store.options)
    quarantined = results["invalid"].stored_path or ""
    assert "/quarantaene/" in quarantined and quarantine.read_bytes(quarantined) == incomplete
    reason = quarantine.read_bytes(quarantined + ".Grund.txt").decode("utf-8")
    assert reason.startswith("Diese Datei konnte nicht als Bewerbung registriert werden.")
    assert "„Einwilligung Datenschutz“ muss angekreuzt sein" in reason
    assert {r["stored_path"] for r in journal_records(settings)} == {archived, quarantined}
    assert_nothing_stored_locally(settings)


def test_a_duplicate_is_filed_in_the_object_store_under_its_own_key(
        tmp_path: Path, object_store: StorageSettings) -> None:
    settings = make_settings(tmp_path, storage=object_store)
    data = pdfgen.filled_form()
    (settings.inbox_dir / "a.pdf").write_bytes(data)
    [first] = intake.run_pass(settings)
    (settings.inbox_dir / "a (Kopie).pdf").write_bytes(data)
    [second] = intake.run_pass(settings)
    assert second.outcome == "duplicate" and second.stored_path != first.stored_path
    archive = open_store(settings.archive_root, object_store.options)
    assert archive.read_bytes(second.stored_path or "") == data
    assert_nothing_stored_locally(settings)


def raw_paths(settings: Settings) -> dict[str, str]:
    with session_factory(settings.db_url).begin() as session:
        return {row.subject: row.raw_path for row in session.scalars(select(MailRow))}


def test_mails_read_by_worker_processes_are_archived_in_the_shared_folder(
        tmp_path: Path, mail: MailServers) -> None:
    shared = tmp_path / "ablage"
    settings = mail_settings(tmp_path / "dienst", mail,
                             storage=StorageSettings(url=shared.as_uri()))
    pdf = form()
    with_pdf = application_mail(("Bewerbung.pdf", pdf)).as_bytes(policy=SMTP)  # as stored
    without_pdf = attempt_without_pdf(subject="Frage zur Bewerbung").as_bytes(policy=SMTP)
    mail.dovecot.append(OFFICE, with_pdf)
    mail.dovecot.append(OFFICE, without_pdf)  # two mails: prepared on the worker pool

    results = by_outcome(intake.run_pass(settings))

    archived = Path(results["registered"].stored_path or "")
    assert archived.parent.parent == shared / "archiv" and archived.read_bytes() == pdf
    raws = raw_paths(settings)
    for subject, raw_bytes in (("Bewerbung EWS 6", with_pdf),
                               ("Frage zur Bewerbung", without_pdf)):
        raw = Path(raws[subject])
        assert raw.parent.parent == shared / "archiv" / "mail" and raw.suffix == ".eml"
        assert raw.read_bytes() == raw_bytes
    assert_quarantined_in(shared, results["invalid"], without_pdf, "keine Bewerbung als PDF")
    assert_nothing_stored_locally(settings)


def test_a_single_mail_is_archived_in_the_object_store(
        tmp_path: Path, mail: MailServers, object_store: StorageSettings) -> None:
    settings = mail_settings(tmp_path, mail, storage=object_store)
    pdf = form()
    raw_bytes = application_mail(("Bewerbung.pdf", pdf)).as_bytes(policy=SMTP)
    mail.dovecot.append(OFFICE, raw_bytes)

    [result] = intake.run_pass(settings)  # one mail: prepared in this process

    archive = open_store(settings.archive_root, object_store.options)
    assert result.outcome == "registered"
    assert archive.read_bytes(result.stored_path or "") == pdf
    raw = raw_paths(settings)["Bewerbung EWS 6"]
    assert raw.startswith("dir://archiv/mail/")
    assert archive.read_bytes(raw) == raw_bytes
    assert_nothing_stored_locally(settings)


def second_machine(settings: Settings, root: Path) -> Settings:
    """The same service on another machine: the shared inbox, register and storage, but
    outbox and data folders of its own."""
    return settings.model_copy(update={
        "outbox_dir": root / "outbox", "data_dir": root / "data",
        "database_url": SecretStr(settings.db_url)})


@pytest.mark.libreoffice
def test_letters_made_on_one_machine_are_converted_and_mailed_by_another(
        tmp_path: Path, mail: MailServers, object_store: StorageSettings) -> None:
    first = mail_settings(tmp_path / "rechner1", mail, storage=object_store,
                          letters=LetterSettings(pdf=True, timeout_seconds=240))
    second = second_machine(first, tmp_path / "rechner2")
    pdf = form()
    sender = f"bm-{uuid.uuid4().hex[:8]}@luedenscheid.de"
    mail.dovecot.append(OFFICE, application_mail(("Bewerbung.pdf", pdf), sender=sender
                                                 ).as_bytes(policy=SMTP))

    intake.prepare(first)  # machine 1 takes the mail, registers it and writes the letter
    [input_id] = mail_intake.take_mails(first, datetime.now(UTC))
    [result] = intake.process_inputs([input_id], first)
    assert result.outcome == "registered"
    [letter] = letter_rows(first)
    assert letter.docx_path.startswith("dir://ausgang/13.0.70-001-2026 Stadt Lüdenscheid/")
    assert letter.state == "rendered"

    intake.prepare(second)  # machine 2 converts it and answers the mail
    [made] = conversion.convert_pending_letters(second)
    mail_intake.answer_and_finish(second, datetime.now(UTC))

    [letter] = letter_rows(first)
    assert (letter.state, letter.pdf_path) == ("done", made)
    assert made == letter.docx_path.removesuffix(".docx") + ".pdf"
    stored_pdf = read_location(made, object_store.options)
    assert stored_pdf.startswith(b"%PDF") and b"pdfaid" in stored_pdf
    [answer] = [m.message for m in mail.dovecot.messages(sender)]
    [attachment] = list(answer.iter_attachments())
    assert attachment.get_filename() == made.rpartition("/")[2]
    assert attachment.get_content() == stored_pdf
    with session_factory(first.db_url).begin() as session:
        [outgoing] = session.scalars(select(OutgoingMail)).all()
        assert outgoing.state == "sent" and outgoing.eml_path == "dir://postausgang/000001.eml"
    for machine in (first, second):
        assert files_in(machine.outbox_dir) == [] and files_in(machine.postausgang_dir) == []
        assert files_in(machine.data_dir / "libreoffice" / "arbeit") == []  # scratch copies
    assert files_in(first.mail_dir) == []


def letter_rows(settings: Settings) -> list[LetterRow]:
    with session_factory(settings.db_url).begin() as session:
        rows = list(session.scalars(select(LetterRow)))
        session.expunge_all()
        return rows


def test_a_circular_issued_on_one_machine_is_finished_and_sent_by_another(
        tmp_path: Path, mail: MailServers, object_store: StorageSettings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    first = mail_settings(tmp_path / "rechner1", mail, storage=object_store)
    second = second_machine(first, tmp_path / "rechner2")
    intake.prepare(first)
    add_members(first, 3)
    draft = read_draft(write_draft(first), first.round.name)
    issue_and_crash_before_the_documents(first, draft, monkeypatch)  # machine 1 dies

    report = send_circulars(second, NOW)

    assert (report.circulars, report.queued, report.sent) == (["1/2026"], 3, 3)
    [record] = circular_records(second)
    folder = "dir://ausgang/rundschreiben/2026/001_netzwerktreffen"
    assert record["dokument"] == f"{folder}/Mitteilung_001-2026.docx"
    store = open_store(second.output_root, object_store.options)
    assert store.read_bytes(f"{folder}/Programm.pdf") == pdfgen.filled_form()
    assert store.exists(f"{folder}/rundschreiben.md")
    staging = tmp_path / "objektspeicher" / "ausgang" / "rundschreiben" / ".vorbereitung"
    assert list(staging.iterdir()) == []
    for index in range(3):
        [message] = [m.message for m in mail.dovecot.messages(member_address(index))]
        names = [part.get_filename() for part in message.iter_attachments()]
        assert names == ["Mitteilung_001-2026.docx", "Programm.pdf"]
        assert list(message.iter_attachments())[1].get_content() == pdfgen.filled_form()
    for machine in (first, second):
        assert files_in(machine.outbox_dir) == [] and files_in(machine.postausgang_dir) == []


@pytest.mark.libreoffice
def test_a_stored_letter_that_cannot_be_read_is_named_and_the_others_converted(
        tmp_path: Path, object_store: StorageSettings) -> None:
    settings = make_settings(tmp_path, storage=object_store,
                             letters=LetterSettings(pdf=True, timeout_seconds=240))
    store = open_store(settings.output_root, object_store.options)
    data = sample_letter_data(LetterKind.EINGANGSBESTAETIGUNG)
    present = store.put(store.location("Fall 1/Eingangsbestätigung.docx"),
                        letter_bytes(data, settings.office, settings.templates_dir))
    missing = store.location("Fall 2/Eingangsbestätigung.docx")

    made, failure = conversion.convert_stored([present, missing], settings)

    assert made == {present: "dir://ausgang/Fall 1/Eingangsbestätigung.pdf"}
    assert store.read_bytes(made[present]).startswith(b"%PDF")
    assert failure is not None and f"„{missing}“: nicht lesbar" in str(failure)
    assert files_in(settings.data_dir / "libreoffice" / "arbeit") == []
