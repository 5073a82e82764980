"""Writing a backup while the service runs, and keeping the last N (I/O: database, files).

The register is copied first (one consistent state), then the folders: every file the copy
refers to exists by then, because originals, letters and mails are written before the row
that names them is committed and are never deleted. The archive is written under a temporary
name and renamed when complete, so a backup folder never holds a half-written backup under a
backup's name. Folders given as a storage URL (``s3://…``) are read through fsspec. Secrets
in ``config/ews.env`` go in only when asked for; otherwise it is stored with them blanked.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, BinaryIO

from ews.core.names import BACKUP_PREFIX, BACKUP_SUFFIX, is_backup_name
from ews.operations.backup_layout import (
    FORMAT,
    MANIFEST,
    all_parts,
    files_of,
    remote_files,
    sha256_stream,
)
from ews.register.snapshot import copy_register, member_name
from ews.runtime.links import name_if_free
from ews.runtime.redaction import redact_url
from ews.runtime.settings import DEFAULT_ENV_FILE, Settings

ENV_NAME = DEFAULT_ENV_FILE.name
#: variables of ews.env whose values are secrets (passwords, keys, credentials)
_SECRET_NAME = re.compile(r"PASSWORD|AUTH_STRING|QR_KEY|DATABASE_URL|OPTIONS|SECRET|TOKEN",
                          re.IGNORECASE)
BLANKED_NOTE = ("# Von `ews betrieb sicherung` ohne Geheimnisse gesichert: die leeren Werte "
                "unten\n# (Passwörter, Schlüssel, Datenbank-URL) nach einer Wiederherstellung "
                "neu eintragen.\n")


@dataclass
class BackupResult:
    path: Path
    manifest: dict[str, Any]
    #: German notes for the person who made it (what was left out and why)
    notes: list[str] = field(default_factory=list)


def backup_name(now: datetime) -> str:
    return f"{BACKUP_PREFIX}{now.strftime('%Y-%m-%dT%H%M%S')}{BACKUP_SUFFIX}"


def make_backup(settings: Settings, target_dir: Path, now: datetime, *,
                with_secrets: bool = False, config_dir: Path = DEFAULT_ENV_FILE.parent
                ) -> BackupResult:
    """Write one backup of the installation into ``target_dir``; returns its path."""
    target_dir.mkdir(parents=True, exist_ok=True)
    final = target_dir / backup_name(now)
    handle, temporary = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".unfertig",
                                         dir=target_dir)
    os.close(handle)
    entries: list[dict[str, Any]] = []
    notes: list[str] = []
    own_folder = target_dir.resolve()
    try:
        with tempfile.TemporaryDirectory(prefix="ews-register-") as scratch, \
                tarfile.open(temporary, "w:", format=tarfile.PAX_FORMAT) as tar:
            register_copy = Path(scratch) / member_name(settings.db_url)
            state = copy_register(settings.db_url, register_copy)
            add_file(tar, f"register/{register_copy.name}", register_copy, entries)
            register_copy.unlink()
            for part in all_parts(settings, config_dir):
                folder = part.folder
                if folder is None:
                    for relative, data in remote_files(part.root, settings.storage.options):
                        _add_bytes(tar, f"{part.member}/{relative}", data, entries)
                    continue
                for path in files_of(folder):
                    if path.resolve().is_relative_to(own_folder):
                        continue  # backups kept inside a backed-up folder: not again
                    name = f"{part.member}/{path.relative_to(folder).as_posix()}"
                    if part.member == "config" and path.name == ENV_NAME and not with_secrets:
                        _add_bytes(tar, name, blank_secrets(path.read_text("utf-8"))
                                   .encode("utf-8"), entries)
                        notes.append(f"{path}: Geheimnisse nicht gesichert (Werte geleert); "
                                     "mit --mit-geheimnissen vollständig sichern.")
                    else:
                        add_file(tar, name, path, entries)
            manifest = {"format": FORMAT, "erstellt": now.isoformat(),
                        "version": version("ews"), "datenbank": state.dialect,
                        "schema": state.revision,
                        "az_zaehler": {str(year): last for year, last
                                       in sorted(state.az_counters.items())},
                        "mit_geheimnissen": with_secrets, "hinweise": notes,
                        "dateien": entries}
            _add_bytes(tar, MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1)
                       .encode("utf-8"), [])
        _fsync(Path(temporary))
        if not name_if_free(Path(temporary), final):
            raise FileExistsError(f"Eine Sicherung {final} gibt es schon; bitte einen "
                                  "Augenblick später noch einmal.")
    finally:
        Path(temporary).unlink(missing_ok=True)  # after the link: the backup keeps its name
    return BackupResult(final, manifest, notes)


def blank_secrets(env_text: str) -> str:
    """``ews.env`` with the values of its secret variables removed (and passwords in URLs)."""
    lines = []
    for line in env_text.splitlines():
        name, equals, _value = line.partition("=")
        if equals and not line.lstrip().startswith("#") and _SECRET_NAME.search(name):
            lines.append(f"{name}=")
        else:
            lines.append(redact_url(line))
    return BLANKED_NOTE + "\n".join(lines) + "\n"


def backups_in(folder: Path) -> list[Path]:
    """The backups in ``folder``, oldest first (their names sort by time)."""
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if is_backup_name(path.name))


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups in ``folder``; returns the deleted ones."""
    doomed = backups_in(folder)[:-keep] if keep > 0 else []
    for path in doomed:
        path.unlink()
    return doomed


def add_file(tar: tarfile.TarFile, name: str, path: Path, entries: list[dict[str, Any]]
              ) -> None:
    """Stream one file in, hashing as it goes. The service replaces files only whole (a new
    file renamed into place), so the open file stays the one version that was opened. A file
    the running service moved away since it was listed is left out: the register was copied
    before the folders were listed, so nothing it knows of was written after the listing."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    with handle:
        info = tarfile.TarInfo(name)
        info.size = os.fstat(handle.fileno()).st_size
        info.mode = 0o600
        reader = _Hashing(handle)
        tar.addfile(info, reader)
    entries.append({"name": name, "sha256": reader.digest.hexdigest(), "groesse": reader.size})


class _Hashing:
    """A reader that hashes what passes through it."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream, self.digest, self.size = stream, hashlib.sha256(), 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, entries: list[dict[str, Any]]
               ) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))
    digest, size = sha256_stream(io.BytesIO(data))
    entries.append({"name": name, "sha256": digest, "groesse": size})


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())
