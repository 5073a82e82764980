"""The whole intake with the large files in a storage outside the data folder: a shared folder
given as ``file://`` URL, and fsspec's in-memory object store. What a user checks: the
register's location points into the storage, the bytes there are the dropped file's bytes, a
quarantined file has its reason beside it, and nothing is left in the work folders."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from email.policy import SMTP
from pathlib import Path

import pytest
from fsspec.implementations.memory import MemoryFileSystem
from sqlalchemy import select

from ews import intake
from ews.database import session_factory
from ews.folders import WORK_FOLDER
from ews.pipeline import InputResult
from ews.reports import journal_records
from ews.schema import MailRow
from ews.settings import Settings, StorageSettings
from ews.storage import open_store
from tests import pdfgen
from tests.conftest import make_settings
from tests.integration.test_mail_intake import OFFICE, application_mail, form, mail_settings
from tests.mailserver import MailServers

INCOMPLETE = dict(pdfgen.VALUES, team1_email="keine-adresse", datenschutz=False)


@pytest.fixture
def memory_url() -> Iterator[str]:
    url = f"memory://ews-ablage-{uuid.uuid4().hex}"
    yield url
    fs = MemoryFileSystem()
    if fs.exists(url):
        fs.rm(url, recursive=True)


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
    quarantined = Path(results["invalid"].stored_path or "")
    assert quarantined.parent == shared / "quarantaene"
    assert quarantined.read_bytes() == incomplete
    reason = quarantined.with_name(quarantined.name + ".Grund.txt").read_text("utf-8")
    assert "„Einwilligung Datenschutz“ muss angekreuzt sein" in reason
    stored = {r["source"]: r["stored_path"] for r in journal_records(settings)}
    assert stored["Bewerbung Lüdenscheid.pdf"] == str(archived)
    assert_nothing_stored_locally(settings)


def test_originals_go_to_an_object_store(tmp_path: Path, memory_url: str) -> None:
    settings = make_settings(tmp_path, storage=StorageSettings(url=memory_url))
    valid, incomplete = drop_valid_and_incomplete(settings)

    results = by_outcome(intake.run_pass(settings))

    archive = open_store(settings.archive_root)
    archived = results["registered"].stored_path or ""
    assert archived.startswith(memory_url.replace("memory://", "memory:///") + "/archiv/")
    assert archive.read_bytes(archived) == valid
    quarantine = open_store(settings.quarantine_root)
    quarantined = results["invalid"].stored_path or ""
    assert "/quarantaene/" in quarantined and quarantine.read_bytes(quarantined) == incomplete
    reason = quarantine.read_bytes(quarantined + ".Grund.txt").decode("utf-8")
    assert reason.startswith("Diese Datei konnte nicht als Bewerbung registriert werden.")
    assert "„Einwilligung Datenschutz“ muss angekreuzt sein" in reason
    assert {r["stored_path"] for r in journal_records(settings)} == {archived, quarantined}
    assert_nothing_stored_locally(settings)


def test_a_duplicate_is_filed_in_the_object_store_under_its_own_key(
        tmp_path: Path, memory_url: str) -> None:
    settings = make_settings(tmp_path, storage=StorageSettings(url=memory_url))
    data = pdfgen.filled_form()
    (settings.inbox_dir / "a.pdf").write_bytes(data)
    [first] = intake.run_pass(settings)
    (settings.inbox_dir / "a (Kopie).pdf").write_bytes(data)
    [second] = intake.run_pass(settings)
    assert second.outcome == "duplicate" and second.stored_path != first.stored_path
    archive = open_store(settings.archive_root)
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
    without_pdf = application_mail(subject="Frage zur Bewerbung").as_bytes(policy=SMTP)
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
    quarantined = Path(results["invalid"].stored_path or "")
    assert quarantined.parent == shared / "quarantaene"
    assert quarantined.read_bytes() == without_pdf
    reason = quarantined.with_name(quarantined.name + ".Grund.txt").read_text("utf-8")
    assert "keine Bewerbung als PDF" in reason
    assert_nothing_stored_locally(settings)


def test_a_single_mail_is_archived_in_the_object_store(
        tmp_path: Path, mail: MailServers, memory_url: str) -> None:
    settings = mail_settings(tmp_path, mail, storage=StorageSettings(url=memory_url))
    pdf = form()
    raw_bytes = application_mail(("Bewerbung.pdf", pdf)).as_bytes(policy=SMTP)
    mail.dovecot.append(OFFICE, raw_bytes)

    [result] = intake.run_pass(settings)  # one mail: prepared in this process

    archive = open_store(settings.archive_root)
    assert result.outcome == "registered"
    assert archive.read_bytes(result.stored_path or "") == pdf
    raw = raw_paths(settings)["Bewerbung EWS 6"]
    assert raw.startswith(memory_url.replace("memory://", "memory:///") + "/archiv/mail/")
    assert archive.read_bytes(raw) == raw_bytes
    assert_nothing_stored_locally(settings)
