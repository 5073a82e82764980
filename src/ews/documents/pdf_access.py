"""Low-level PDF access under safe limits, with one translation of pypdf's errors (adapter: pypdf).

Every pypdf call of the form reader (``ews.documents.pdf``) and of the declaration reader
(``ews.documents.declaration_scan``) runs under tightened decompression limits and behind one
translation point (``pdf_call``), so a damaged, protected or hostile file ends as
``UnreadablePdf`` with a German reason instead of a crash or hundreds of MiB in memory. Works on
bytes already in memory; no file I/O.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from pypdf import Configuration, PasswordType, PdfReader, apply_configuration, get_configuration
from pypdf.errors import LimitReachedError, PyPdfError

from ews.core.errors import NotAPdf, UnreadablePdf
from ews.core.sniff import is_pdf, not_a_pdf_reason
from ews.documents.text_positions import laid_out_text
from ews.documents.text_walk import DocumentFonts

__all__ = ["checked_pdf", "limits", "opened", "page_texts", "pdf_call", "text_layer"]

_T = TypeVar("_T")

_MIB = 1024 * 1024
#: pypdf 7 limits for one document; a legitimate form's streams stay far below them
_LIMIT_VALUES: dict[str, int] = {
    "zlib_maximum_output_length": 32 * _MIB,
    "lzw_maximum_output_length": 32 * _MIB,
    "run_length_maximum_output_length": 32 * _MIB,
    "brotli_maximum_output_length": 32 * _MIB,
    "array_based_stream_maximum_output_length": 32 * _MIB,
    "stream_decoding_work_maximum_length": 96 * _MIB,
    "xfa_decoding_work_maximum_length": 32 * _MIB,
}
#: everything pypdf lets escape from malformed input besides its own errors
_PDF_ERRORS: tuple[type[Exception], ...] = (
    PyPdfError,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    IndexError,
    AssertionError,
    RecursionError,
    NotImplementedError,
    zlib.error,
    struct.error,
)
#: what an (incremental) save writes; junk some mail systems append after %%EOF has none of it
#: (starting only at the first digit of a run, so that a long run is read once, not per digit)
_UNFINISHED_SAVE = re.compile(rb"(?<!\d)\d+\s+\d+\s+obj\b|\bxref\b|\btrailer\b|\bstartxref\b")

_DAMAGED = (
    "Die PDF-Datei ist beschädigt und kann nicht gelesen werden. Bitte speichern Sie den "
    "Bewerbungsbogen erneut als PDF und senden Sie ihn noch einmal."
)
_TRUNCATED = (
    "Die PDF-Datei ist unvollständig (sie bricht vor dem Dateiende ab), vermutlich wurde sie "
    "nicht vollständig gespeichert oder übertragen. Bitte senden Sie den Bewerbungsbogen "
    "noch einmal."
)
_TOO_LARGE = (
    "Die PDF-Datei überschreitet die Grenzen für eine sichere Verarbeitung (etwa durch Inhalte, "
    "die entpackt unzulässig groß wären) und wurde deshalb nicht gelesen. Bitte senden Sie den "
    "Bewerbungsbogen als gewöhnliche PDF-Datei."
)
_PASSWORD = (
    "Die PDF-Datei ist mit einem Kennwort geschützt und kann nicht geöffnet werden. Bitte "
    "senden Sie den Bewerbungsbogen ohne Kennwortschutz."
)
_CIPHER = (
    "Die PDF-Datei ist mit einem nicht unterstützten Verfahren verschlüsselt. Bitte senden "
    "Sie den Bewerbungsbogen ohne Verschlüsselung."
)


def checked_pdf(data: bytes) -> None:
    """Raises ``NotAPdf`` for anything but a PDF, ``UnreadablePdf`` for a cut-off save."""
    if not is_pdf(data):
        raise NotAPdf(not_a_pdf_reason(data))
    if _is_truncated(data):
        raise UnreadablePdf(_TRUNCATED)


def limits() -> Configuration:
    """pypdf's configuration with the decompression limits of this module (for
    ``pypdf.apply_configuration``)."""
    return get_configuration().with_overwrites(**_LIMIT_VALUES)


def _is_truncated(data: bytes) -> bool:
    """No ``%%EOF`` at all, or objects after the last one: a save was cut off."""
    end = data.rfind(b"%%EOF")
    return end < 0 or _UNFINISHED_SAVE.search(data, end) is not None


def pdf_call(operation: Callable[[], _T]) -> _T:
    """Run one pypdf operation; translate what malformed input makes it raise."""
    try:
        return operation()
    except LimitReachedError as exc:
        raise UnreadablePdf(_TOO_LARGE) from exc
    except _PDF_ERRORS as exc:
        raise UnreadablePdf(_DAMAGED) from exc


def opened(data: bytes) -> PdfReader:
    """A reader for the document; decrypted when only an owner password protects it."""
    reader = pdf_call(lambda: PdfReader(io.BytesIO(data), strict=False))
    if not pdf_call(lambda: reader.is_encrypted):
        return reader
    try:
        # pypdf already tried the empty user password; this asks for the outcome
        outcome = reader.decrypt("")
    except NotImplementedError as exc:
        raise UnreadablePdf(_CIPHER) from exc
    except _PDF_ERRORS as exc:
        raise UnreadablePdf(_DAMAGED) from exc
    if outcome == PasswordType.NOT_DECRYPTED:
        raise UnreadablePdf(_PASSWORD)
    return reader


def page_texts(reader: PdfReader, pages: int) -> list[str]:
    """The text layer of the first ``pages`` pages, one string per page (each font of the
    document parsed once for all of them)."""
    fonts = DocumentFonts()
    return [pdf_call(partial(_page_text, reader, index, fonts)) for index in range(pages)]


def _page_text(reader: PdfReader, index: int, fonts: DocumentFonts) -> str:
    page = reader.pages[index]
    try:
        # by position, Form XObjects included: a label and the value beside it on one line
        return laid_out_text(page, fonts)
    except LimitReachedError:
        raise
    except _PDF_ERRORS:
        pass
    try:
        return page.extract_text(extraction_mode="layout")
    except LimitReachedError:
        raise
    except _PDF_ERRORS:
        # layout mode trips over some fonts and rotations that the plain mode reads
        return page.extract_text()


def text_layer(data: bytes, max_pages: int) -> list[str]:
    """The first pages' text of a PDF, checked, opened and read under this module's limits."""
    checked_pdf(data)
    with apply_configuration(limits()):
        reader = opened(data)
        count = pdf_call(lambda: len(reader.pages))
        return page_texts(reader, min(max_pages, count))
