"""Backups over a real register (SQLite and PostgreSQL): written while the register is in use,
checked against their manifest, restored into an empty installation and refused over a full
one; secrets stay out unless asked for."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from pydantic import SecretStr
from typer.testing import CliRunner

from ews.intake import passes as intake
from ews.letters.samples import sample_applications
from ews.operations.backup import add_file, backup_name, backups_in, make_backup, prune
from ews.operations.backup_layout import files_of, read_manifest, verify
from ews.operations.restore import RestoreRefused, restore
from ews.register.database import alembic_config, engine_for
from ews.register.reports import application_records, journal_records
from ews.runtime.settings import Settings, StorageSettings
from ews.runtime.storage import archive_store, output_store
from flows.cli import app
from tests.conftest import REPO, cli_env, fresh_database, make_settings

NOW = datetime(2026, 12, 5, 10, 30, 15, tzinfo=UTC)
SECRET = "streng-geheim-4711"


@pytest.fixture
def second_url(database_url: str | None, request: pytest.FixtureRequest
               ) -> Iterator[str | None]:
    """A second, empty register of the same kind (the installation restored into)."""
    if database_url is None:
        yield None
        return
    yield from fresh_database(request, "restored")


def _installation(root: Path, url: str | None) -> tuple[Settings, Path]:
    changes: dict[str, object] = {"templates_dir": root / "templates"}
    if url is not None:
        changes["database_url"] = SecretStr(url)
    settings = make_settings(root, **changes)
    config = root / "config"
    config.mkdir(parents=True, exist_ok=True)
    return settings, config


def _filled(tmp_path: Path, url: str | None, files: int = 3) -> tuple[Settings, Path]:
    settings, config = _installation(tmp_path / "alt", url)
    shutil.copytree(REPO / "templates", settings.templates_dir)
    (settings.templates_dir / "eigene-notiz.txt").write_bytes(b"eigene Vorlage")
    (config / "ews.env").write_text(f"EWS_ROUND__SEATS=17\nEWS_IMAP__PASSWORD={SECRET}\n"
                                    f"EWS_DATABASE_URL=postgresql://ews:{SECRET}@db/ews\n",
                                    encoding="utf-8")
    (config / "versandplan.toml").write_text("# leer\n", encoding="utf-8")
    for name, data in sample_applications(files, seed=5):
        (settings.inbox_dir / name).write_bytes(data)
    intake.prepare(settings)
    intake.run_pass(settings)
    return settings, config


def test_backup_restores_into_an_empty_installation(tmp_path: Path, database_url: str | None,
                                                     second_url: str | None) -> None:
    old, old_config = _filled(tmp_path, database_url)
    result = make_backup(old, tmp_path / "sicherungen", NOW, config_dir=old_config)

    assert result.path.name == "ews-sicherung-2026-12-05T103015.tar"
    assert verify(result.path) == []
    manifest = read_manifest(result.path)
    assert manifest["schema"] and manifest["version"] and manifest["erstellt"]
    assert sum(manifest["az_zaehler"].values()) == len(application_records(old))
    names = {entry["name"] for entry in manifest["dateien"]}
    assert "vorlagen/eigene-notiz.txt" in names and "config/versandplan.toml" in names
    assert any(name.startswith("archiv/") for name in names)
    with tarfile.open(result.path) as tar:
        env = tar.extractfile("config/ews.env")
        assert env is not None
        saved_env = env.read().decode("utf-8")
    assert SECRET not in saved_env and "EWS_IMAP__PASSWORD=\n" in saved_env
    assert any("Geheimnisse nicht gesichert" in note for note in result.notes)
    assert not list((tmp_path / "sicherungen").glob(".*"))  # no temporary file left

    new, new_config = _installation(tmp_path / "neu", second_url)
    (new_config / "ews.env").write_text("EWS_ROUND__SEATS=17\n", encoding="utf-8")
    restored = restore(new, result.path, config_dir=new_config)

    assert restored.revision == manifest["schema"]
    assert application_records(new) == application_records(old)
    assert journal_records(new) == journal_records(old)
    for part in ("archiv", "quarantaene"):
        before = sorted(p.relative_to(old.data_dir / part) for p in
                        (old.data_dir / part).rglob("*") if p.is_file())
        after = sorted(p.relative_to(new.data_dir / part) for p in
                       (new.data_dir / part).rglob("*") if p.is_file())
        assert before == after
    assert (new.templates_dir / "eigene-notiz.txt").read_bytes() == b"eigene Vorlage"
    assert (new_config / "ews.env").read_text("utf-8") == "EWS_ROUND__SEATS=17\n"  # kept
    assert SECRET not in (new_config / "ews.env.aus-sicherung").read_text("utf-8")

    with pytest.raises(RestoreRefused, match="nicht leer"):
        restore(new, result.path, config_dir=new_config)


def test_secrets_only_with_the_option(tmp_path: Path) -> None:
    old, old_config = _filled(tmp_path, None, files=1)
    result = make_backup(old, tmp_path / "s", NOW, with_secrets=True, config_dir=old_config)
    with tarfile.open(result.path) as tar:
        env = tar.extractfile("config/ews.env")
        assert env is not None and SECRET in env.read().decode("utf-8")
    assert result.manifest["mit_geheimnissen"] is True


def test_a_changed_member_is_found_and_the_cli_says_so(tmp_path: Path) -> None:
    old, old_config = _filled(tmp_path, None, files=2)
    result = make_backup(old, tmp_path / "s", NOW, config_dir=old_config)
    runner = CliRunner()
    ok = runner.invoke(app, ["betrieb", "sicherung", "pruefen", str(result.path)],
                       env=cli_env(old))
    assert ok.exit_code == 0, ok.output
    assert "in Ordnung" in ok.output

    damaged = tmp_path / "beschaedigt.tar"
    with tarfile.open(result.path) as source, tarfile.open(damaged, "w:") as target:
        for member in source:
            stream = source.extractfile(member)
            assert stream is not None
            data = stream.read()
            if member.name.startswith("archiv/"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            _add(target, member, data)
    problems = verify(damaged)
    assert problems and all("archiv/" in problem for problem in problems)
    bad = runner.invoke(app, ["betrieb", "sicherung", "pruefen", str(damaged)],
                        env=cli_env(old))
    assert bad.exit_code == 1
    assert "fehlerhaft" in bad.output and "Prüfsumme" in bad.output

    fresh, fresh_config = _installation(tmp_path / "neu", None)
    with pytest.raises(RestoreRefused, match="nicht in Ordnung"):
        restore(fresh, damaged, config_dir=fresh_config)
    assert not (fresh.data_dir / "archiv").exists() or not any(
        (fresh.data_dir / "archiv").rglob("*.pdf"))


def test_restore_refuses_an_installation_with_data(tmp_path: Path) -> None:
    old, old_config = _filled(tmp_path, None, files=1)
    result = make_backup(old, tmp_path / "s", NOW, config_dir=old_config)
    before = json.dumps(application_records(old))
    with pytest.raises(RestoreRefused) as refused:
        restore(old, result.path, config_dir=old_config)
    assert "Register enthält schon Daten" in str(refused.value)
    assert json.dumps(application_records(old)) == before


def test_the_cli_writes_a_backup_and_restores_it(tmp_path: Path) -> None:
    old, _config = _filled(tmp_path, None, files=1)
    runner = CliRunner()
    written = runner.invoke(app, ["betrieb", "sicherung", str(tmp_path / "s")], env=cli_env(old))
    assert written.exit_code == 0, written.output
    assert "Sicherung geschrieben" in written.output
    [archive] = backups_in(tmp_path / "s")
    new, _ = _installation(tmp_path / "neu", None)
    restored = runner.invoke(app, ["betrieb", "wiederherstellen", str(archive)],
                             env=cli_env(new))
    assert restored.exit_code == 0, restored.output
    assert "Wiederhergestellt" in restored.output
    assert application_records(new) == application_records(old)
    again = runner.invoke(app, ["betrieb", "wiederherstellen", str(archive)], env=cli_env(new))
    assert again.exit_code == 1 and "nicht leer" in again.output


def test_prune_keeps_the_newest(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    names = [backup_name(NOW.replace(day=day)) for day in range(1, 6)]
    for name in names:
        (folder / name).write_bytes(b"x")
    (folder / "fremd.tar").write_bytes(b"x")
    deleted = prune(folder, 2)
    assert [path.name for path in deleted] == names[:3]
    assert sorted(path.name for path in folder.iterdir()) == sorted([*names[3:], "fremd.tar"])


def _add(target: tarfile.TarFile, member: tarfile.TarInfo, data: bytes) -> None:
    info = tarfile.TarInfo(member.name)
    info.size = len(data)
    target.addfile(info, io.BytesIO(data))


def test_a_backup_never_replaces_another_nor_holds_earlier_ones(tmp_path: Path) -> None:
    old, old_config = _filled(tmp_path, None, files=1)
    inside = old.outbox_dir / "sicherungen"  # kept in a folder that is itself backed up
    first = make_backup(old, inside, NOW, config_dir=old_config)
    with pytest.raises(FileExistsError):
        make_backup(old, inside, NOW, config_dir=old_config)
    assert verify(first.path) == [] and backups_in(inside) == [first.path]
    second = make_backup(old, inside, NOW.replace(second=16), config_dir=old_config)
    assert not [entry for entry in second.manifest["dateien"]
                if "sicherungen" in entry["name"]]


def test_a_storage_url_is_backed_up_and_restored_through_fsspec(tmp_path: Path) -> None:
    """Archive and outputs in a storage URL (here fsspec's memory://, as s3:// would be)."""
    def installation(root: str) -> Settings:
        settings = make_settings(tmp_path / root, storage=StorageSettings(
            url=f"memory://ews-{root}-{uuid.uuid4().hex}"))
        intake.prepare(settings)
        return settings

    old = installation("alt")
    archived = archive_store(old).write_bytes("2026-12/000001__Bewerbung.pdf", b"%PDF-1.7 a")
    letter = output_store(old).write_bytes("13.0.70-001-2026/Zusage.docx", b"PK docx")
    result = make_backup(old, tmp_path / "s", NOW, config_dir=tmp_path / "keine")
    names = {entry["name"] for entry in result.manifest["dateien"]}
    assert {"archiv/2026-12/000001__Bewerbung.pdf",
            "ausgang/13.0.70-001-2026/Zusage.docx"} <= names

    new = installation("neu")
    restore(new, result.path, config_dir=tmp_path / "keine")
    assert archive_store(new).read_bytes(archive_store(new).location(
        "2026-12/000001__Bewerbung.pdf")) == archive_store(old).read_bytes(archived)
    assert output_store(new).read_bytes(output_store(new).location(
        "13.0.70-001-2026/Zusage.docx")) == output_store(old).read_bytes(letter)
    with pytest.raises(RestoreRefused, match="Archiv"):
        restore(new, result.path, config_dir=tmp_path / "keine")


def test_a_backup_of_an_older_schema_is_upgraded_on_restore(
        tmp_path: Path, database_url: str | None, second_url: str | None) -> None:
    old, old_config = _installation(tmp_path / "alt", database_url)
    old.data_dir.mkdir(parents=True)
    config = alembic_config(old.db_url)
    with engine_for(old.db_url).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")
    result = make_backup(old, tmp_path / "s", NOW, config_dir=old_config)
    assert result.manifest["schema"] == "0007"

    new, new_config = _installation(tmp_path / "neu", second_url)
    intake.prepare(new)  # someone ran a command in it first: an empty register at head
    restored = restore(new, result.path, config_dir=new_config)
    assert restored.revision == ScriptDirectory.from_config(config).get_current_head() != "0007"


def test_files_still_being_written_or_moved_away_are_left_out(tmp_path: Path) -> None:
    """A backup runs beside the service: a write under way (its hidden temporary name) is not
    listed, and a file the service moved away after the listing is skipped, not an error."""
    folder = tmp_path / "ausgang"
    folder.mkdir()
    finished = folder / "Eingangsbestätigung.docx"
    finished.write_bytes(b"fertig")
    (folder / f".Eingangsbestätigung.docx.{'ab12cd34'}.tmp").write_bytes(b"halb")
    (folder / ".notiz.tmp").write_bytes(b"kein Schreibvorgang des Dienstes")
    listed = files_of(folder)
    assert [path.name for path in listed] == [".notiz.tmp", "Eingangsbestätigung.docx"]
    entries: list[dict[str, Any]] = []
    with tarfile.open(tmp_path / "probe.tar", "w") as tar:
        listed[0].unlink()  # moved away by the service after the listing
        for path in listed:
            add_file(tar, path.name, path, entries)
    assert [entry["name"] for entry in entries] == ["Eingangsbestätigung.docx"]
