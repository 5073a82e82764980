"""One input, one outcome, whatever happens: values the register refuses, a reader that fails
in a way nobody listed, a file or a mail that keeps failing. Each ends that input with a German
reason (quarantined where its bytes still exist) while the others of the pass go on; nothing is
retried forever, and a further pass changes nothing. On SQLite and on PostgreSQL."""

from __future__ import annotations

import errno
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from ews.core.errors import MailboxError
from ews.intake import mail_preparation, reading, stages
from ews.intake import passes as intake
from ews.intake.failures import failure_reason, is_infrastructure
from ews.mail.imap import FetchedMail, Mailbox
from ews.register.database import session_factory
from ews.register.reports import application_records, journal_records
from ews.register.schema import MailRow
from ews.runtime.folders import REASON_SUFFIX, WORK_FOLDER
from ews.runtime.settings import ImapSettings, IntakeSettings, Settings, SmtpSettings
from tests.conftest import make_settings
from tests.support import pdfgen
from tests.support.mailserver import MailServers

OFFICE = "bewerbung@ews.test"
SENDER = "buergermeister@luedenscheid.de"
DONE = "Bewerbungen/Verarbeitet"
RECEIVED = datetime(2027, 2, 20, 9, 0, tzinfo=UTC)
#: a second, valid application of another municipality
MOEHNESEE = dict(pdfgen.VALUES, ags="05974032", kommune_name="Gemeinde Möhnesee",
                 kommune_typ="Gemeinde", plz="59519", ort="Möhnesee")
MARL = dict(pdfgen.VALUES, ags="05562024", kommune_name="Stadt Marl", kommune_typ="Stadt",
            plz="45768", ort="Marl")


def settings_for(root: Path, database_url: str | None, **changes: object) -> Settings:
    if database_url is not None:
        changes["database_url"] = database_url
    return make_settings(root, **changes)


def drop(settings: Settings, name: str, data: bytes) -> Path:
    path = settings.inbox_dir / name
    path.write_bytes(data)
    return path


def by_source(settings: Settings) -> dict[str, dict]:
    return {record["source"]: record for record in journal_records(settings)}


def assert_quarantined(record: dict, data: bytes) -> str:
    """The input's bytes in the quarantine and the reason file beside them; its text."""
    stored = Path(record["stored_path"])
    assert stored.read_bytes() == data
    return stored.with_name(stored.name + REASON_SUFFIX).read_text(encoding="utf-8")


def test_a_kommune_name_of_5000_characters_is_stored_whole_and_nothing_waits(
        tmp_path: Path, database_url: str | None) -> None:
    settings = settings_for(tmp_path, database_url)
    name = "Stadt Lüdenscheid " + "ä" * (5000 - len("Stadt Lüdenscheid "))
    drop(settings, "lang.pdf", pdfgen.filled_form(dict(pdfgen.VALUES, kommune_name=name)))
    drop(settings, "moehnesee.pdf", pdfgen.filled_form(MOEHNESEE))

    results = {r.source_name: r for r in intake.run_pass(settings)}

    assert {source: r.outcome for source, r in results.items()} == {
        "lang.pdf": "registered", "moehnesee.pdf": "registered"}
    journal = by_source(settings)
    assert journal["lang.pdf"]["kommune_name"] == name  # whole, not cut
    assert {a["kommune_name"] for a in application_records(settings)} == {
        name, "Gemeinde Möhnesee"}
    assert all(record["state"] == "done" for record in journal.values())
    assert list((settings.inbox_dir / WORK_FOLDER).iterdir()) == []

    assert intake.run_pass(settings) == []
    assert by_source(settings) == journal


def test_a_nul_in_a_value_is_read_away_and_the_application_registered_on_every_backend(
        tmp_path: Path, database_url: str | None) -> None:
    # PostgreSQL refuses a NUL character in text, SQLite stores it: the form reader takes
    # control characters out (ews.core.plain_text), so both registers hold the same
    settings = settings_for(tmp_path, database_url)
    drop(settings, "a-moehnesee.pdf", pdfgen.filled_form(MOEHNESEE))
    drop(settings, "b-nul.pdf", pdfgen.filled_form(
        dict(pdfgen.VALUES, kommune_name="Stadt L\x00üdenscheid")))
    drop(settings, "c-marl.pdf", pdfgen.filled_form(MARL))

    results = {r.source_name: r for r in intake.run_pass(settings)}

    assert {name: r.outcome for name, r in results.items()} == {
        "a-moehnesee.pdf": "registered", "b-nul.pdf": "registered", "c-marl.pdf": "registered"}
    assert results["b-nul.pdf"].kommune_name == "Stadt Lüdenscheid"
    journal = by_source(settings)
    assert intake.run_pass(settings) == []
    assert by_source(settings) == journal


