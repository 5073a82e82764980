"""Placing a file under a free name without ever replacing one (I/O: files).

The archive and the quarantine never lose a file: a name is taken by a hard link, which fails
when the name exists, so two files can never end under one name, not even from two
processes. Where a share cannot link, the name is first reserved by an exclusive create and a
verified copy then takes the place of the empty reservation. A name that already holds the
same bytes (an earlier run crashed after placing the file) counts as done; one that holds
other bytes keeps them, and the file gets the next name, ``a (2).pdf``, within the byte
budget.
"""

from __future__ import annotations

import os
import shutil
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

from ews.core.names import NAME_MAX_BYTES, numbered_name, temporary_name
from ews.runtime.folders import fsync_file, sha256_of
from ews.runtime.links import hard_link, name_if_free

MAX_NUMBERED = 1000  # names tried for one file before giving up


def place_exclusive(source: Path, target: Path, *, sha256: str | None = None,
                    max_bytes: int = NAME_MAX_BYTES) -> Path:
    """Move ``source`` to ``target`` or the first free numbered name beside it; returns the
    name used. ``sha256`` is the source's digest when known (the register's)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    size, digest = source.lstat().st_size, sha256 or sha256_of(source)
    for candidate in candidate_paths(target, max_bytes):
        if _link_or_copy(source, candidate, digest) or _holds(candidate, size, digest):
            source.unlink()
            return candidate
    raise OSError(f"Kein freier Name für {target} (nach {MAX_NUMBERED} Versuchen).")


def write_exclusive(target: Path, data: bytes, *, max_bytes: int = NAME_MAX_BYTES) -> Path:
    """``data`` under ``target`` or the first free numbered name (same rules)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(temporary_name(target.name, uuid.uuid4().hex[:8]))
    temporary.write_bytes(data)
    fsync_file(temporary)
    return place_exclusive(temporary, target, max_bytes=max_bytes)


def find_placed(target: Path, sha256: str | None, *, max_bytes: int = NAME_MAX_BYTES) -> Path:
    """Where an earlier run placed a file whose source is gone: the first numbered name that
    holds these bytes (it stops at the first free name, so the file is at or before it)."""
    for candidate in candidate_paths(target, max_bytes):
        if not os.path.lexists(candidate):
            break
        if stat.S_ISREG(candidate.lstat().st_mode) and \
                (sha256 is None or sha256_of(candidate) == sha256):
            return candidate
    raise FileNotFoundError(f"Die Datei ist weder im Arbeitsordner noch unter {target} "
                            "gespeichert.")


def candidate_paths(target: Path, max_bytes: int) -> Iterator[Path]:
    """``target``, ``target (2)``, … each within ``max_bytes`` (pure), made one at a time:
    nearly every file takes the first."""
    return (target.with_name(numbered_name(target.name, number, max_bytes=max_bytes))
            for number in range(1, MAX_NUMBERED + 1))


def _link_or_copy(source: Path, candidate: Path, digest: str) -> bool:
    """Whether ``source`` now also lies at ``candidate`` (False: the name is taken)."""
    linked = hard_link(source, candidate)
    return _copy_exclusive(source, candidate, digest) if linked is None else linked


def _copy_exclusive(source: Path, candidate: Path, digest: str) -> bool:
    temporary = candidate.with_name(temporary_name(candidate.name, uuid.uuid4().hex[:8]))
    try:
        shutil.copyfile(source, temporary, follow_symlinks=False)
        fsync_file(temporary)
        if sha256_of(temporary) != digest:
            raise OSError(f"Kopie von {source} nach {temporary} ist nicht identisch")
        return name_if_free(temporary, candidate)
    finally:
        temporary.unlink(missing_ok=True)


def _holds(candidate: Path, size: int, digest: str) -> bool:
    info = candidate.lstat()
    return stat.S_ISREG(info.st_mode) and info.st_size == size and \
        sha256_of(candidate) == digest
