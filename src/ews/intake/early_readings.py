"""Form readings done before the intake, kept for the intake of the same process (I/O: the
claimed files' status).

Preparing a mail reads each of its PDFs to tell an application from other correspondence, and
filing a file of an Az. folder reads it to tell a corrected form from an attachment
(``ews.intake.replies.read_nature``). For a form read by its fields that reading is exactly
what the intake's own reading would give: no OCR is involved in it. The flow process keeps it
by the claimed file's path, with the file's identity (device, inode, size, modification time)
as it was read; the intake takes it instead of reading the file again, as
long as the file is still the one read. A file replaced or rewritten since, a reading of
another process (a second worker of the cluster), one lost with a restart: the intake reads
the file, as for any other input. Kept in memory only, at most ``LIMIT`` readings, the oldest
dropped first; what a reading holds is in the claimed file anyway.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

from ews.core.models import FormReading, ReadMethod

#: readings kept at most (a few KB each); more than a mailbox pass takes at once
LIMIT = 5000

_Identity = tuple[int, int, int, int]


class EarlyReadings:
    """Readings by claimed file, each valid while its file is unchanged."""

    def __init__(self, limit: int = LIMIT) -> None:
        self._limit = limit
        self._kept: OrderedDict[str, tuple[_Identity, FormReading]] = OrderedDict()
        self._lock = threading.Lock()  # the flow's tasks may run on different threads

    def keep(self, path: Path, reading: FormReading) -> None:
        """Keep ``reading`` of the file at ``path``, as it is now; only a reading by the
        form's fields is kept (any other may differ from the intake's, which uses OCR)."""
        if reading.method != ReadMethod.ACROFORM:
            return
        try:
            identity = _identity(path)
        except OSError:
            return
        with self._lock:
            self._kept[str(path)] = (identity, reading)
            self._kept.move_to_end(str(path))
            while len(self._kept) > self._limit:
                self._kept.popitem(last=False)

    def take(self, path: str) -> FormReading | None:
        """The reading kept for ``path``, once, when the file is still the one read."""
        with self._lock:
            kept = self._kept.pop(path, None)
        if kept is None:
            return None
        try:
            same = _identity(Path(path)) == kept[0]
        except OSError:
            return None
        return kept[1] if same else None

    def __len__(self) -> int:
        return len(self._kept)


def _identity(path: Path) -> _Identity:
    """What changes when the file is replaced or written to (a link is never followed)."""
    status = os.lstat(path)
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns


#: this process's readings (the flow process: mails and case folders keep, the intake takes)
EARLY_READINGS = EarlyReadings()