def test_a_file_whose_claim_name_the_file_system_refuses_is_taken_all_the_same(
        tmp_path: Path, database_url: str | None) -> None:
    # 244 bytes: a name the inbox holds, but not with the claim's prefix in front of it
    settings = settings_for(tmp_path, database_url)
    name = "ü" * 120 + ".pdf"
    data = pdfgen.filled_form()
    drop(settings, name, data)
    drop(settings, "moehnesee.pdf", pdfgen.filled_form(MOEHNESEE))

    results = {r.source_name: r for r in intake.run_pass(settings)}

    assert {source: r.outcome for source, r in results.items()} == {
        name: "registered", "moehnesee.pdf": "registered"}
    assert Path(results[name].stored_path or "").read_bytes() == data
    assert list(settings.inbox_dir.glob("*.pdf")) == []
    journal = by_source(settings)
    assert intake.run_pass(settings) == []
    assert by_source(settings) == journal


@pytest.mark.parametrize(("error", "infrastructure"), [
    (OperationalError("SELECT 1", {}, Exception("server closed the connection")), True),
    (DataError("INSERT", {}, Exception("value too long")), False),
    (IntegrityError("INSERT", {}, Exception("duplicate key")), False),
    (OSError(errno.ENOSPC, "No space left on device"), True),
    (OSError(errno.ENAMETOOLONG, "File name too long"), False),
    (FileNotFoundError(errno.ENOENT, "No such file"), False),
    (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), True),
    (MailboxError("Postfach nicht erreichbar"), True),
    (ZeroDivisionError("division by zero"), False),
    (BrokenProcessPool("All workers expired"), True),
])
def test_only_failures_of_the_service_itself_stop_a_pass(error: Exception,
                                                         infrastructure: bool) -> None:
    assert is_infrastructure(error) is infrastructure


def test_a_refused_value_is_named_in_the_reason_but_not_repeated_whole() -> None:
    refused = DataError("INSERT … " + "x" * 5000, {}, Exception("value too long\n" + "x" * 5000))
    assert failure_reason(refused) == ("Die Angaben der Datei konnten nicht im Register "
                                       "gespeichert werden (value too long).")
    long_text = failure_reason(ValueError("y" * 5000))
    assert len(long_text) < 500 and long_text.endswith(" …).")


