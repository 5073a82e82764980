"""The exception tree of the domain package (no I/O).

    EwsError                      base of everything raised on purpose
    ├── DocumentRejected          an input we cannot act on; carries German reasons
    │   ├── NotAPdf               bytes are not a PDF
    │   ├── UnreadablePdf         broken, truncated, encrypted with a user password,
    │   │                         too large to read within limits, XFA-only
    │   └── NoFormContent         no fields, no text labels, OCR found nothing
    ├── TemplateError             a letter template cannot be rendered (names template and tag)
    ├── ConversionError           LibreOffice did not produce a valid PDF
    ├── MailboxError              the IMAP mailbox cannot be reached or refused a command
    ├── LettersNotWritten         a worker could not render an input's letters (timeout, crash)
    └── ConfigurationError        settings that cannot work (unknown Az. scheme, missing template)

A ``DocumentRejected`` becomes an outcome (``invalid``) in the pipeline; every other error is an
infrastructure failure and propagates so that Prefect retries and marks the run failed.
"""

from __future__ import annotations


class EwsError(Exception):
    """Base of all errors raised on purpose by the ews package."""


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
