"""Inbox, archive, quarantine and outbox on the filesystem (I/O: files).

A file in the inbox is taken only after its size and mtime stayed unchanged for the stability
window, by one atomic rename into the inbox's hidden work folder. Only regular files are taken:
a symbolic link, FIFO, socket or device is never opened or followed; it is moved aside (the
link itself, by rename) into the hidden folder ``.ews-abgewiesen`` with a German reason file
beside it, and logged once. Outputs are written to a temporary name and moved into place in
one step (``write_atomic``, the only atomic write); archived and quarantined originals are
placed without ever replacing a file (``ews.runtime.filing``). Nothing is ever deleted: inputs
end in the archive or in quarantine, byte for byte. Every name made here fits 255 bytes
(``ews.core.names``).
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ews.core.names import (
    NAME_MAX_BYTES,
    REASON_SUFFIX,
    safe_name,
    temporary_name,
)
from ews.runtime.links import name_if_free

__all__ = ["REASON_SUFFIX"]  # imported from here by older callers

log = logging.getLogger(__name__)

WORK_FOLDER = ".ews-in-arbeit"
REFUSED_FOLDER = ".ews-abgewiesen"
CLAIM_PREFIX_BYTES = len("0123456789ab__")
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
    """Current size/mtime of every candidate regular file in the inbox or its subfolders
    (never through a symbolic link)."""
    found: dict[Path, Observation] = {}
    for path in _walk(inbox, regular=True):
        try:
            info = path.lstat()
        except FileNotFoundError:  # moved away between listing and stat
            continue
        if stat.S_ISREG(info.st_mode):
            found[path] = Observation(path, info.st_size, info.st_mtime_ns)
    return found


def refused_entries(inbox: Path) -> list[Path]:
    """Candidates in the inbox that are neither a regular file nor a folder: symbolic links
    (also to a folder), FIFOs, sockets, devices."""
    return sorted(_walk(inbox, regular=False))


def _walk(folder: Path, *, regular: bool) -> Iterator[Path]:
    for entry in os.scandir(folder):
        path = Path(entry.path)
        if not is_candidate(path):
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(path, regular=regular)
        elif entry.is_file(follow_symlinks=False) is regular:
            yield path


def stable_files(inbox: Path, window: float, *, sleep: Callable[[float], None] = time.sleep,
                 closed: Callable[[Observation], float | None] | None = None,
                 settle: float = 0.0) -> list[Observation]:
    """Files whose size and mtime did not change across ``window`` seconds (sorted by mtime).
    A file that ``closed`` reports closed by its writer (the seconds since then, None when not
    known: ``ews.intake.inbox_changes``) needs only ``settle`` quiet seconds, counted from the
    close (``stability_wait``)."""
    before = observe_inbox(inbox)
    if not before:
        return []
    sleep(stability_wait(list(before.values()), window, closed, settle))
    stable = unchanged(before, observe_inbox(inbox))
    return sorted(stable, key=lambda obs: (obs.mtime_ns, obs.path.name))


def stability_wait(observations: list[Observation], window: float,
                   closed: Callable[[Observation], float | None] | None, settle: float
                   ) -> float:
    """Seconds to wait before the second look: the whole window, unless every file was seen
    closed by its writer; then what is left of ``settle`` since the latest close."""
    waits = [window if (quiet := closed(obs) if closed is not None else None) is None
             else max(0.0, min(settle, window) - quiet) for obs in observations]
    return max(waits, default=0.0)


def unchanged(before: Mapping[Path, Observation], after: Mapping[Path, Observation]
              ) -> list[Observation]:
    """The one stability check (pure): the files of ``after`` seen with the same size and
    mtime in ``before`` — they stopped changing between the two looks."""
    return [obs for path, obs in after.items() if before.get(path) == obs]


def claim_file(observation: Observation, inbox: Path) -> Path | None:
    """Atomically move a stable file into the work folder; None if someone else took it or it
    changed since it was observed."""
    work = inbox / WORK_FOLDER
    work.mkdir(exist_ok=True)
    target = work / claim_name(observation.path.name, uuid.uuid4().hex[:12])
    try:
        info = observation.path.lstat()
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode) or \
            (info.st_size, info.st_mtime_ns) != (observation.size, observation.mtime_ns):
        return None  # changed, or replaced by a link: the next scan sees it as it is now
    try:
        os.rename(observation.path, target)  # moves a link itself, never its target
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(target.lstat().st_mode):  # swapped for a link after the check
        set_aside(target, inbox, observation.path.name)
        return None
    return target


def claim_name(name: str, token: str, max_bytes: int = NAME_MAX_BYTES) -> str:
    """``{token}__{name}`` within ``max_bytes`` (pure); ``token`` is 12 hex digits."""
    return f"{token}__{safe_name(name, max_bytes=max_bytes - CLAIM_PREFIX_BYTES)}"


def claimed_files(inbox: Path) -> list[Path]:
    """Regular files in the work folder (claimed earlier; a crashed run leaves them here)."""
    work = inbox / WORK_FOLDER
    if not work.is_dir():
        return []
    return sorted(p for p in work.iterdir() if _is_regular(p))


def _is_regular(path: Path) -> bool | None:
    """Whether ``path`` itself is a regular file; None when it is gone (another process
    filed it meanwhile)."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except FileNotFoundError:
        return None