def test_a_reader_error_nobody_listed_becomes_the_inputs_german_reason(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # unit level: the worker job itself, in this process, with a reader that fails oddly
    settings = make_settings(tmp_path)
    path = drop(settings, "seltsam.pdf", pdfgen.filled_form())

    class Unforeseen(Exception):
        pass

    def failing_reader(data: bytes, settings: Settings) -> None:
        raise Unforeseen("kaputt")

    monkeypatch.setattr(reading, "assess_document", failing_reader)

    assessment = stages._assess_file(str(path), settings)

    assert not assessment.is_valid
    assert assessment.reasons == ["Die Datei konnte wegen eines unerwarteten Fehlers nicht "
                                  "verarbeitet werden (Unforeseen: kaputt)."]


def test_a_mail_preparation_error_nobody_listed_becomes_a_counted_failure(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # unit level: the mail's worker job itself, in this process
    settings = make_settings(tmp_path)

    def failing_preparation(*_args: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(mail_preparation, "prepare_mail", failing_preparation)

    result = mail_preparation._prepared(settings, 1, FetchedMail(1, RECEIVED, b"x"))

    assert isinstance(result, mail_preparation._PrepareFailed)
    assert result.reason == ("Die E-Mail konnte wegen eines unerwarteten Fehlers nicht "
                             "verarbeitet werden (ZeroDivisionError: division by zero).")


def test_a_file_over_the_size_limit_is_refused_without_being_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tmp_path, intake=IntakeSettings(max_file_mb=1))
    huge = settings.inbox_dir / "riesig.pdf"
    with huge.open("wb") as handle:  # sparse: 8 GB that no test machine could read at once
        handle.truncate(8 * 1024**3)
    monkeypatch.setattr(reading, "assess_document", lambda *_: pytest.fail("read it"))

    assessment = stages._assess_file(str(huge), settings)

    assert assessment.reasons == ["Die Datei ist größer als 1 MB und wird nicht verarbeitet."]


def test_an_input_that_keeps_failing_is_ended_after_max_attempts(
        tmp_path: Path, database_url: str | None) -> None:
    settings = settings_for(tmp_path, database_url,
                            intake=IntakeSettings(stable_seconds=0.05, workers=2, ocr=True,
                                                  max_attempts=3))
    drop(settings, "a.pdf", pdfgen.filled_form())
    drop(settings, "b.pdf", pdfgen.filled_form(MOEHNESEE))
    intake.prepare(settings)
    intake.claim_new_inputs(settings)
    [claimed_a] = [path for path in (settings.inbox_dir / WORK_FOLDER).iterdir()
                   if path.name.endswith("__a.pdf")]
    claimed_a.unlink()  # its claimed file is gone: every reading fails the same way

    outcomes = []
    for _attempt in range(3):
        try:
            intake.process_inputs(intake.open_input_ids(settings), settings)
        except OSError:
            pass  # the pass tells of the file that could not be read, and goes on
        outcomes.append({source: r["outcome"] for source, r in by_source(settings).items()})

    assert outcomes == [{"a.pdf": None, "b.pdf": "registered"}] * 2 + [
        {"a.pdf": "invalid", "b.pdf": "registered"}]
    record = by_source(settings)["a.pdf"]
    assert record["state"] == "done" and record["stored_path"] is None
    assert record["reasons"][0].startswith("Die Verarbeitung ist 3-mal gescheitert")
    assert "Arbeitsordner" in record["reasons"][-1]

    assert intake.process_inputs(intake.open_input_ids(settings), settings) == []
    assert by_source(settings)["a.pdf"] == record


def test_letters_that_cannot_be_written_are_given_up_after_max_attempts(
        tmp_path: Path, database_url: str | None) -> None:
    # an unknown municipality with a long name of umlauts: the Mängelschreiben's case folder
    # is named after it, longer in bytes than a file system allows
    settings = settings_for(tmp_path, database_url,
                            intake=IntakeSettings(stable_seconds=0.05, workers=2, ocr=True,
                                                  max_attempts=3))
    data = pdfgen.filled_form(dict(pdfgen.VALUES, ags="", kommune_name="Gemeinde " + "ü" * 200))
    drop(settings, "lang.pdf", data)
    drop(settings, "moehnesee.pdf", pdfgen.filled_form(MOEHNESEE))

    passes = []
    for _attempt in range(3):  # at most max_attempts passes
        passes.append({r.source_name: r for r in intake.run_pass(settings)})
        if by_source(settings)["lang.pdf"]["state"] == "done":
            break

    assert passes[0]["moehnesee.pdf"].outcome == "registered"
    [ended] = [results["lang.pdf"] for results in passes if "lang.pdf" in results]
    assert ended.outcome == "invalid"
    record = by_source(settings)["lang.pdf"]
    text = assert_quarantined(record, data)
    if not ended.letters or len(passes) > 1:  # the names were refused: given up with a reason
        assert len(passes) == 3
        assert ended.reasons[-1].startswith("Die Briefe zu diesem Eingang konnten nicht "
                                            "geschrieben werden")
        assert ended.reasons[-1] in text

    journal = by_source(settings)
    assert intake.run_pass(settings) == []
    assert by_source(settings) == journal


def test_an_input_that_cannot_be_filed_ends_after_max_attempts_where_it_lies(
        tmp_path: Path, database_url: str | None) -> None:
    settings = settings_for(tmp_path, database_url,
                            intake=IntakeSettings(stable_seconds=0.05, workers=2, ocr=True,
                                                  max_attempts=3))
    # where the reason beside its quarantined copy would go lie folders (a name already taken
    # by a file would only give the copy a number: the store never overwrites)
    for number in (1, 2):
        for name in ("kein-pdf.pdf", "Eingang.pdf"):
            (settings.quarantine_dir / f"{number:06d}__{name}.Grund.txt").mkdir(parents=True)
    drop(settings, "kein-pdf.pdf", b"Hallo, anbei die Bewerbung.")
    drop(settings, "moehnesee.pdf", pdfgen.filled_form(MOEHNESEE))

    passes = [intake.run_pass(settings) for _ in range(3)]

    assert [[(r.source_name, r.outcome) for r in results] for results in passes] == [
        [("moehnesee.pdf", "registered")], [], [("kein-pdf.pdf", "invalid")]]
    record = by_source(settings)["kein-pdf.pdf"]
    assert record["state"] == "done"
    placed = Path(record["stored_path"])  # nothing lost: it lies in the quarantine
    assert placed.parent == settings.quarantine_dir
    assert placed.read_bytes() == b"Hallo, anbei die Bewerbung."
    assert record["reasons"][-1].startswith(f"Die Datei liegt unter {placed}, aber ihre "
                                            "Ablage konnte nicht abgeschlossen werden")

    journal = by_source(settings)
    assert intake.run_pass(settings) == []
    assert by_source(settings) == journal


# -- mails --------------------------------------------------------------------------------


def application_mail(attachment: bytes, subject: str, *, message_id: str | None = None
                     ) -> bytes:
    message = EmailMessage()
    message["From"] = f"Bürgermeister <{SENDER}>"
    message["To"] = OFFICE
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="luedenscheid.de")
    message.set_content("Sehr geehrte Damen und Herren,\nanbei unsere Bewerbung.\n")
    message.add_attachment(attachment, maintype="application", subtype="pdf",
                           filename="Bewerbung.pdf")
    return message.as_bytes(policy=SMTP)


def mail_settings(root: Path, database_url: str | None, mail: MailServers) -> Settings:
    imap = ImapSettings(host="127.0.0.1", port=mail.dovecot.imap_port, user=OFFICE,
                        password="geheim", security="none", timeout_seconds=15,
                        done_folder=DONE)
    smtp = SmtpSettings(host="127.0.0.1", port=mail.smtp.port, security="none",
                        user="ews@ews.test", password="geheim", retry_seconds=0,
                        timeout_seconds=15)
    return settings_for(root, database_url, imap=imap, smtp=smtp, mail_from=OFFICE,
                        intake=IntakeSettings(stable_seconds=0.05, workers=2, ocr=True,
                                              max_attempts=3))


def test_a_mail_that_keeps_failing_is_quarantined_and_moved_after_max_attempts(
        tmp_path: Path, database_url: str | None, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, database_url, mail)
    failing = application_mail(pdfgen.filled_form(), "Bewerbung Lüdenscheid")
    mail.dovecot.append(OFFICE, failing)
    mail.dovecot.append(OFFICE, application_mail(pdfgen.filled_form(MOEHNESEE),
                                                 "Bewerbung Möhnesee"))
    box = Mailbox(settings.imap)
    try:
        first_uid, uidvalidity = min(box.uids_to_look_at()), box.uidvalidity
    finally:
        box.close()
    # where the failing mail's files go is taken by a file: its preparation fails every time
    settings.mail_dir.mkdir(parents=True, exist_ok=True)
    (settings.mail_dir / f"{uidvalidity}-{first_uid}").write_bytes(b"")

    passes = [intake.run_pass(settings) for _ in range(3)]

    assert [[r.outcome for r in results] for results in passes] == [
        ["registered"], [], ["invalid"]]
    [ended] = passes[2]
    assert ended.reasons[0].startswith("Die Verarbeitung ist 3-mal gescheitert")
    record = by_source(settings)[ended.source_name]
    assert ended.reasons[0] in assert_quarantined(record, failing)
    with session_factory(settings.db_url).begin() as session:
        kinds = sorted((row.kind, row.state) for row in session.scalars(select(MailRow)))
    assert kinds == [("application", "done"), ("unreadable", "done")]
    assert mail.dovecot.messages(OFFICE) == []  # both moved, after their outcomes were stored
    assert len(mail.dovecot.messages(OFFICE, DONE)) == 2

    journal = by_source(settings)
    assert intake.run_pass(settings) == []
    assert by_source(settings) == journal


def test_a_mail_the_register_refuses_is_quarantined_at_once_and_the_others_go_on(
        tmp_path: Path, database_url: str | None, mail: MailServers) -> None:
    # PostgreSQL refuses a Message-ID longer than its indexed column; SQLite stores it
    settings = mail_settings(tmp_path, database_url, mail)
    refused = application_mail(pdfgen.filled_form(), "Bewerbung Lüdenscheid",
                               message_id=f"<{'x' * 1500}@luedenscheid.de>")
    mail.dovecot.append(OFFICE, refused)
    mail.dovecot.append(OFFICE, application_mail(pdfgen.filled_form(MOEHNESEE),
                                                 "Bewerbung Möhnesee"))

    results = intake.run_pass(settings)

    with session_factory(settings.db_url).begin() as session:
        kinds = sorted(row.kind for row in session.scalars(select(MailRow)))
    if database_url is None:
        assert [r.outcome for r in results] == ["registered", "registered"]
        assert kinds == ["application", "application"]
    else:
        [ended, registered] = sorted(results, key=lambda r: r.outcome)
        assert (ended.outcome, registered.outcome) == ("invalid", "registered")
        assert ended.reasons[0].startswith("Die Angaben der E-Mail konnten nicht im Register")
        assert ended.reasons[0] in assert_quarantined(by_source(settings)[ended.source_name],
                                                      refused)
        assert kinds == ["application", "unreadable"]
    assert mail.dovecot.messages(OFFICE) == []
    assert len(mail.dovecot.messages(OFFICE, DONE)) == 2

    journal = by_source(settings)
    assert intake.run_pass(settings) == []
    assert by_source(settings) == journal
