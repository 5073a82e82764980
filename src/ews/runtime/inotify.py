"""Linux inotify through the C library (ctypes): a watch on a folder and its subfolders that
reports each event with its path, also a file closed by its writer (``IN_CLOSE_WRITE``), which
watchfiles does not report (I/O: an inotify descriptor).

``TreeWatch`` raises ``OSError`` when inotify is not there (another OS, the watch limit
reached, the folder gone); callers fall back to their poll. A subfolder that ``follow``
refuses (hidden, temporary) is not watched; a subfolder created or moved in is watched at once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import select
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MODIFY, ATTRIB, CLOSE_WRITE = 0x2, 0x4, 0x8
MOVED_FROM, MOVED_TO, CREATE, DELETE = 0x40, 0x80, 0x100, 0x200
DELETE_SELF, MOVE_SELF = 0x400, 0x800
OVERFLOW, IGNORED, ISDIR = 0x4000, 0x8000, 0x40000000
_ONLYDIR, _DONT_FOLLOW = 0x01000000, 0x02000000
_MASK = (MODIFY | ATTRIB | CLOSE_WRITE | MOVED_FROM | MOVED_TO | CREATE | DELETE
         | DELETE_SELF | MOVE_SELF | _ONLYDIR | _DONT_FOLLOW)
_NONBLOCK, _CLOEXEC = os.O_NONBLOCK, os.O_CLOEXEC
_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len (struct inotify_event)


@dataclass(frozen=True)
class Event:
    """One change: ``path`` and inotify's mask (``OVERFLOW``: events were lost, path None)."""

    path: Path | None
    mask: int

    def has(self, flag: int) -> bool:
        return bool(self.mask & flag)


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    if not hasattr(libc, "inotify_init1"):
        raise OSError(errno.ENOSYS, "inotify ist auf diesem System nicht verfügbar")
    return libc


class TreeWatch:
    """inotify watches on ``root`` and every subfolder ``follow`` accepts."""

    def __init__(self, root: Path, follow: Callable[[Path], bool]) -> None:
        self.root, self.follow = root, follow
        self._libc = _libc()
        self.fd = self._libc.inotify_init1(_NONBLOCK | _CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.folders: dict[int, Path] = {}
        try:
            self._add_tree(root)
        except OSError:
            self.close()
            raise

    def _add(self, folder: Path) -> None:
        wd = self._libc.inotify_add_watch(self.fd, os.fsencode(folder), _MASK)
        if wd < 0:
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {folder}")
        self.folders[wd] = folder

    def _add_tree(self, folder: Path) -> None:
        self._add(folder)
        for entry in os.scandir(folder):
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False) and self.follow(path):
                self._add_tree(path)

    def read(self, timeout: float) -> list[Event]:
        """The events within ``timeout`` seconds (none: an empty list). ``OSError`` once the
        root folder is gone."""
        if not select.select([self.fd], [], [], timeout)[0]:
            return []
        try:
            data = os.read(self.fd, 64 * 1024)
        except BlockingIOError:
            return []
        events: list[Event] = []
        offset = 0
        while offset < len(data):
            wd, mask, _cookie, length = _HEADER.unpack_from(data, offset)
            name = data[offset + _HEADER.size:offset + _HEADER.size + length].rstrip(b"\0")
            offset += _HEADER.size + length
            events += self._event(wd, mask, os.fsdecode(name))
        return events

    def _event(self, wd: int, mask: int, name: str) -> list[Event]:
        if mask & OVERFLOW:
            return [Event(None, mask)]
        folder = self.folders.get(wd)
        if mask & IGNORED or folder is None:
            self.folders.pop(wd, None)
            if folder == self.root:
                raise OSError(errno.ENOENT, f"{self.root} wird nicht mehr beobachtet")
            return []
        if mask & (DELETE_SELF | MOVE_SELF):
            if folder == self.root:
                raise OSError(errno.ENOENT, f"{self.root} ist verschwunden")
            return []
        path = folder / name
        if mask & ISDIR and mask & (CREATE | MOVED_TO) and self.follow(path):
            try:
                self._add_tree(path)  # what lies in it already is found by the next look
            except OSError:  # gone again, or the watch limit: the poll finds it
                pass
        return [Event(path, mask)]

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
