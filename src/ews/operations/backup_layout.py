"""What a backup holds and where each part lives in an installation; reading and checking an
archive against its manifest (I/O: reads files and archives).

A backup is one uncompressed tar file ``ews-sicherung-JJJJ-MM-TTTHHMMSS.tar`` (the PDFs in it
are compressed already). Its members: ``register/register.sqlite3`` or ``register/register.sql``,
``archiv/…``, ``quarantaene/…``, ``ausgang/…`` (letters and circulars), ``postausgang/…``,
``entwuerfe/…`` (drafts of circulars), ``vorlagen/…``, ``config/…`` and last ``manifest.json``
with the SHA-256 and size of every other member, the schema revision, the service's version,
the time and the Az. counters. The inbox is not in it: it is the office's folder.
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from fsspec.core import url_to_fs

from ews.runtime.settings import DEFAULT_ENV_FILE, Settings
from ews.runtime.storage import local_root

#: the name of a file the service is still writing (``core.names.temporary_name``)
_IN_PROGRESS = re.compile(r"^\..*\.[0-9a-f]{8}\.tmp$")
MANIFEST = "manifest.json"
FORMAT = 1
CHUNK = 1 << 20


@dataclass(frozen=True)
class Part:
    """One folder of the installation and its place in a backup."""

    member: str  # first part of the members' names
    root: str | Path  # the folder or storage URL in the installation
    label: str  # German, for messages

    @property
    def folder(self) -> Path | None:
        """The local folder, None for a storage URL that is no folder (s3://, sftp://): that
        is read and written through fsspec."""
        return local_root(self.root)


def data_parts(settings: Settings) -> list[Part]:
    """The folders with the office's records: an installation is empty when these are."""
    return [Part("archiv", settings.archive_root, "Archiv"),
            Part("quarantaene", settings.quarantine_root, "Quarantäne"),
            Part("ausgang", settings.output_root, "Ausgang (Briefe, Rundschreiben)"),
            Part("postausgang", settings.outgoing_mail_root, "Postausgang (Mails)"),
            Part("entwuerfe", settings.drafts_dir, "Rundschreiben-Entwürfe")]


def all_parts(settings: Settings, config_dir: Path = DEFAULT_ENV_FILE.parent) -> list[Part]:
    return [*data_parts(settings), Part("vorlagen", settings.templates_dir, "Vorlagen"),
            Part("config", config_dir, "Einstellungen")]


def files_of(folder: Path) -> list[Path]:
    """Every regular file below ``folder``, sorted (links and special files are left out, and
    the temporary files of writes still under way: ``.{name}.{8 hex}.tmp``)."""
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.rglob("*")
                  if path.is_file() and not path.is_symlink()
                  and not _IN_PROGRESS.match(path.name))


def remote_files(root: str | Path, options: Mapping[str, Any]) -> Iterator[tuple[str, bytes]]:
    """Every file below a storage URL (``s3://…``, ``memory://…``): its path relative to the
    root and its bytes, sorted."""
    fs, base = url_to_fs(str(root), **dict(options))
    if not fs.exists(base):
        return
    for path in sorted(fs.find(base)):
        yield path[len(base):].lstrip("/"), bytes(fs.cat_file(path))


def remote_is_empty(root: str | Path, options: Mapping[str, Any]) -> bool:
    fs, base = url_to_fs(str(root), **dict(options))
    return not fs.exists(base) or not fs.find(base)


def checked_member(name: str) -> PurePosixPath:
    """A member name that stays inside the installation (no absolute path, no ``..``)."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or len(path.parts) < 2:
        raise ValueError(f"Unzulässiger Name in der Sicherung: {name!r}")
    return path


def sha256_stream(stream: Any) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def read_manifest(archive: Path) -> dict[str, Any]:
    with tarfile.open(archive, "r:") as tar:
        member = tar.getmember(MANIFEST)
        stream = tar.extractfile(member)
        if stream is None:
            raise ValueError("manifest.json ist keine Datei")
        manifest: dict[str, Any] = json.loads(stream.read())
    return manifest


def verify(archive: Path) -> list[str]:
    """Every deviation of ``archive`` from its manifest, in German; empty when it is intact.
    Reads every member once, writes nothing."""
    try:
        manifest = read_manifest(archive)
    except (OSError, KeyError, ValueError, tarfile.TarError) as exc:
        return [f"Sicherung nicht lesbar oder ohne Manifest: {exc}"]
    expected = {entry["name"]: (entry["sha256"], entry["groesse"])
                for entry in manifest.get("dateien", [])}
    problems: list[str] = []
    seen: set[str] = set()
    try:
        with tarfile.open(archive, "r:") as tar:
            for member in tar:
                if member.name == MANIFEST:
                    continue
                seen.add(member.name)
                stream = tar.extractfile(member) if member.isfile() else None
                if member.name not in expected:
                    problems.append(f"Nicht im Manifest: {member.name}")
                elif stream is None:
                    problems.append(f"Keine Datei: {member.name}")
                elif sha256_stream(stream) != expected[member.name]:
                    problems.append(f"Prüfsumme oder Größe falsch: {member.name}")
    except (OSError, tarfile.TarError) as exc:
        problems.append(f"Sicherung beschädigt: {exc}")
    problems += [f"Fehlt in der Sicherung: {name}" for name in sorted(set(expected) - seen)]
    return problems
