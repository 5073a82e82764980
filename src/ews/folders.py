"""Inbox, archive, quarantine and outbox on the filesystem (I/O: files).

A file in the inbox is taken only after its size and mtime stayed unchanged for the stability
window, by one atomic rename into the inbox's hidden work folder. Outputs are written to a
temporary name and moved into place with ``os.replace``. Nothing is ever deleted: inputs end in
the archive or in quarantine, byte for byte.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

WORK_FOLDER = ".ews-in-arbeit"
_SKIPPED_NAMES = {"thumbs.db", "desktop.ini"}
_SKIPPED_SUFFIXES = (".part", ".crdownload", ".tmp", ".partial", ".download")


@dataclass(frozen=True)
class Observation:
    """Size and mtime of an inbox file at one moment."""

    path: Path
    size: int
    mtime_ns: int


def is_candidate(path: Path) -> bool:
    """Skip hidden, temporary and system files (``~$x.docx``, ``.x``, ``*.part``, Thumbs.db)."""
    name = path.name
    lowered = name.casefold()
    return not (name.startswith((".", "~$", "~")) or lowered in _SKIPPED_NAMES
                or lowered.endswith(_SKIPPED_SUFFIXES))


def observe_inbox(inbox: Path) -> dict[Path, Observation]:
    """Current size/mtime of every candidate file directly in the inbox or its subfolders."""
    found: dict[Path, Observation] = {}
    for path in _walk(inbox):
        try:
            stat = path.stat()
        except FileNotFoundError:  # moved away between listing and stat
            continue
        found[path] = Observation(path, stat.st_size, stat.st_mtime_ns)
    return found


def _walk(folder: Path) -> Iterator[Path]:
    for entry in os.scandir(folder):
        path = Path(entry.path)
        if not is_candidate(path):
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(path)
        elif entry.is_file(follow_symlinks=False):
            yield path


def stable_files(inbox: Path, window: float, *, sleep: Callable[[float], None] = time.sleep
                 ) -> list[Observation]:
    """Files whose size and mtime did not change across ``window`` seconds (sorted by mtime)."""
    before = observe_inbox(inbox)
    if not before:
        return []
    sleep(window)
    after = observe_inbox(inbox)
    stable = [obs for path, obs in after.items() if before.get(path) == obs]
    return sorted(stable, key=lambda obs: (obs.mtime_ns, obs.path.name))


def claim_file(observation: Observation, inbox: Path) -> Path | None:
    """Atomically move a stable file into the work folder; None if someone else took it or it
    changed since it was observed."""
    work = inbox / WORK_FOLDER
    work.mkdir(exist_ok=True)
    target = work / f"{uuid.uuid4().hex[:12]}__{safe_name(observation.path.name)}"
    try:
        stat = observation.path.stat()
    except FileNotFoundError:
        return None
    if (stat.st_size, stat.st_mtime_ns) != (observation.size, observation.mtime_ns):
        return None
    try:
        os.rename(observation.path, target)
    except FileNotFoundError:
        return None
    return target


def claimed_files(inbox: Path) -> list[Path]:
    """Files in the work folder (claimed earlier; a crashed run leaves them here)."""
    work = inbox / WORK_FOLDER
    return sorted(p for p in work.iterdir() if p.is_file()) if work.is_dir() else []


def original_name(claimed: Path) -> str:
    """The name a claimed file had in the inbox."""
    return claimed.name.split("__", 1)[1] if "__" in claimed.name else claimed.name


def safe_name(name: str, *, limit: int = 150) -> str:
    """An NFC file name without path parts or control characters, at most ``limit`` chars."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r'[\x00-\x1f\x7f<>:"|?*]', "_", name).strip(" .") or "unbenannt"
    stem, dot, suffix = name.rpartition(".")
    if not dot or len(suffix) > 10:
        return name[:limit]
    return f"{stem[: limit - len(suffix) - 1]}.{suffix}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def move_into_place(source: Path, target: Path) -> Path:
    """Move a file to ``target`` (atomic on one filesystem; across filesystems copied, synced,
    verified, then the source removed). Returns ``target``. A target that already holds the
    same bytes (an earlier run moved it) counts as done."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if not source.exists() and target.exists():
        return target
    try:
        os.replace(source, target)
        return target
    except OSError as exc:
        if exc.errno != 18:  # EXDEV: different filesystems
            raise
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    shutil.copyfile(source, temporary)
    _fsync(temporary)
    if sha256_of(temporary) != sha256_of(source):
        raise OSError(f"Kopie von {source} nach {temporary} ist nicht identisch")
    os.replace(temporary, target)
    source.unlink()
    return target


def write_atomic(target: Path, data: bytes) -> Path:
    """Write ``data`` to a temporary name beside ``target`` and replace it in one step."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    temporary.write_bytes(data)
    _fsync(temporary)
    os.replace(temporary, target)
    return target


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def quarantine(source: Path, target: Path, reasons: list[str]) -> Path:
    """Move an unusable input to quarantine with a German ``.txt`` reason beside it."""
    write_atomic(reason_file(target), quarantine_text(reasons).encode("utf-8"))
    return move_into_place(source, target)


def quarantine_text(reasons: list[str]) -> str:
    """The German text of the reason file beside a quarantined input."""
    text = "Diese Datei konnte nicht als Bewerbung registriert werden.\n\nGründe:\n"
    text += "".join(f"- {reason}\n" for reason in reasons)
    text += ("\nNach Korrektur kann die Datei erneut in den Posteingang gelegt werden; "
             "maßgeblich für die Frist ist dann der neue Eingang.\n")
    return text


REASON_SUFFIX = ".Grund.txt"


def reason_file(target: Path) -> Path:
    return target.with_name(target.name + REASON_SUFFIX)
