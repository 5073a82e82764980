"""Taking a name only while no file has it: a hard link, which fails atomically when the name
is taken, or where a share cannot link, an exclusive create that reserves the name before the
file replaces it (I/O: files). Used by the atomic write and by filing."""

from __future__ import annotations

import errno
import os
from pathlib import Path

#: a hard link is not possible there (a share, another filesystem)
NO_LINK = frozenset({errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP,
                     errno.EOPNOTSUPP, errno.ENOSYS})


def hard_link(source: Path, target: Path) -> bool | None:
    """Link ``source`` to ``target``: True when done, False when the name is taken (a link
    fails atomically then), None when this filesystem cannot link."""
    try:
        os.link(source, target, follow_symlinks=False)
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in NO_LINK:
            raise
    return None


def name_if_free(temporary: Path, target: Path) -> bool:
    """Give ``temporary`` the name ``target`` only while no file has it (False: taken). Where
    a share cannot link, the name is reserved by an exclusive create and then replaced."""
    linked = hard_link(temporary, target)
    if linked is not None:
        return linked
    try:
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        return False
    os.replace(temporary, target)
    return True
