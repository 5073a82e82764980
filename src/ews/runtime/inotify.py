"""A Linux inotify watch on a folder and its subfolders (through ``inotify_simple``) that
reports each event with its path, also a file closed by its writer (``IN_CLOSE_WRITE``), which
watchfiles does not report (I/O: an inotify descriptor).

``TreeWatch`` raises ``OSError`` when inotify is not there (another OS, the watch limit
reached, the folder gone); callers fall back to their poll. A subfolder that ``follow``
refuses (hidden, temporary) is not watched; a subfolder created or moved in is watched at once.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from inotify_simple import INotify, flags

MODIFY, ATTRIB, CLOSE_WRITE = flags.MODIFY, flags.ATTRIB, flags.CLOSE_WRITE
MOVED_FROM, MOVED_TO, CREATE, DELETE = (flags.MOVED_FROM, flags.MOVED_TO, flags.CREATE,
                                        flags.DELETE)
DELETE_SELF, MOVE_SELF = flags.DELETE_SELF, flags.MOVE_SELF
OVERFLOW, IGNORED, ISDIR = flags.Q_OVERFLOW, flags.IGNORED, flags.ISDIR
_MASK = (MODIFY | ATTRIB | CLOSE_WRITE | MOVED_FROM | MOVED_TO | CREATE | DELETE
         | DELETE_SELF | MOVE_SELF | flags.ONLYDIR | flags.DONT_FOLLOW)


@dataclass(frozen=True)
class Event:
    """One change: ``path`` and inotify's mask (``OVERFLOW``: events were lost, path None)."""

    path: Path | None
    mask: int

    def has(self, flag: int) -> bool:
        return bool(self.mask & flag)


class TreeWatch:
    """inotify watches on ``root`` and every subfolder ``follow`` accepts."""

    def __init__(self, root: Path, follow: Callable[[Path], bool]) -> None:
        self.root, self.follow = root, follow
        self._inotify: INotify | None = INotify(nonblocking=True)
        self.folders: dict[int, Path] = {}
        try:
            self._add_tree(root)
        except OSError:
            self.close()
            raise

    def _add(self, folder: Path) -> None:
        assert self._inotify is not None, "the watch is closed"
        self.folders[self._inotify.add_watch(folder, _MASK)] = folder

    def _add_tree(self, folder: Path) -> None:
        self._add(folder)
        for entry in os.scandir(folder):
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False) and self.follow(path):
                self._add_tree(path)

    def read(self, timeout: float) -> list[Event]:
        """The events within ``timeout`` seconds (none: an empty list). ``OSError`` once the
        root folder is gone."""
        assert self._inotify is not None, "the watch is closed"
        events: list[Event] = []
        for raw in self._inotify.read(timeout=max(0, round(timeout * 1000))):
            events += self._event(raw.wd, raw.mask, raw.name)
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
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None
