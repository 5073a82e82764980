"""The store on fsspec's in-memory filesystem and on a local folder: upload, verification,
reruns after a crash, never overwriting, reason files, reading back."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fsspec.implementations.memory import MemoryFileSystem

from ews.core.errors import ConfigurationError
from ews.runtime import folders
from ews.runtime.settings import Settings, StorageSettings
from ews.runtime.storage import (
    FsspecStore,
    LocalStore,
    Store,
    archive_store,
    candidate_keys,
    join_location,
    local_root,
    location_name,
    open_store,
    outgoing_mail_store,
    output_store,
    quarantine_store,
    read_head,
    read_location,
    with_suffix,
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
    local = LocalStore(tmp_path / "q").quarantine(claim(tmp_path / "lokal"), "x.pdf", reasons)
    text = store.read_bytes(location + ".Grund.txt")
    assert text == folders.reason_file(Path(local)).read_bytes()
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


def test_an_output_is_replaced_verified_and_read_back_by_its_location(store: FsspecStore
                                                                     ) -> None:
    location = store.location("13.0.70-001-2026 Stadt Hagen/2026-11-21 Zusage.docx")
    assert location.startswith("memory:///") and location.endswith("/2026-11-21 Zusage.docx")
    assert not store.exists(location)
    assert store.put(location, b"erste Fassung") == location
    assert store.put(location, b"neu geschrieben") == location  # a letter rendered again
    assert store.read_bytes(location) == read_location(location) == b"neu geschrieben"
    assert store.exists(location)
    assert [k for k in keys_under(store.fs.unstrip_protocol(store.root)) if ".tmp" in k] == []


def test_an_upload_that_reads_back_wrong_is_an_error(store: FsspecStore,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    location = store.location("a.docx")
    monkeypatch.setattr(store, "_digest", lambda _path: "0" * 64)
    with pytest.raises(OSError, match="nicht die erwarteten Daten"):
        store.put(location, b"Brief")


def test_a_folder_of_outputs_is_removed_with_its_contents(store: FsspecStore) -> None:
    staging = store.location("rundschreiben/.vorbereitung/abc")
    for name in ("rundschreiben.md", "Programm.pdf"):
        store.put(join_location(staging, name), name.encode())
    kept = store.put(store.location("rundschreiben/2026/001_x/Programm.pdf"), b"bleibt")
    store.remove(staging)
    store.remove(staging)  # gone already: nothing to do
    assert not store.exists(join_location(staging, "Programm.pdf")) and store.exists(kept)


def test_local_outputs_are_paths_in_the_outbox(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, outbox_dir=tmp_path / "outbox",
                        data_dir=tmp_path / "data")
    store = output_store(settings)
    location = store.location("13.0.70-001-2026 Stadt Hagen/Zusage.docx")
    assert location == str(tmp_path / "outbox" / "13.0.70-001-2026 Stadt Hagen" / "Zusage.docx")
    store.put(location, b"alt")
    store.put(location, b"neu")
    assert Path(location).read_bytes() == read_location(location) == b"neu"
    assert [p.name for p in Path(location).parent.iterdir()] == ["Zusage.docx"]
    mail = outgoing_mail_store(settings).location("000001.eml")
    assert mail == str(tmp_path / "data" / "postausgang" / "000001.eml")
    store.remove(str(Path(location).parent))
    assert not Path(location).parent.exists()


def test_with_url_outputs_and_outgoing_mails_are_folders_under_it(root: str) -> None:
    base = root.removesuffix("/archiv")
    settings = Settings(_env_file=None, storage=StorageSettings(url=base))
    assert settings.output_root == f"{base}/ausgang"
    assert settings.outgoing_mail_root == f"{base}/postausgang"
    location = outgoing_mail_store(settings).location("000007.eml")
    assert location.endswith("/postausgang/000007.eml") and location.startswith("memory://")


@pytest.mark.parametrize(("location", "name", "pdf", "inside"), [
    ("/srv/ews/outbox/13.0.70-001-2026 Stadt Hagen/2026-11-21 Zusage.docx",
     "2026-11-21 Zusage.docx", "/srv/ews/outbox/13.0.70-001-2026 Stadt Hagen/2026-11-21 Zusage.pdf",
     "/srv/ews/outbox/13.0.70-001-2026 Stadt Hagen/2026-11-21 Zusage.docx/x"),
    ("s3://ablage/ausgang/13.0.70-001-2026 Stadt Hagen/Zusage 50% #1.docx",
     "Zusage 50% #1.docx", "s3://ablage/ausgang/13.0.70-001-2026 Stadt Hagen/Zusage 50% #1.pdf",
     "s3://ablage/ausgang/13.0.70-001-2026 Stadt Hagen/Zusage 50% #1.docx/x"),
    ("dir://ausgang/a.b/ohne-endung", "ohne-endung", "dir://ausgang/a.b/ohne-endung.pdf",
     "dir://ausgang/a.b/ohne-endung/x"),
])
def test_location_names_suffixes_and_joins_are_plain_text(location: str, name: str, pdf: str,
                                                          inside: str) -> None:
    assert location_name(location) == name
    assert with_suffix(location, ".pdf") == pdf
    assert join_location(location, "x") == inside


@pytest.mark.parametrize("folder", ["s3://ablage/ausgang/rundschreiben/2026/001_x",
                                    "/srv/ews/outbox/rundschreiben/2026/001_x"])
def test_a_joined_name_cannot_leave_the_folder(folder: str) -> None:
    with pytest.raises(ValueError, match="relative"):
        join_location(folder, "..")


# --- never overwriting, with names that fit 255 bytes ---

LONG_NAME = "000001__" + "😀" * 75 + ".pdf"  # 312 bytes: more than a file system takes


@pytest.fixture(params=["local", "direct", "rename"])
def any_store(request: pytest.FixtureRequest, root: str, tmp_path: Path) -> Store:
    """The local folder and both ways of writing to fsspec."""
    if request.param == "local":
        return LocalStore(tmp_path / "ablage")
    return FsspecStore(MemoryFileSystem(), MemoryFileSystem._strip_protocol(root),
                       direct_writes=request.param == "direct")


def test_local_store_never_overwrites_an_original_and_returns_the_name_used(
        tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "archiv")
    first = store.file_original(claim(tmp_path, b"eins"), "2026-11/000001__Bewerbung.pdf")
    second = store.file_original(claim(tmp_path, b"zwei"), "2026-11/000001__Bewerbung.pdf")
    assert location_name(second) == "000001__Bewerbung (2).pdf"
    assert Path(first).read_bytes() == b"eins" and Path(second).read_bytes() == b"zwei"


def test_local_rerun_with_the_same_bytes_or_without_the_claim_finds_the_stored_file(
        tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "archiv")
    store.write_bytes("2026-11/000001__a.pdf", b"andere")  # an unrelated file holds the name
    stored = store.file_original(claim(tmp_path), "2026-11/000001__a.pdf")
    assert location_name(stored) == "000001__a (2).pdf"
    again = store.file_original(claim(tmp_path), "2026-11/000001__a.pdf")  # crashed rerun
    gone = store.file_original(tmp_path / "weg.pdf", "2026-11/000001__a.pdf",
                               sha256=hashlib.sha256(PDF).hexdigest())
    assert again == gone == stored
    assert sorted(p.name for p in (tmp_path / "archiv" / "2026-11").iterdir()) == [
        "000001__a (2).pdf", "000001__a.pdf"]


def test_local_quarantine_never_overwrites_and_each_file_has_its_reason(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "quarantaene")
    first = store.quarantine(claim(tmp_path, b"eins"), "000002__x.pdf", ["Grund eins."])
    second = store.quarantine(claim(tmp_path, b"zwei"), "000002__x.pdf", ["Grund zwei."])
    assert Path(first).read_bytes() == b"eins" and Path(second).read_bytes() == b"zwei"
    assert "Grund eins." in folders.reason_file(Path(first)).read_text(encoding="utf-8")
    assert "Grund zwei." in folders.reason_file(Path(second)).read_text(encoding="utf-8")


def test_local_mail_archive_keeps_both_mails_of_one_name(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "archiv")
    first = store.write_bytes("mail/2026-11/1-7__Bewerbung.eml", b"erste")
    assert store.write_bytes("mail/2026-11/1-7__Bewerbung.eml", b"erste") == first
    second = store.write_bytes("mail/2026-11/1-7__Bewerbung.eml", b"zweite")
    assert Path(second).read_bytes() == b"zweite" and Path(first).read_bytes() == b"erste"


def test_keys_too_long_for_a_file_system_are_cut_with_room_for_number_and_reason(
        any_store: Store, tmp_path: Path) -> None:
    stored = [any_store.quarantine(claim(tmp_path, data), LONG_NAME, ["Unlesbar."])
              for data in (b"eins", b"zwei")]
    names = [location_name(location) for location in stored]
    assert names[1].endswith(" (2).pdf") and names[0] != names[1]
    for location, name, data in zip(stored, names, (b"eins", b"zwei"), strict=True):
        assert name.startswith("000001__😀") and name.endswith(".pdf")
        assert len((name + folders.REASON_SUFFIX).encode("utf-8")) <= 255
        assert any_store.read_bytes(location) == data
        assert "Unlesbar." in any_store.read_bytes(location + folders.REASON_SUFFIX).decode()


def test_numbered_keys_of_a_long_name_stay_within_255_bytes() -> None:
    keys = list(candidate_keys(f"2026-11/{LONG_NAME}"))
    assert len(keys) == 1000 and len(set(keys)) == 1000
    assert all(len(key.rpartition("/")[2].encode("utf-8")) <= 255 for key in keys)
    assert all(key.startswith("2026-11/000001__") and key.endswith(".pdf") for key in keys)


def test_the_head_of_a_location_is_its_first_bytes_local_or_fsspec(store: FsspecStore,
                                                                   tmp_path: Path) -> None:
    remote = store.write_bytes("mail/1.eml", PDF)
    local = tmp_path / "1.eml"
    local.write_bytes(PDF)
    for location in (remote, str(local)):
        assert read_head(location, 100) == PDF[:100]
        assert read_head(location, len(PDF) + 50) == PDF == read_location(location)
