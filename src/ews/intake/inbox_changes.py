"""Wakes the inbox watchers the moment a file in the inbox was written and closed by its
writer, or moved in (inotify on Linux, ``ews.runtime.inotify``), and remembers which files
their writer closed and when, so that a pass in this process needs only the short window after
the close (``stable_after_close_seconds``) for them; the watchers' poll stays as the fallback
(I/O: a watching thread on the inbox folder).

When inotify is not available (another OS, the watch limit reached, the folder gone),
``wait`` simply waits out its timeout, as the poll did before, and no file counts as closed.
"""

from __future__ import annotations

import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ews.runtime import inotify
from ews.runtime.folders import Observation, is_candidate

#: seconds between two looks at ``stopping`` while nothing happens (a change wakes at once)
STEP = 0.2
#: the inbox watches of this process, by their resolved inbox
_ACTIVE: dict[Path, InboxChanges] = {}
_ACTIVE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Closed:
    """A file its writer closed (or that was moved in whole): its size and mtime then, and
    the monotonic time of its last change."""

    size: int
    mtime_ns: int
    at: float


class InboxChanges:
    """Watches ``inbox`` (with its subfolders) until ``stopping`` is set."""

    def __init__(self, inbox: Path, stopping: threading.Event) -> None:
        self.inbox, self.stopping = inbox.resolve(), stopping
        self.changed = threading.Event()
        self._closed: dict[Path, Closed] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="posteingang-inotify",
                                        daemon=True)
        self._thread.start()

    @property
    def watching(self) -> bool:
        """Whether changes are reported (else ``wait`` only waits out its timeout)."""
        return self._thread.is_alive()

    def wait(self, timeout: float) -> bool:
        """Waits up to ``timeout`` seconds for a change; True when there was one since the
        last call."""
        if not self.watching:  # the poll alone; the end of the watch returns at once
            self.stopping.wait(timeout)
            return False
        changed = self.changed.wait(timeout)
        self.changed.clear()
        return changed and not self.stopping.is_set()

    def quiet_since_close(self, observation: Observation) -> float | None:
        """Seconds since its writer closed the observed file, when this watch saw the close
        and the file is as it was then (size, mtime) with no write since; else None."""
        with self._lock:
            closed = self._closed.get(observation.path)
        if closed is None or (closed.size, closed.mtime_ns) != (observation.size,
                                                                 observation.mtime_ns):
            return None
        return time.monotonic() - closed.at

    def _wanted(self, path: Path) -> bool:
        """Not a file a pass took out of the inbox or moved into its hidden work folder, not a
        temporary file (``ews.runtime.folders``)."""
        try:
            parts = path.relative_to(self.inbox).parts
        except ValueError:
            return False
        return bool(parts) and all(is_candidate(Path(part)) for part in parts)

    def _watch(self) -> None:
        try:
            watch = inotify.TreeWatch(self.inbox, is_candidate)
        except OSError:  # no inotify, watch limit, folder gone: the poll
            self.changed.set()
            return
        with _ACTIVE_LOCK:
            _ACTIVE[self.inbox] = self
        try:
            while not self.stopping.is_set():
                if any([self._record(event) for event in watch.read(STEP)]):
                    self.changed.set()
        except OSError:  # the folder is gone: the poll
            pass
        finally:
            watch.close()
            with _ACTIVE_LOCK:
                if _ACTIVE.get(self.inbox) is self:
                    del _ACTIVE[self.inbox]
            with self._lock:
                self._closed.clear()
            self.changed.set()  # a waiting ``wait`` returns and finds the watch ended

    def _record(self, event: inotify.Event) -> bool:
        """Note what the event tells about its file; True when it is worth a look: a file
        closed by its writer, moved in or given new times, a folder made or moved in, or an
        entry that is no regular file (a link, a FIFO: the pass sets it aside)."""
        path = event.path
        if path is None:  # the kernel's queue overflowed: no close is known any more
            with self._lock:
                self._closed.clear()
            return True
        if not self._wanted(path):
            return False
        if event.has(inotify.ISDIR):
            return event.has(inotify.CREATE | inotify.MOVED_TO)
        closing = event.has(inotify.CLOSE_WRITE | inotify.MOVED_TO) or (
            event.has(inotify.ATTRIB) and path in self._closed)
        with self._lock:
            self._closed.pop(path, None)  # being written, gone, or closed anew just now
        try:
            info = path.lstat()
        except FileNotFoundError:
            return False
        if not stat.S_ISREG(info.st_mode):
            return True
        if closing:
            with self._lock:
                self._closed[path] = Closed(info.st_size, info.st_mtime_ns, time.monotonic())
        return closing


def closed_files(inbox: Path) -> Callable[[Observation], float | None] | None:
    """``quiet_since_close`` of this process's inotify watch on ``inbox``, None without one
    (then every file needs the whole stability window)."""
    with _ACTIVE_LOCK:
        changes = _ACTIVE.get(inbox.resolve())
    return changes.quiet_since_close if changes is not None else None
