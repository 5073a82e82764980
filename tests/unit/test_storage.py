"""The store on fsspec's in-memory filesystem and on a local folder: upload, verification,
reruns after a crash, never overwriting, reason files, reading back."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fsspec.implementations.memory import MemoryFileSystem

from ews import folders
from ews.errors import ConfigurationError
from ews.settings import Settings, StorageSettings
from ews.storage import (
    FsspecStore,
    LocalStore,
    archive_store,
    candidate_keys,
    local_root,
    open_store,
    quarantine_store,
)

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


@pytest.fixture
def root() -> Iterator[str]:
    """A fresh root on the in-memory filesystem (shared by the whole process)."""
    url = f"memory://ews-test-{uuid.uuid4().hex}/archiv"
    yield url
    fs = MemoryFileSystem()
    if fs.exists(url):
        fs.rm(url, recursive=True)


@pytest.fixture(params=[True, False], ids=["direct", "rename"])
def store(request: pytest.FixtureRequest, root: str) -> FsspecStore:
    """Both ways of writing: directly (object stores) and to a temporary key, then renamed."""
    return FsspecStore(MemoryFileSystem(), MemoryFileSystem._strip_protocol(root),
                       direct_writes=request.param)


def claim(tmp_path: Path, data: bytes = PDF, name: str = "0123456789ab__Bewerbung.pdf") -> Path:
    path = tmp_path / folders.WORK_FOLDER / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def keys_under(root: str) -> list[str]:
    fs = MemoryFileSystem()
    base = MemoryFileSystem._strip_protocol(root)
    return sorted(p.removeprefix(base + "/") for p in fs.find(base))


def test_original_is_uploaded_verified_and_the_claim_removed(
        store: FsspecStore, root: str, tmp_path: Path) -> None:
    source = claim(tmp_path)
    location = store.file_original(source, "2026-11/000001__Bewerbung.pdf")
    assert location == f"{root.replace('memory://', 'memory:///')}/2026-11/000001__Bewerbung.pdf"
    assert store.read_bytes(location) == PDF and store.exists(location)
    assert not source.exists()
    assert keys_under(root) == ["2026-11/000001__Bewerbung.pdf"]  # no temporary key left


def test_rerun_after_a_crash_with_the_same_bytes_at_the_target_counts_as_done(
        store: FsspecStore, root: str, tmp_path: Path) -> None:
    first = store.write_bytes("2026-11/000001__Bewerbung.pdf", PDF)  # the crashed upload
    source = claim(tmp_path)
    assert store.file_original(source, "2026-11/000001__Bewerbung.pdf") == first
    assert not source.exists()
    assert keys_under(root) == ["2026-11/000001__Bewerbung.pdf"]


def test_rerun_after_the_claim_was_removed_finds_the_stored_file_by_its_digest(
        store: FsspecStore, tmp_path: Path) -> None:
    store.write_bytes("2026-11/000001__a.pdf", b"someone else's file")
    source = claim(tmp_path)
    stored = store.file_original(source, "2026-11/000001__a.pdf")
    assert stored.endswith("/000001__a (2).pdf")
    again = store.file_original(source, "2026-11/000001__a.pdf",
                                sha256=hashlib.sha256(PDF).hexdigest())
    assert again == stored


def test_missing_claim_and_nothing_stored_is_an_error(store: FsspecStore,
                                                      tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        store.file_original(tmp_path / "weg.pdf", "2026-11/000001__weg.pdf", sha256="0" * 64)


def test_different_bytes_at_the_target_stay_and_the_file_gets_a_new_key(
        store: FsspecStore, root: str, tmp_path: Path) -> None:
    older = store.write_bytes("2026-11/000001__Bewerbung.pdf", b"an older file")
    store.write_bytes("2026-11/000001__Bewerbung (2).pdf", b"another older file")
    location = store.file_original(claim(tmp_path), "2026-11/000001__Bewerbung.pdf")
    assert location.endswith("/2026-11/000001__Bewerbung (3).pdf")
    assert store.read_bytes(location) == PDF
    assert store.read_bytes(older) == b"an older file"
    assert len(keys_under(root)) == 3


def test_write_bytes_never_overwrites_and_is_idempotent(store: FsspecStore) -> None:
    first = store.write_bytes("mail/2026-11/1-7__Bewerbung.eml", b"mail one")
    assert store.write_bytes("mail/2026-11/1-7__Bewerbung.eml", b"mail one") == first
    other = store.write_bytes("mail/2026-11/1-7__Bewerbung.eml", b"mail two")
    assert other.endswith("/1-7__Bewerbung (2).eml")
    assert (store.read_bytes(first), store.read_bytes(other)) == (b"mail one", b"mail two")


def test_quarantine_writes_the_same_reason_text_as_the_local_folder(
        store: FsspecStore, root: str, tmp_path: Path) -> None:
    reasons = ["Die Datei ist kein PDF.", "„Einwilligung Datenschutz“ muss angekreuzt sein."]
    location = store.quarantine(claim(tmp_path), "000002__Bewerbung.pdf", reasons)
    local = folders.quarantine(claim(tmp_path / "lokal"), tmp_path / "q" / "x.pdf", reasons)
    text = store.read_bytes(location + ".Grund.txt")
    assert text == folders.reason_file(local).read_bytes()
    assert text.decode("utf-8").startswith("Diese Datei konnte nicht als Bewerbung registriert")
    assert "- „Einwilligung Datenschutz“ muss angekreuzt sein.\n" in text.decode("utf-8")
    assert store.read_bytes(location) == PDF
    assert keys_under(root) == ["000002__Bewerbung.pdf", "000002__Bewerbung.pdf.Grund.txt"]


def test_a_location_of_another_filesystem_is_refused(store: FsspecStore) -> None:
    with pytest.raises(ValueError):
        store.read_bytes("/etc/hostname")


def test_keys_leaving_the_root_are_refused(store: FsspecStore) -> None:
    for key in ("../x.pdf", "/x.pdf", "a//x.pdf", ""):
        with pytest.raises(ValueError):
            store.write_bytes(key, b"x")


def test_local_store_uses_the_folder_exactly_as_before(tmp_path: Path) -> None:
    store = open_store(tmp_path / "archiv")
    assert isinstance(store, LocalStore)
    source = claim(tmp_path)
    location = store.file_original(source, "2026-11/000001__Bewerbung.pdf")
    assert location == str(tmp_path / "archiv" / "2026-11" / "000001__Bewerbung.pdf")
    assert Path(location).read_bytes() == PDF and not source.exists()
    raw = store.write_bytes("mail/2026-11/1-7__a.eml", b"mail")
    assert raw == str(tmp_path / "archiv" / "mail" / "2026-11" / "1-7__a.eml")


def test_file_url_and_plain_path_are_local_folders(tmp_path: Path) -> None:
    assert local_root(f"file://{tmp_path}/Geteilte%20Ablage") == tmp_path / "Geteilte Ablage"
    assert local_root("file://localhost/mnt/ablage") == Path("/mnt/ablage")
    assert local_root("data/archiv") == Path("data/archiv")
    assert local_root("memory://x") is None
    with pytest.raises(ConfigurationError):
        local_root("file://server/freigabe")


def test_unknown_protocol_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="gibtsnicht://"):
        open_store("gibtsnicht://bucket/archiv")


def test_without_url_archive_and_quarantine_stay_in_the_data_folder(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    assert settings.archive_root == settings.archive_dir == tmp_path / "data" / "archiv"
    assert settings.quarantine_root == settings.quarantine_dir
    assert isinstance(archive_store(settings), LocalStore)


def test_with_url_archive_and_quarantine_are_folders_under_it(root: str) -> None:
    base = root.removesuffix("/archiv")
    settings = Settings(_env_file=None, storage=StorageSettings(url=base + "/"))
    assert settings.archive_root == f"{base}/archiv"
    assert settings.quarantine_root == f"{base}/quarantaene"
    location = quarantine_store(settings).write_bytes("x.txt", b"x")
    assert location.endswith("/quarantaene/x.txt")


def test_storage_options_are_read_as_json_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EWS_STORAGE__URL", "s3://ews-ablage/bewerbungen")
    monkeypatch.setenv("EWS_STORAGE__OPTIONS", '{"key": "k", "secret": "geheim", '
                                               '"client_kwargs": {"endpoint_url": "https://s3"}}')
    settings = Settings(_env_file=None)
    assert settings.storage.options["client_kwargs"] == {"endpoint_url": "https://s3"}
    assert settings.archive_root == "s3://ews-ablage/bewerbungen/archiv"
    assert "geheim" not in repr(settings)


def test_new_keys_keep_folder_and_suffix() -> None:
    keys = candidate_keys("2026-11/000001__Bewerbung.pdf")
    assert [next(keys) for _ in range(3)] == [
        "2026-11/000001__Bewerbung.pdf", "2026-11/000001__Bewerbung (2).pdf",
        "2026-11/000001__Bewerbung (3).pdf"]
    assert list(candidate_keys("ohne-endung"))[1] == "ohne-endung (2)"