def set_aside_refused(inbox: Path) -> list[Path]:
    """Move every refused entry of the inbox and the work folder (links, FIFOs, devices) into
    the refused folder, unopened, with a German reason beside it; returns where they went."""
    work = inbox / WORK_FOLDER
    found = [(path, path.name) for path in refused_entries(inbox)]
    if work.is_dir():
        found += [(path, original_name(path)) for path in sorted(work.iterdir())
                  if _is_regular(path) is False]
    return [moved for path, name in found
            if (moved := set_aside(path, inbox, name)) is not None]


def set_aside(path: Path, inbox: Path, name: str) -> Path | None:
    """Rename one refused entry (never its target) into the refused folder; None if it is
    gone already."""
    folder = inbox / REFUSED_FOLDER
    folder.mkdir(exist_ok=True)
    try:
        text = refusal_text(name, path.lstat().st_mode, _link_target(path))
        target = folder / claim_name(name, uuid.uuid4().hex[:12],
                                     NAME_MAX_BYTES - len(REASON_SUFFIX))
        os.rename(path, target)
    except FileNotFoundError:
        return None
    write_atomic(reason_file(target), text.encode("utf-8"))
    log.warning("Im Posteingang lag „%s“, keine gewöhnliche Datei; nicht gelesen, "
                "verschoben nach %s", name, target)
    return target


def _link_target(path: Path) -> str | None:
    try:
        return os.readlink(path)
    except OSError:  # not a link
        return None


def refusal_text(name: str, mode: int, link_target: str | None) -> str:
    """The German reason beside a refused inbox entry (pure)."""
    if stat.S_ISLNK(mode):
        what = f"eine symbolische Verknüpfung (auf „{link_target}“)"
    elif stat.S_ISFIFO(mode):
        what = "eine benannte Pipe (FIFO)"
    elif stat.S_ISSOCK(mode):
        what = "ein Socket"
    else:
        what = "eine Gerätedatei"
    return (f"„{name}“ lag im Posteingang, ist aber keine gewöhnliche Datei, sondern {what}.\n"
            "Der Dienst öffnet solche Einträge nicht und folgt ihnen nicht; er hat den "
            "Eintrag selbst hierher verschoben, ohne ihn zu lesen.\n\n"
            "Bitte die Bewerbung als gewöhnliche Datei (nicht als Verknüpfung) in den "
            "Posteingang legen.\n")


def original_name(claimed: Path) -> str:
    """The name a claimed file had in the inbox."""
    return claimed.name.split("__", 1)[1] if "__" in claimed.name else claimed.name


def read_claim(path: Path) -> bytes:
    """The bytes of a claimed file; a symbolic link put in its place is refused (ELOOP), never
    followed."""
    with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb") as handle:
        return handle.read()


def sha256_of(path: Path) -> str:
    """The SHA-256 of a regular file (a symbolic link is refused, never followed)."""
    digest = hashlib.sha256()
    with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_atomic(target: Path, data: bytes, *, overwrite: bool = True,
                 create_folder: bool = True) -> Path:
    """The one atomic write: ``data`` under a temporary name beside ``target``, made durable,
    then given the name in one step — replacing a file there (``overwrite``), or only while
    no file has the name (else ``FileExistsError``: a file saved a moment ago is never
    replaced). A failed write leaves no temporary file behind."""
    if create_folder:
        target.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary_beside(target)
    try:
        with temporary.open("xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(temporary, target)
        else:
            _name_if_free(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target


def _name_if_free(temporary: Path, target: Path) -> None:
    if not name_if_free(temporary, target):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target))


def _temporary_beside(target: Path) -> Path:
    return target.with_name(temporary_name(target.name, uuid.uuid4().hex[:8]))


def fsync_file(path: Path) -> None:
    """Make the file's bytes durable before it takes its place."""
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def quarantine_text(reasons: list[str]) -> str:
    """The German text of the reason file beside a quarantined input."""
    text = "Diese Datei konnte nicht als Bewerbung registriert werden.\n\nGründe:\n"
    text += "".join(f"- {reason}\n" for reason in reasons)
    text += ("\nNach Korrektur kann die Datei erneut in den Posteingang gelegt werden; "
             "maßgeblich für die Frist ist dann der neue Eingang.\n")
    return text


def reason_file(target: Path) -> Path:
    return target.with_name(target.name + REASON_SUFFIX)
