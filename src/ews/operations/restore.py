"""Restoring a backup onto an empty installation, then migrating its register to the newest
schema (I/O: database, files).

An installation is empty when its register holds no rows and its archive, quarantine, outputs,
outgoing mails and drafts hold no file; anything else is refused, nothing is overwritten. The
archive is checked against its manifest before anything is written. Templates are restored as
saved; a config file the new installation has already (its ``ews.env`` with the new register's
address) is kept and the saved one is written beside it as ``NAME.aus-sicherung``.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ews.operations.backup_layout import (
    MANIFEST,
    all_parts,
    checked_member,
    data_parts,
    files_of,
    read_manifest,
    remote_is_empty,
    verify,
)
from ews.register.database import migrate
from ews.register.snapshot import filled_tables, load_register, member_name, state_of
from ews.runtime.folders import write_atomic
from ews.runtime.redaction import redact_url
from ews.runtime.settings import DEFAULT_ENV_FILE, Settings
from ews.runtime.storage import open_store

KEPT_SUFFIX = ".aus-sicherung"


class RestoreRefused(Exception):
    """The backup is damaged or the installation is not empty (German message)."""


@dataclass
class RestoreResult:
    manifest: dict[str, Any]
    files: int = 0
    #: the register's schema revision after the migrations
    revision: str | None = None
    notes: list[str] = field(default_factory=list)


def obstacles(settings: Settings, config_dir: Path = DEFAULT_ENV_FILE.parent) -> list[str]:
    """Why this installation is not empty, in German (empty list: it is)."""
    found = [f"Das Register enthält schon Daten (Tabellen: {', '.join(tables)})."
             for tables in [filled_tables(settings.db_url)] if tables]
    for part in data_parts(settings):
        folder = part.folder
        if folder is None:
            if not remote_is_empty(part.root, settings.storage.options):
                found.append(f"{part.label} ({redact_url(str(part.root))}) enthält schon "
                             "Dateien.")
        elif files_of(folder):
            found.append(f"{part.label} ({folder}) enthält schon Dateien.")
    return found


def restore(settings: Settings, archive: Path, *,
            config_dir: Path = DEFAULT_ENV_FILE.parent) -> RestoreResult:
    """Restore ``archive`` into the installation ``settings`` describe, which must be empty."""
    problems = verify(archive)
    if problems:
        raise RestoreRefused("Die Sicherung ist nicht in Ordnung:\n" + "\n".join(problems))
    manifest = read_manifest(archive)
    register_member = f"register/{member_name(settings.db_url)}"
    if register_member not in {entry["name"] for entry in manifest["dateien"]}:
        raise RestoreRefused(f"Die Sicherung stammt aus einem Register auf "
                             f"„{manifest.get('datenbank')}“; diese Installation braucht "
                             f"{register_member}. Bitte dieselbe Datenbankart einstellen.")
    found = obstacles(settings, config_dir)
    if found:
        raise RestoreRefused("Die Installation ist nicht leer; es wird nichts überschrieben:\n"
                             + "\n".join(found))
    parts = {part.member: part for part in all_parts(settings, config_dir)}
    result = RestoreResult(manifest)
    with tempfile.TemporaryDirectory(prefix="ews-wiederherstellung-") as scratch, \
            tarfile.open(archive, "r:") as tar:
        for member in tar:
            if member.name == MANIFEST or not member.isfile():
                continue
            name = checked_member(member.name)
            stream = tar.extractfile(member)
            assert stream is not None  # a regular file (checked above)
            if member.name == register_member:
                copy = Path(scratch) / name.name
                with copy.open("wb") as handle:
                    shutil.copyfileobj(stream, handle)
                load_register(settings.db_url, copy)
                continue
            part = parts.get(name.parts[0])
            if part is None:
                result.notes.append(f"Übergangen: {member.name}")
                continue
            folder = part.folder
            if folder is None:  # a storage URL
                store = open_store(part.root, settings.storage.options)
                store.put(store.location("/".join(name.parts[1:])), stream.read())
            else:
                result.notes += _place(folder.joinpath(*name.parts[1:]), stream.read(),
                                       config=part.member == "config")
            result.files += 1
    migrate(settings.db_url)
    result.revision = state_of(settings.db_url).revision
    return result


def _place(target: Path, data: bytes, *, config: bool) -> list[str]:
    target.parent.mkdir(parents=True, exist_ok=True)
    if config and target.exists():
        if target.read_bytes() == data:
            return []
        kept = target.with_name(target.name + KEPT_SUFFIX)
        write_atomic(kept, data)
        return [f"{target} behalten; die gesicherte Fassung liegt in {kept}."]
    write_atomic(target, data)
    if config:
        target.chmod(0o600)
    return []
