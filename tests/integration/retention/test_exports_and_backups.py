"""Exports the service wrote go after ``[exporte] tage``, backups after the longest period,
circular send ledgers after ``[rundschreiben] tage``, each with a line in the deletion log
that names no file."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from ews.circulars.drafts import read_draft
from ews.circulars.issuing import issue_circular
from ews.intake import passes as intake
from ews.register.database import transaction
from ews.register.schema import CircularSend
from ews.retention.backups import prune_backups
from ews.retention.deletion import run_deletion
from ews.retention.records import note_export, protocol
from flows.deletion import planned_backup_folder
from tests.conftest import make_settings
from tests.integration.circulars.test_circulars import add_members, write_draft

NOW = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)


def test_exports_go_after_their_period(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, retention_file=tmp_path / "aufbewahrung.toml")
    intake.prepare(settings)
    export = tmp_path / "Register Meier.xlsx"
    export.write_bytes(b"PK xlsx")
    note_export(settings, "register", export, actor="frau.meier", now=NOW)

    assert run_deletion(settings, now=NOW + timedelta(days=179), actor="zeitplan").entries == []
    report = run_deletion(settings, now=NOW + timedelta(days=181), actor="zeitplan")

    assert [(e.rule, e.counts) for e in report.entries] == [
        ("exporte", {"exporte": 1, "dateien": 1})]
    assert not export.exists()
    assert "Meier" not in str(protocol(settings))


def test_backups_older_than_the_longest_period_go(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, retention_file=tmp_path / "aufbewahrung.toml")
    intake.prepare(settings)
    folder = tmp_path / "sicherungen"
    folder.mkdir()
    old, young = (folder / "ews-sicherung-2021-11-01T023000.tar",
                  folder / "ews-sicherung-2022-01-03T023000.tar")
    # not ours, though old: a note, a copy in the works, a hand-named archive
    others = [folder / name for name in ("notizen.txt", "ews-sicherung-2021-11-01T023000.tar.part",
                                         "ews-sicherung-alt.tar")]
    for path, years in ((old, 5.1), (young, 4.9), *((other, 9) for other in others)):
        path.write_bytes(b"x")
        moment = (NOW - timedelta(days=365.25 * years)).timestamp()
        os.utime(path, (moment, moment))

    assert prune_backups(folder, settings, now=NOW, actor="zeitplan", dry_run=True) == 1
    assert old.exists()
    assert prune_backups(folder, settings, now=NOW, actor="zeitplan") == 1

    assert not old.exists() and young.exists() and all(other.exists() for other in others)
    assert [(r["regel"], r["umfang"]) for r in protocol(settings)] == [
        ("sicherungen", {"sicherungen": 1})]


def test_circular_send_ledgers_lose_their_addresses_after_their_period(tmp_path: Path
                                                                      ) -> None:
    settings = make_settings(tmp_path, retention_file=tmp_path / "aufbewahrung.toml")
    intake.prepare(settings)
    add_members(settings, 2)
    issue_circular(settings, read_draft(write_draft(settings), settings.round.name),
                   actor="frau.meier", now=NOW)

    assert run_deletion(settings, now=NOW + timedelta(days=364), actor="zeitplan").entries == []
    report = run_deletion(settings, now=NOW + timedelta(days=366), actor="zeitplan")

    assert [(e.rule, e.counts) for e in report.entries] == [
        ("rundschreiben-versand", {"rundschreiben_verteiler": 2})]
    with transaction(settings.db_url) as session:
        sends = list(session.scalars(select(CircularSend)))
    assert [(s.emails, s.salutation) for s in sends] == [([], ""), ([], "")]


def test_the_deletion_run_finds_the_backups_of_the_backup_plan(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert planned_backup_folder() is None  # no plan, no default folder
    (tmp_path / "config").mkdir()
    plan = tmp_path / "config" / "sicherung.toml"
    plan.write_text('[sicherung]\nziel = "woanders"\n', encoding="utf-8")
    assert planned_backup_folder() is None  # the folder is not there yet
    (tmp_path / "woanders").mkdir()
    assert planned_backup_folder() == Path("woanders")
    plan.write_text('[sicherung]\nbehalten = 0\n', encoding="utf-8")
    assert planned_backup_folder() is None  # a broken plan is reported, nothing deleted
