"""Wakes the inbox watchers the moment a file is added or written in the inbox (inotify on
Linux, through watchfiles), so that the stability window of the intake pass is the only wait;
the watchers' poll stays as the fallback (I/O: a watching thread on the inbox folder).

When inotify is not available (another OS, the watch limit reached, the folder gone),
``wait`` simply waits out its timeout, as the poll did before.
"""

from __future__ import annotations

import threading
from pathlib import Path

from watchfiles import Change, watch

from ews.runtime.folders import is_candidate

#: changes closer together than this are reported as one (milliseconds)
STEP_MS = 50
#: the longest that changes are grouped while a file keeps being written (milliseconds)
DEBOUNCE_MS = 500


class InboxChanges:
    """Watches ``inbox`` (with its subfolders) until ``stopping`` is set."""

    def __init__(self, inbox: Path, stopping: threading.Event) -> None:
        self.inbox, self.stopping = inbox.resolve(), stopping
        self.changed = threading.Event()
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

    def _wanted(self, change: Change, path: str) -> bool:
        """A candidate added or written: not a file a pass took out of the inbox or moved
        into its hidden work folder, not a temporary file (``ews.runtime.folders``)."""
        if change not in (Change.added, Change.modified):
            return False
        try:
            parts = Path(path).relative_to(self.inbox).parts
        except ValueError:
            return False
        return bool(parts) and all(is_candidate(Path(part)) for part in parts)

    def _watch(self) -> None:
        try:
            for _changes in watch(self.inbox, watch_filter=self._wanted,
                                  debounce=DEBOUNCE_MS, step=STEP_MS,
                                  stop_event=self.stopping, raise_interrupt=False,
                                  force_polling=False):
                self.changed.set()
        except (OSError, RuntimeError):  # no inotify, watch limit, folder gone: the poll
            pass
        self.changed.set()  # a waiting ``wait`` returns and finds the watch ended
