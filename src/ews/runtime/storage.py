"""Where archived and quarantined originals, archived mails and the outputs (letters,
circulars, outgoing mails) are kept: a local folder or any fsspec filesystem (I/O: files,
shared folders, object storage).

A local root (a path or a ``file://`` URL, e.g. a mounted shared folder) goes through
``ews.runtime.filing``: a hard link under a name nobody holds (or, where a share cannot link, an
exclusive create replaced by a verified copy), exactly as without a storage URL; an original,
a quarantined file or a mail is never overwritten there either. Any other URL (``s3://``,
``sftp://``, ``memory://``) goes through fsspec: a file is written to a temporary key and
renamed into place, or on object stores, which write a key in one step, directly; then it is
read back and checked by size and SHA-256 before the local claim is removed. There an original
or mail is never overwritten or deleted: a key that already holds the same bytes (an earlier
run crashed after the upload) counts as done, a key that holds other bytes keeps them and the
file gets a new key (``name (2).pdf``). fsspec has no portable "create only if absent", so
there a key is checked and then written: two writers of one key at the same moment could still
collide. The register's locks exclude that (a key starts with its input's number, a raw mail's
with its UID, each taken under a lock), and every write is read back and checked.

Every key's last part fits 255 bytes with its number (``ews.core.names``); a quarantined file's
leaves room for its reason file.

Outputs are written whole with ``put`` and may be replaced: a letter rendered again after a
crash takes the place of the copy its run left behind, which no row records yet.

Locations are strings: the path for a local store, the full URL otherwise.

Longer than 300 lines because the local and the fsspec stores must keep the same promises
(never overwrite an original, check what was written); they stay side by side so that a change
to one is seen against the other.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from fsspec.core import strip_protocol, url_to_fs
from fsspec.spec import AbstractFileSystem
from fsspec.utils import get_protocol

from ews.core.errors import ConfigurationError
from ews.core.names import NAME_MAX_BYTES, REASON_SUFFIX, numbered_name, temporary_name
from ews.runtime import filing, folders
from ews.runtime.settings import Settings

#: filesystems that write a key in one step; a rename there is a copy and a delete
DIRECT_WRITE_PROTOCOLS = frozenset(
    {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oci", "oss", "memory"})
MAX_KEYS = filing.MAX_NUMBERED  # keys tried for one file before giving up
QUARANTINE_NAME_MAX_BYTES = NAME_MAX_BYTES - len(REASON_SUFFIX)
_CHUNK = 1 << 20


class Store(Protocol):
    """One storage root; keys are relative, ``/``-separated (``2026-11/000001__a.pdf``)."""

    def file_original(self, claim: Path, relative_key: str, *, sha256: str | None = None
                      ) -> str:
        """Move a claimed local file to the key; returns its location. ``sha256`` (the claim's
        digest as registered) finds the stored file when a crashed run already removed the
        claim."""
        ...

    def quarantine(self, claim: Path, relative_key: str, reasons: list[str], *,
                   sha256: str | None = None) -> str:
        """``file_original`` with the German reason text beside it (``… .Grund.txt``)."""
        ...

    def write_bytes(self, relative_key: str, data: bytes) -> str:
        """Store ``data`` under the key; returns its location."""
        ...

    def location(self, relative_key: str) -> str:
        """Where the key is kept (nothing is written)."""
        ...

    def put(self, location: str, data: bytes) -> str:
        """Write ``data`` to a location of this store in one step, replacing what is there,
        and check it; returns the location."""
        ...

    def read_bytes(self, location: str) -> bytes: ...

    def exists(self, location: str) -> bool: ...

    def remove(self, location: str) -> None:
        """Delete a file or a folder with its contents (only the service's own copies)."""
        ...


def open_store(root: str | Path, options: Mapping[str, Any] | None = None) -> Store:
    """The store for a folder or URL; ``options`` are fsspec storage options (not used for a
    local folder)."""
    local = local_root(root)
    if local is not None:
        return LocalStore(local)
    url = str(root)
    try:
        fs, path = url_to_fs(url, **dict(options or {}))
    except (ImportError, ValueError) as exc:  # unknown protocol, its package not installed
        raise ConfigurationError(f"Der Speicherort mit „{get_protocol(url)}://“ ist nicht "
                                 f"nutzbar: {exc}") from exc
    direct = bool(set(_protocols(fs)) & DIRECT_WRITE_PROTOCOLS)
    return FsspecStore(fs, path, direct_writes=direct)


def archive_store(settings: Settings) -> Store:
    """Archived originals and, under ``mail/``, raw mails."""
    return open_store(settings.archive_root, settings.storage.options)


def quarantine_store(settings: Settings) -> Store:
    return open_store(settings.quarantine_root, settings.storage.options)


def output_store(settings: Settings) -> Store:
    """Letters and circulars: the outbox folder, or ``ausgang/`` under the storage URL."""
    return open_store(settings.output_root, settings.storage.options)


def outgoing_mail_store(settings: Settings) -> Store:
    """Every outgoing mail as written before it is sent (``.eml``)."""
    return open_store(settings.outgoing_mail_root, settings.storage.options)


def read_location(location: str, options: Mapping[str, Any] | None = None) -> bytes:
    """The bytes at a location of any store: a path or a URL (rows written before a storage
    URL was set keep their paths)."""
    local = local_root(location)
    if local is not None:
        return local.read_bytes()
    fs, path = url_to_fs(location, **dict(options or {}))
    return bytes(fs.cat_file(path))


def read_head(location: str, size: int, options: Mapping[str, Any] | None = None) -> bytes:
    """The first ``size`` bytes at a location (all of a shorter file), e.g. a mail's header."""
    local = local_root(location)
    if local is not None:
        with local.open("rb") as stream:
            return stream.read(size)
    fs, path = url_to_fs(location, **dict(options or {}))
    return bytes(fs.cat_file(path, start=0, end=size))


def join_location(location: str, *names: str) -> str:
    """A location inside the folder at ``location`` (pure)."""
    checked = [checked_key(name) for name in names]
    if "://" not in location:
        return str(Path(location).joinpath(*checked))
    return "/".join((location.rstrip("/"), *checked))


def location_name(location: str) -> str:
    """The file name of a location (pure): ``…/2026-11-21 Zusage.pdf`` → ``2026-11-21
    Zusage.pdf``. fsspec locations are not percent-encoded, so no URL parsing."""
    if "://" not in location:
        return Path(location).name
    return location.rstrip("/").rpartition("/")[2]


def with_suffix(location: str, suffix: str) -> str:
    """The location with another file suffix (pure): ``…/a.docx`` → ``…/a.pdf``."""
    if "://" not in location:
        return str(Path(location).with_suffix(suffix))
    folder, slash, name = location.rpartition("/")
    stem = name.rpartition(".")[0] or name
    return f"{folder}{slash}{stem}{suffix}"


def local_root(root: str | Path) -> Path | None:
    """The folder of a plain path or ``file://`` URL; None for any other URL."""
    if isinstance(root, Path):
        return root
    if get_protocol(root) not in ("file", "local"):
        return None
    if "://" not in root:
        return Path(root)  # stays relative, as the data folder is
    parts = urlsplit(root)
    if parts.netloc not in ("", "localhost"):
        raise ConfigurationError(f"„{root}“ nennt einen anderen Rechner; einen freigegebenen "
                                 "Ordner bitte einbinden und als file:///pfad angeben.")
    return Path(unquote(parts.path))


def candidate_keys(key: str, max_bytes: int = NAME_MAX_BYTES) -> Iterator[str]:
    """``key``, then ``name (2).ext``, ``name (3).ext``, … in the same folder, each name
    within ``max_bytes`` (pure)."""
    folder, slash, name = key.rpartition("/")
    for number in range(1, MAX_KEYS + 1):
        yield f"{folder}{slash}{numbered_name(name, number, max_bytes=max_bytes)}"


def checked_key(key: str) -> str:
    """A relative key without empty, ``.`` or ``..`` parts."""
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError(f"not a relative storage key: {key!r}")
    return key


class LocalStore:
    """A folder on this machine or a mounted share: ``ews.runtime.folders`` as without storage
    URL."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def file_original(self, claim: Path, relative_key: str, *, sha256: str | None = None
                      ) -> str:
        return str(self._place(claim, relative_key, sha256, NAME_MAX_BYTES))

    def quarantine(self, claim: Path, relative_key: str, reasons: list[str], *,
                   sha256: str | None = None) -> str:
        # the reason follows the file: a crash between the two leaves the input undone, and
        # the rerun finds the file and writes its reason
        placed = self._place(claim, relative_key, sha256, QUARANTINE_NAME_MAX_BYTES)
        text = folders.quarantine_text(reasons).encode("utf-8")
        folders.write_atomic(folders.reason_file(placed), text)
        return str(placed)

    def write_bytes(self, relative_key: str, data: bytes) -> str:
        return str(filing.write_exclusive(self.root / checked_key(relative_key), data))

    def _place(self, claim: Path, relative_key: str, sha256: str | None, max_bytes: int
               ) -> Path:
        target = self.root / checked_key(relative_key)
        if not os.path.lexists(claim):  # an earlier run placed it, then crashed
            return filing.find_placed(target, sha256, max_bytes=max_bytes)
        return filing.place_exclusive(claim, target, sha256=sha256, max_bytes=max_bytes)

    def location(self, relative_key: str) -> str:
        return str(self.root / checked_key(relative_key))

    def put(self, location: str, data: bytes) -> str:
        return str(folders.write_atomic(Path(location), data))

    def read_bytes(self, location: str) -> bytes:
        return Path(location).read_bytes()

    def exists(self, location: str) -> bool:
        return Path(location).exists()

    def remove(self, location: str) -> None:
        path = Path(location)
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


class FsspecStore:
    """A root on an fsspec filesystem; ``direct_writes`` for stores that write a key in one
    step (object stores), otherwise a temporary key and a rename."""

    def __init__(self, fs: AbstractFileSystem, root: str, *, direct_writes: bool) -> None:
        self.fs, self.root, self.direct_writes = fs, root.rstrip("/"), direct_writes

    def file_original(self, claim: Path, relative_key: str, *, sha256: str | None = None
                      ) -> str:
        return self._file(claim, self._path(relative_key), sha256, reason=None)

    def quarantine(self, claim: Path, relative_key: str, reasons: list[str], *,
                   sha256: str | None = None) -> str:
        return self._file(claim, self._path(relative_key), sha256,
                          reason=folders.quarantine_text(reasons).encode("utf-8"),
                          max_bytes=QUARANTINE_NAME_MAX_BYTES)

    def write_bytes(self, relative_key: str, data: bytes) -> str:
        size, digest = len(data), hashlib.sha256(data).hexdigest()
        path, present = self._free_or_same(self._path(relative_key), size, digest)
        if not present:
            self._write(path, lambda target: self.fs.pipe_file(target, data))
        self._verify(path, size, digest)
        return self._location(path)

    def location(self, relative_key: str) -> str:
        return self._location(self._path(relative_key))

    def put(self, location: str, data: bytes) -> str:
        path = self._path_of(location)
        self._write(path, lambda target: self.fs.pipe_file(target, data))
        self._verify(path, len(data), hashlib.sha256(data).hexdigest())
        return location

    def read_bytes(self, location: str) -> bytes:
        return bytes(self.fs.cat_file(self._path_of(location)))

    def exists(self, location: str) -> bool:
        return bool(self.fs.exists(self._path_of(location)))

    def remove(self, location: str) -> None:
        path = self._path_of(location)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    def _file(self, claim: Path, path: str, expected: str | None, reason: bytes | None,
              max_bytes: int = NAME_MAX_BYTES) -> str:
        if not claim.exists():
            return self._filed_before(path, expected, max_bytes)
        # the digest the register took when the file was claimed; read again only without it
        size, digest = claim.stat().st_size, expected or folders.sha256_of(claim)
        path, present = self._free_or_same(path, size, digest, max_bytes)
        if reason is not None:  # first, so that a quarantined file never lacks its reason
            self._write(path + folders.REASON_SUFFIX,
                        lambda target: self.fs.pipe_file(target, reason))
        if not present:
            self._write(path, lambda target: self.fs.put_file(str(claim), target))
        self._verify(path, size, digest)
        claim.unlink()
        return self._location(path)

    def _filed_before(self, path: str, expected: str | None, max_bytes: int) -> str:
        """Where an earlier run stored a claim it then removed (it stops at the first free
        key, so the file is at or before it)."""
        for candidate in candidate_keys(path, max_bytes):
            if not self.fs.exists(candidate):
                break
            if expected is None or self._digest(candidate) == expected:
                return self._location(candidate)
        raise FileNotFoundError(f"Die Datei ist weder im Arbeitsordner noch unter "
                                f"{self._location(path)} gespeichert.")

    def _free_or_same(self, path: str, size: int, digest: str,
                      max_bytes: int = NAME_MAX_BYTES) -> tuple[str, bool]:
        """The first key that is free or already holds these bytes, and whether it holds
        them."""
        for candidate in candidate_keys(path, max_bytes):
            if not self.fs.exists(candidate):
                return candidate, False
            if self.fs.size(candidate) == size and self._digest(candidate) == digest:
                return candidate, True
        raise OSError(f"Kein freier Name für {self._location(path)} im Speicher.")

    def _write(self, path: str, put: Callable[[str], None]) -> None:
        if self.direct_writes:
            put(path)
            return
        folder, _, name = path.rpartition("/")
        self.fs.makedirs(folder, exist_ok=True)
        temporary = f"{folder}/{temporary_name(name, uuid.uuid4().hex[:8])}"
        put(temporary)
        self.fs.mv(temporary, path)

    def _verify(self, path: str, size: int, digest: str) -> None:
        self.fs.invalidate_cache(path)
        if self.fs.size(path) != size or self._digest(path) != digest:
            raise OSError(f"{self._location(path)} enthält nach dem Schreiben nicht die "
                          "erwarteten Daten.")

    def _digest(self, path: str) -> str:
        digest = hashlib.sha256()
        with self.fs.open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
        return digest.hexdigest()

    def _path(self, relative_key: str) -> str:
        key = checked_key(relative_key)
        return f"{self.root}/{key}" if self.root else key

    def _location(self, path: str) -> str:
        return str(self.fs.unstrip_protocol(path))

    def _path_of(self, location: str) -> str:
        if get_protocol(location) not in _protocols(self.fs):
            raise ValueError(f"{location!r} is not a location of this store")
        return str(strip_protocol(location))


def _protocols(fs: AbstractFileSystem) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)
