"""The exception tree of the domain package, in one place (no I/O).

Every error the ews package raises on purpose derives from ``EwsError``; its message is German
and meant for the office. The tree, with when each is raised:

    EwsError                      base of everything raised on purpose
    ├── DocumentRejected          an input we cannot act on; carries German reasons
    │   ├── NotAPdf               bytes are not a PDF
    │   ├── UnreadablePdf         broken, truncated, encrypted with a user password,
    │   │                         too large to read within limits, XFA-only
    │   └── NoFormContent         no fields, no text labels, OCR found nothing
    ├── TemplateError             a letter template cannot be rendered (names template and tag)
    ├── ConversionError           LibreOffice did not produce a valid PDF/A (per document)
    ├── LettersNotWritten         a worker could not render an input's letters (timeout, crash)
    ├── ConfigurationError        settings that cannot work (unknown Az. scheme, missing template)
    ├── MailboxError              the IMAP mailbox cannot be reached or refused a command
    ├── LockTimeout               a register lock was not free within the caller's wait
    ├── SelectionError            a decision the selection rules do not allow (names the field)
    ├── DecisionSheetError        the decision sheet cannot be taken over; nothing was changed
    ├── NetworkError              a network roster change or a returned declaration that cannot
    │                             be recorded
    ├── CircularError             a circular draft or issued circular the office has to correct
    ├── DistributionError         a distribution list (contacts file, list spec) cannot be built
    ├── PlanError                 the mailing plan file cannot be used
    ├── FollowUpError             a follow-up (Wiedervorlage) staff cannot change so
    └── CorrespondenceError       a piece of correspondence staff cannot mark or file so

A ``DocumentRejected`` becomes an outcome (``invalid``) in the pipeline; every other error is an
infrastructure failure or a refused command: it propagates so that Prefect retries and marks the
run failed, or the command line prints its message.

Not in the tree, on purpose: ``ChildTimeout`` (runtime.child_processes) and ``WorkerFailed``
(runtime.workers) are caught inside the runtime and turned into German reasons.
"""

from __future__ import annotations

from collections.abc import Sequence


class EwsError(Exception):
    """Base of all errors raised on purpose by the ews package."""


def error_problems(exc: EwsError) -> list[str]:
    """The German sentences of an error: its ``problems`` where it lists several, else its
    message."""
    return list(getattr(exc, "problems", None) or [str(exc)])


class DocumentRejected(EwsError):
    """The input cannot be acted on; ``reasons`` are German sentences for office and sender."""

    def __init__(self, *reasons: str) -> None:
        super().__init__("; ".join(reasons))
        self.reasons: list[str] = list(reasons)


class NotAPdf(DocumentRejected):
    """The bytes are not a PDF document."""


class UnreadablePdf(DocumentRejected):
    """A PDF that cannot be read: damaged, protected, too large, or an XFA form."""


class NoFormContent(DocumentRejected):
    """A readable PDF without form fields, labels or legible text."""


class TemplateError(EwsError):
    """A letter template failed to render; the message is German and names template and tag."""


class ConversionError(EwsError):
    """LibreOffice failed to convert documents to PDF/A; ``failures`` maps each document (its
    path or storage location) to the German reason."""

    def __init__(self, failures: dict[str, str]) -> None:
        items = [f"„{document}“: {reason}" for document, reason in failures.items()]
        if len(items) == 1:
            message = f"PDF/A-Umwandlung fehlgeschlagen für {items[0]}."
        else:
            message = (f"PDF/A-Umwandlung fehlgeschlagen für {len(items)} Dateien: "
                       + "; ".join(items) + ".")
        super().__init__(message)
        self.failures = failures


class LettersNotWritten(EwsError):
    """A worker could not render the letters of an input; it waits for the next pass."""


class ConfigurationError(EwsError):
    """The settings cannot work as given."""


class MailboxError(EwsError):
    """The mailbox could not be reached or answered with an error (German message)."""


class LockTimeout(EwsError):
    """A lock was not free within the time the caller allowed."""

    def __init__(self, name: str, wait: float) -> None:
        super().__init__(f"„{name}“ ist seit {wait:.0f} Sekunden von einem anderen Prozess "
                         "belegt; der Vorgang wird beim nächsten Lauf wiederholt.")
        self.name = name


class SelectionError(EwsError):
    """A decision the rules do not allow (German message).

    ``field`` is the input to fix (``rang``, ``grund`` or ``ausnahme``); the command line, the
    decision sheet and the Prefect form each name it their own way (``worded``)."""

    _PLACE = "{wo}"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message.replace(self._PLACE, ""))
        self.template, self.field = message, field

    def worded(self, names: dict[str, str]) -> str:
        """The message with the place to fix it, e.g. ``{"rang": "Spalte „Rang“"}``."""
        place = f" ({names[self.field]})" if self.field in names else ""
        return self.template.replace(self._PLACE, place)


class DecisionSheetError(EwsError):
    """The sheet cannot be taken over; ``problems`` are German sentences naming row and Az.

    ``SHEET`` is the title of the workbook's decision sheet (selection.decision_sheet uses it)."""

    SHEET = "Entscheidungen"

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: list[str] = list(problems)
        count = len(self.problems)
        super().__init__(
            f"Die Tabelle „{self.SHEET}“ wurde nicht übernommen, im Register ist nichts geändert "
            f"({count} {'Problem' if count == 1 else 'Probleme'}):\n"
            + "\n".join(f"- {problem}" for problem in self.problems))


class NetworkError(EwsError):
    """A roster change that cannot be made (German message)."""


class CircularError(EwsError):
    """A draft or circular the office has to correct; ``problems`` in German."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


class DistributionError(EwsError):
    """A distribution list that cannot be built (German message)."""


class PlanError(EwsError):
    """The plan file cannot be used; the message says why, in German."""


class FollowUpError(EwsError):
    """A change to a follow-up that is refused: unknown id or Az., already closed, a date in
    the past (German message)."""


class CorrespondenceError(EwsError):
    """A change to a piece of correspondence that is refused: unknown number or Az., no open
    release follow-up to close (German message)."""
