"""Deleting files through the store API: a local folder and an fsspec store (memory://)."""

from __future__ import annotations

from pathlib import Path

from ews.retention.files import remove_files
from ews.runtime.settings import StorageSettings
from ews.runtime.storage import open_store
from tests.conftest import make_settings


def test_files_go_through_their_store_local_and_fsspec(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, storage=StorageSettings(url="memory://ews-loeschen"))
    remote = open_store("memory://ews-loeschen/archiv")
    stored = remote.write_bytes("2027-01/000001__Bewerbung.pdf", b"%PDF- Daten")
    letter = tmp_path / "outbox" / "13.0.70-001-2027 Stadt Bochum" / "Absage.docx"
    letter.parent.mkdir(parents=True)
    letter.write_bytes(b"docx")

    assert remove_files(settings, [stored, str(tmp_path / "fehlt.pdf")]) == 1
    assert not remote.exists(stored)

    assert remove_files(make_settings(tmp_path), [str(letter)]) == 1
    assert not letter.exists()
    assert not letter.parent.exists()  # the empty case folder went too
    assert (tmp_path / "outbox").is_dir()
