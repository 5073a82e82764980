"""A pass over the inbox on real PDFs, the real register and real letters."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import docx
import pytest
from sqlalchemy import select

from ews.core.errors import LettersNotWritten
from ews.intake import passes as intake
from ews.intake import pipeline
from ews.intake.sharing import CHUNK
from ews.intake.stages import Batches
from ews.letters.samples import sample_applications
from ews.outbox import letters as outbox_letters
from ews.register.case_file import case_file
from ews.register.database import transaction
from ews.register.reports import application_records, journal_records, record_stamp
from ews.register.schema import EventRow
from ews.runtime import folders
from ews.runtime.folders import WORK_FOLDER
from ews.runtime.settings import RoundSettings, Settings
from tests.conftest import REPO, make_settings
from tests.support import pdfgen

T = TypeVar("T")


def drop(settings: Settings, name: str, data: bytes) -> Path:
    path = settings.inbox_dir / name
    path.write_bytes(data)
    return path


def letter_text(path: str) -> str:
    document = docx.Document(path)
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def by_source(settings: Settings) -> dict[str, dict]:
    return {r["source"]: r for r in journal_records(settings)}


def test_valid_form_is_registered_archived_and_confirmed(settings: Settings) -> None:
    data = pdfgen.filled_form()
    drop(settings, "Bewerbung EWS6 Lüdenscheid.pdf", data)
    [result] = intake.run_pass(settings)
    assert result.outcome == "registered"
    assert result.az == f"13.0.70-001/{datetime.now(UTC).year}"
    archived = Path(result.stored_path or "")
    assert hashlib.sha256(archived.read_bytes()).digest() == hashlib.sha256(data).digest()
    assert not list(settings.inbox_dir.glob("*.pdf"))
    [letter] = result.letters
    text = letter_text(letter)
    assert result.az in text
    assert "Stadt Lüdenscheid" in text
    record = by_source(settings)["Bewerbung EWS6 Lüdenscheid.pdf"]
    assert record["reasons"] == [] and record["az"] == result.az
    assert datetime.fromisoformat(record["received_at"]).utcoffset() is not None


def test_identical_file_is_a_duplicate_without_new_az(settings: Settings) -> None:
    data = pdfgen.filled_form()
    drop(settings, "a.pdf", data)
    intake.run_pass(settings)
    drop(settings, "a (Kopie).pdf", data)
    [second] = intake.run_pass(settings)
    assert second.outcome == "duplicate" and second.az is None and second.letters == []
    assert len(application_records(settings)) == 1
    assert Path(second.stored_path or "").read_bytes() == data


def test_second_application_of_a_municipality_replaces_the_first(settings: Settings) -> None:
    drop(settings, "erste.pdf", pdfgen.filled_form())
    intake.run_pass(settings)
    changed = dict(pdfgen.VALUES, motivation="Zweite, überarbeitete Fassung.")
    drop(settings, "zweite.pdf", pdfgen.filled_form(changed))
    intake.run_pass(settings)
    apps = application_records(settings)
    assert [a["status"] for a in apps] == ["replaced", "registered"]
    assert apps[0]["replaced_by"] == apps[1]["az"]
    assert apps[1]["fields"]["motivation"] == "Zweite, überarbeitete Fassung."
    assert "ersetzt" in letter_text(apps[1]["letters"][0])


def test_incomplete_form_is_quarantined_with_reason_and_deficiency_letter(
    settings: Settings,
) -> None:
    values = dict(pdfgen.VALUES, team1_email="keine-adresse", datenschutz=False)
    data = pdfgen.filled_form(values)
    drop(settings, "unvollständig.pdf", data)
    [result] = intake.run_pass(settings)
    assert result.outcome == "invalid" and result.az is None
    quarantined = Path(result.stored_path or "")
    assert quarantined.parent == settings.quarantine_dir and quarantined.read_bytes() == data
    reason = quarantined.with_name(quarantined.name + ".Grund.txt").read_text("utf-8")
    assert "„Einwilligung Datenschutz“ muss angekreuzt sein" in reason
    text = letter_text(result.letters[0])
    assert "keine-adresse" in text and "Einwilligung Datenschutz" in text


def test_non_pdf_named_pdf_is_quarantined_without_letter(settings: Settings) -> None:
    drop(settings, "Bewerbung.pdf", pdfgen.docx_bytes())
    [result] = intake.run_pass(settings)
    assert result.outcome == "invalid" and result.letters == []
    assert "kein PDF" in result.reasons[0]


def test_application_after_the_deadline_is_registered_as_late(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, round=RoundSettings(name="EWS 6", deadline=date(2026, 3, 2)))
    drop(settings, "spät.pdf", pdfgen.filled_form())
    [result] = intake.run_pass(settings)
    assert result.outcome == "late" and result.az is not None
    assert application_records(settings)[0]["status"] == "late"
    assert "Verspätungsschreiben" in Path(result.letters[0]).name
    assert "02.03.2026" in result.reasons[0]


def test_file_still_being_written_is_left_for_the_next_pass(settings: Settings) -> None:
    growing = drop(settings, "scan.pdf", pdfgen.filled_form()[:2000])

    def keep_writing(_seconds: float) -> None:
        with growing.open("ab") as handle:
            handle.write(b"%")

    from ews.runtime import folders

    assert folders.stable_files(settings.inbox_dir, 0.05, sleep=keep_writing) == []
    assert growing.exists()


def test_hidden_and_temporary_files_are_not_taken(settings: Settings) -> None:
    for name in ("~$Bewerbung.docx", ".DS_Store", "upload.pdf.part", "Thumbs.db"):
        drop(settings, name, b"%PDF-1.4 partial")
    assert intake.run_pass(settings) == []
    assert len(list(settings.inbox_dir.iterdir())) == 4


def test_stamp_recorded_by_staff_makes_a_late_application_on_time(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, round=RoundSettings(name="EWS 6", deadline=date(2026, 3, 2)))
    drop(settings, "papier.pdf", pdfgen.filled_form())
    [late] = intake.run_pass(settings)
    stamp = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
    result = pipeline.restamp(late.input_id, stamp, settings, datetime.now(UTC), actor="test")
    assert result.outcome == "registered" and result.az == late.az
    kinds = sorted(Path(p).stem.split(" ", 1)[1] for p in result.letters)
    assert kinds == ["Eingangsbestätigung", "Verspätungsschreiben"]
    assert journal_records(settings)[0]["received_at"].startswith("2026-03-02T11:30:00")


class Crash(Exception):
    pass


def test_crash_while_writing_letters_then_rerun_gives_one_az_and_one_letter(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop(settings, "a.pdf", pdfgen.filled_form())
    intake.prepare(settings)
    [input_id] = intake.claim_new_inputs(settings)

    def crash(*_args: object, **_kwargs: object) -> None:
        raise Crash

    monkeypatch.setattr(outbox_letters, "letter_bytes", crash)
    with pytest.raises(Crash):
        pipeline.process_input(input_id, settings, datetime.now(UTC))
    monkeypatch.undo()
    intake.run_pass(settings)
    intake.run_pass(settings)
    [app] = application_records(settings)
    assert app["az"].startswith("13.0.70-001/")
    assert len(app["letters"]) == 1
    assert [r["outcome"] for r in journal_records(settings)] == ["registered"]
    assert len(list(settings.outbox_dir.rglob("*.docx"))) == 1


def test_file_claimed_before_a_crash_is_adopted_by_the_next_pass(settings: Settings) -> None:
    work = settings.inbox_dir / WORK_FOLDER
    work.mkdir()
    (work / "0123456789ab__verwaist.pdf").write_bytes(pdfgen.filled_form())
    [result] = intake.run_pass(settings)
    assert result.source_name == "verwaist.pdf" and result.outcome == "registered"
    assert list(work.iterdir()) == []


def test_journal_lists_every_file_as_json_lines(settings: Settings) -> None:
    drop(settings, "ok.pdf", pdfgen.filled_form())
    drop(settings, "leer.pdf", b"")
    intake.run_pass(settings)
    records = journal_records(settings)
    assert {r["outcome"] for r in records} == {"registered", "invalid"}
    for record in records:
        json.dumps(record)
        assert set(record) >= {
            "source",
            "sha256",
            "received_at",
            "outcome",
            "az",
            "kommune_name",
            "reasons",
        }


def test_receipt_time_is_when_the_file_was_first_seen(settings: Settings) -> None:
    drop(settings, "a.pdf", pdfgen.filled_form())
    seen = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    intake.prepare(settings)
    ticks = iter([seen] + [seen + timedelta(hours=3)] * 10)
    intake.claim_new_inputs(settings, now=lambda: next(ticks))
    intake.run_pass(settings)
    assert journal_records(settings)[0]["received_at"] == "2026-11-20T09:00:00+01:00"


def test_two_files_of_one_municipality_dropped_together_the_later_saved_counts(
        settings: Settings) -> None:
    first = drop(settings, "Bewerbung.pdf", pdfgen.filled_form())
    changed = dict(pdfgen.VALUES, motivation="Korrigierte Fassung.")
    second = drop(settings, "Bewerbung korrigiert.pdf", pdfgen.filled_form(changed))
    os.utime(first, ns=(1_700_000_000_000_000_000,) * 2)
    os.utime(second, ns=(1_700_000_060_000_000_000,) * 2)
    intake.run_pass(settings)
    current = [a for a in application_records(settings) if a["status"] == "registered"]
    assert [a["fields"]["motivation"] for a in current] == ["Korrigierte Fassung."]


def test_a_claimed_file_removed_by_hand_fails_the_pass_but_not_the_others(
    settings: Settings,
) -> None:
    drop(settings, "a.pdf", pdfgen.filled_form())
    drop(settings, "b.pdf", pdfgen.filled_form(dict(pdfgen.VALUES, ags="05974032",
                                                    kommune_name="Gemeinde Möhnesee",
                                                    kommune_typ="Gemeinde", plz="59519",
                                                    ort="Möhnesee")))
    intake.prepare(settings)
    ids = intake.claim_new_inputs(settings)
    claimed = sorted((settings.inbox_dir / WORK_FOLDER).iterdir())
    claimed[0].unlink()

    with pytest.raises(OSError):
        intake.process_inputs(ids, settings)

    assert sorted(r["outcome"] or "offen" for r in journal_records(settings)) == [
        "offen", "registered"]


def test_a_broken_template_holds_back_only_its_letters_until_it_is_mended(
    tmp_path: Path,
) -> None:
    templates = tmp_path / "vorlagen"
    shutil.copytree(REPO / "templates", templates)
    settings = make_settings(tmp_path, templates_dir=templates)
    good = (templates / "maengelschreiben.docx").read_bytes()
    (templates / "maengelschreiben.docx").write_bytes(b"kein Word-Dokument")
    drop(settings, "gut.pdf", pdfgen.filled_form())
    drop(settings, "unvollständig.pdf", pdfgen.filled_form(dict(
        pdfgen.VALUES, ags="05974032", kommune_name="Gemeinde Möhnesee",
        kommune_typ="Gemeinde", plz="59519", ort="Möhnesee", datenschutz=False)))

    with pytest.raises(LettersNotWritten, match="„maengelschreiben.docx“ ist keine lesbare"):
        intake.run_pass(settings)

    states = {r["source"]: r["outcome"] for r in journal_records(settings)}
    assert states == {"gut.pdf": "registered", "unvollständig.pdf": "invalid"}
    waiting = list((settings.inbox_dir / WORK_FOLDER).iterdir())
    assert [folders.original_name(path) for path in waiting] == ["unvollständig.pdf"]
    assert [p.name for p in settings.quarantine_dir.iterdir()] == []

    (templates / "maengelschreiben.docx").write_bytes(good)
    [result] = intake.run_pass(settings)
    assert result.source_name == "unvollständig.pdf" and result.outcome == "invalid"
    assert "Einwilligung Datenschutz" in letter_text(result.letters[0])
    assert list((settings.inbox_dir / WORK_FOLDER).iterdir()) == []


def test_copies_and_new_versions_decided_together_in_one_pass(settings: Settings) -> None:
    first = pdfgen.filled_form()
    drop(settings, "erste.pdf", first)
    intake.run_pass(settings)
    second = pdfgen.filled_form(dict(pdfgen.VALUES, motivation="Zweite Fassung."))
    third = pdfgen.filled_form(dict(pdfgen.VALUES, motivation="Dritte Fassung."))
    for index, (name, data) in enumerate([
            ("erste (Kopie).pdf", first), ("zweite.pdf", second),
            ("zweite (Kopie).pdf", second), ("dritte.pdf", third)]):
        path = drop(settings, name, data)
        os.utime(path, ns=(1_700_000_000_000_000_000 + index * 10**9,) * 2)

    results = intake.run_pass(settings)

    assert [(r.source_name, r.outcome) for r in results] == [
        ("erste (Kopie).pdf", "duplicate"), ("zweite.pdf", "registered"),
        ("zweite (Kopie).pdf", "duplicate"), ("dritte.pdf", "registered")]
    apps = application_records(settings)
    assert [(a["status"], a["fields"]["motivation"]) for a in apps] == [
        ("replaced", pdfgen.VALUES["motivation"]), ("replaced", "Zweite Fassung."),
        ("registered", "Dritte Fassung.")]
    assert [a["replaced_by"] for a in apps] == [apps[1]["az"], apps[2]["az"], None]
    assert "Eingang „erste.pdf“" in results[0].reasons[0]
    assert "Eingang „zweite.pdf“" in results[2].reasons[0]


def test_a_250_byte_name_is_registered_and_quarantined_with_names_within_255_bytes(
        settings: Settings) -> None:
    long_name = "Bewerbung " + "Lüdenscheid " * 18 + "ä" + ".pdf"  # 250 bytes
    assert len(long_name.encode("utf-8")) == 250
    data = pdfgen.filled_form()
    drop(settings, long_name, data)
    broken = "Unvollständig " + "ü" * 116 + ".pdf"
    drop(settings, broken, pdfgen.filled_form(dict(pdfgen.VALUES, datenschutz=False,
                                                   kommune_name="Gemeinde Möhnesee",
                                                   ags="05974032")))

    results = {r.source_name: r for r in intake.run_pass(settings)}

    assert results[long_name].outcome == "registered" and results[long_name].az
    archived = Path(results[long_name].stored_path or "")
    assert archived.read_bytes() == data
    assert len(archived.name.encode("utf-8")) <= 255 and archived.name.endswith(".pdf")
    quarantined = Path(results[broken].stored_path or "")
    assert results[broken].outcome == "invalid" and quarantined.exists()
    reason = folders.reason_file(quarantined)
    assert len(reason.name.encode("utf-8")) <= 255
    assert "Einwilligung Datenschutz" in reason.read_text(encoding="utf-8")
    assert set(by_source(settings)) == {long_name, broken}


def test_a_symlink_or_fifo_in_the_inbox_is_never_read_and_set_aside_with_a_reason(
        settings: Settings, tmp_path: Path) -> None:
    outside = tmp_path / "fremd.pdf"  # readable by the service, not meant for it
    outside.write_bytes(pdfgen.filled_form())
    (settings.inbox_dir / "Bewerbung Link.pdf").symlink_to(outside)
    os.mkfifo(settings.inbox_dir / "Bewerbung Pipe.pdf")
    behind = pdfgen.filled_form(dict(pdfgen.VALUES, kommune_name="Gemeinde Möhnesee",
                                     kommune_typ="Gemeinde", ags="05974032", plz="59519",
                                     ort="Möhnesee"))
    drop(settings, "Bewerbung Möhnesee.pdf", behind)

    [result] = intake.run_pass(settings)

    assert result.source_name == "Bewerbung Möhnesee.pdf" and result.outcome == "registered"
    assert list(by_source(settings)) == ["Bewerbung Möhnesee.pdf"]
    assert outside.read_bytes() == pdfgen.filled_form()  # untouched, never archived
    assert [p.name for p in settings.inbox_dir.iterdir() if not p.name.startswith(".")] == []
    refused = settings.inbox_dir / folders.REFUSED_FOLDER
    moved = sorted((p for p in refused.iterdir() if not p.name.endswith(".Grund.txt")),
                   key=folders.original_name)
    assert [p.name.split("__", 1)[1] for p in moved] == ["Bewerbung Link.pdf",
                                                          "Bewerbung Pipe.pdf"]
    assert moved[0].is_symlink() and moved[1].is_fifo()
    assert "symbolische Verknüpfung" in folders.reason_file(moved[0]).read_text("utf-8")
    assert intake.run_pass(settings) == []  # nothing left over, nothing taken twice


def test_a_file_name_in_latin_1_is_registered_under_its_readable_name(
        settings: Settings) -> None:
    data = pdfgen.filled_form()
    with open(os.fsencode(settings.inbox_dir) + b"/Bewerbung L\xfcdenscheid.pdf", "wb") as out:
        out.write(data)  # as an old SMB client or a ZIP tool may leave it

    [result] = intake.run_pass(settings)

    assert result.outcome == "registered"
    assert result.source_name == "Bewerbung Lüdenscheid.pdf"
    assert Path(result.stored_path or "").name.endswith("__Bewerbung Lüdenscheid.pdf")
    assert list(by_source(settings)) == ["Bewerbung Lüdenscheid.pdf"]


def test_a_single_files_pass_runs_three_beats_and_each_step_once(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    drop(settings, "bewerbung.pdf", pdfgen.filled_form())
    intake.prepare(settings)
    ids = intake.claim_new_inputs(settings)
    beats: list[list[str]] = []

    def recorded(name: str) -> Callable[..., Any]:
        step = getattr(Batches, name)

        def recording_step(self: Batches, *args: Any) -> Any:
            beats[-1].append(name)
            return step(self, *args)
        return recording_step

    for name in ("read_next", "decide", "render", "file"):
        monkeypatch.setattr(Batches, name, recorded(name))

    def recording(beat: Callable[..., T], /, *args: Any) -> T:
        beats.append([])
        return beat(*args)

    [result] = intake.process_inputs(ids, settings, run=recording)

    assert result.outcome.value == "registered"
    # three task runs in the flow: read; decide and render; file. No step without work
    assert beats == [["read_next"], ["decide", "render"], ["file"]]


def test_a_pass_of_many_chunks_runs_one_beat_more_than_chunks(settings: Settings) -> None:
    """Chunk k+1 is read while chunk k is decided and rendered and chunk k-1 filed."""
    files = sample_applications(CHUNK * 2 + 1, seed=5)
    for name, data in files:
        drop(settings, name, data)
    intake.prepare(settings)
    ids = intake.claim_new_inputs(settings)
    beats = 0

    def counting(beat: Callable[..., T], /, *args: Any) -> T:
        nonlocal beats
        beats += 1
        return beat(*args)

    results = intake.process_inputs(ids, settings, run=counting)
    assert len(results) == len(files) == len({r.input_id for r in results})
    assert beats == 3 + 2  # three chunks: read, then one beat each, then the last filing


def test_a_stamp_on_a_file_in_the_inbox_is_filed_under_its_input(settings: Settings) -> None:
    """Stamped while it lay in the inbox, the file had no number: its stamp event named the
    path, which may hold a person's name. Once claimed, the event names the input, so the
    case finds it (and the deletion run clears it with the case)."""
    path = drop(settings, "Bewerbung Erika Mustermann.pdf", pdfgen.filled_form())
    other = drop(settings, "nicht-gestempelt.pdf", pdfgen.filled_form(
        dict(pdfgen.VALUES, kommune_name="Stadt Hagen", ags="05914000", plz="58095",
             ort="Hagen", regierungsbezirk="Arnsberg")))
    now = datetime.now(UTC)
    intake.prepare(settings)
    record_stamp(settings, path, now - timedelta(hours=3), actor="Poststelle", now=now)
    results = {r.source_name: r for r in intake.run_pass(settings)}
    stamped = results[path.name]
    assert stamped.outcome.value == "registered" and results[other.name].az

    with transaction(settings.db_url) as session:
        [event] = session.scalars(select(EventRow).where(EventRow.action == "eingangsstempel"))
        assert event.subject == f"Eingang {stamped.input_id}"
        assert event.detail["datei"] == str(path.resolve())
        assert not session.scalars(select(EventRow).where(
            EventRow.subject.contains("Mustermann"))).all()
        case = case_file(session, stamped.az or "")
    assert case is not None
    assert ("ereignis", "Eingangsstempel erfasst") in {(e.kind, e.title) for e in case.entries}


def test_a_stamp_on_a_file_in_a_case_folder_is_filed_under_the_case(settings: Settings
                                                                     ) -> None:
    """A file in the inbox folder named after an Az. goes to that case: its stamp is logged
    under the Az., not under a path that may hold a name."""
    drop(settings, "bewerbung.pdf", pdfgen.filled_form())
    [first] = intake.run_pass(settings)
    assert first.az is not None
    folder = settings.inbox_dir / first.az.replace("/", "-")
    folder.mkdir()
    reply = folder / "Antwort Erika Mustermann.pdf"
    reply.write_bytes(pdfgen.filled_form())
    unknown = settings.inbox_dir / "13.0.70-999-2026"
    unknown.mkdir()
    stray = unknown / "Brief.pdf"
    stray.write_bytes(b"%PDF-1.4 kein Fall")
    now = datetime.now(UTC)
    for path in (reply, stray):
        record_stamp(settings, path, now - timedelta(hours=1), actor="Poststelle", now=now)

    with transaction(settings.db_url) as session:
        events = {event.detail.get("datei", event.subject): event for event in session.scalars(
            select(EventRow).where(EventRow.action == "eingangsstempel"))}
    assert events[str(reply.resolve())].subject == first.az
    # no such case: under its path, as for a file that is not claimed yet
    assert events[str(stray.resolve())].subject == str(stray.resolve())
