"""Which failures end one input and which stop a pass, and their German reasons (pure).

A failure of the service itself (database or mailbox unreachable, disk full) stops a pass and
propagates, so that it is retried; any other failure while one file or mail is handled ends
that input with a German reason, and the pass goes on with the others.
"""

from __future__ import annotations

import errno
from concurrent import futures

from sqlalchemy import exc as sa_exc

from ews.core.errors import MailboxError

#: errors of the machine, not of one input: the disk or a share, memory, file handles
_SYSTEM_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.ENOMEM,
                            errno.EMFILE, errno.ENFILE, errno.ESTALE, errno.ENOTCONN})
#: SQLAlchemy's errors of the connection, not of the values sent over it
_DATABASE_DOWN = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError,
                  sa_exc.TimeoutError)

#: the worker pool itself broken or shutting down: no input's doing
_POOL_DOWN = (futures.BrokenExecutor, futures.CancelledError)


def is_infrastructure(error: BaseException) -> bool:
    """Whether ``error`` is a failure of the service itself (database or mailbox unreachable,
    disk full …), which stops a pass, rather than of the one input being handled, which ends
    that input with a reason (pure)."""
    if isinstance(error, (*_DATABASE_DOWN, MailboxError, ConnectionError, TimeoutError,
                          *_POOL_DOWN)):
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OSError) and error.errno in _SYSTEM_ERRNOS


def failure_reason(error: BaseException, what: str = "Datei") -> str:
    """A German reason for an input (``what``: "Datei" or "E-Mail") whose handling failed
    unexpectedly (pure)."""
    if isinstance(error, sa_exc.DBAPIError):  # its message holds the statement and values
        detail = str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else ""
        return (f"Die Angaben der {what} konnten nicht im Register gespeichert werden "
                f"({_shortened(detail or type(error.orig).__name__)}).")
    if isinstance(error, OSError) and error.errno == errno.ENAMETOOLONG:
        return "Ein Dateiname dieses Eingangs ist für das Dateisystem zu lang."
    if isinstance(error, OSError):
        return f"Eine Datei dieses Eingangs konnte nicht geschrieben oder gelesen werden " \
               f"({_shortened(str(error) or type(error).__name__)})."
    return (f"Die {what} konnte wegen eines unerwarteten Fehlers nicht verarbeitet werden "
            f"({type(error).__name__}: {_shortened(str(error))}).")


def gave_up_reason(attempts: int, last_error: str | None) -> str:
    """The reason of an input ended after ``attempts`` failed passes (pure)."""
    return (f"Die Verarbeitung ist {attempts}-mal gescheitert und wird nicht weiter versucht. "
            f"Letzter Fehler: {last_error or 'unbekannt'}")


def _shortened(detail: str, limit: int = 300) -> str:
    # an exception's text can be as long as the value that caused it: the reason names it
    return detail if len(detail) <= limit else f"{detail[:limit]} …"
