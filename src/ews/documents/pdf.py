"""Read the application form's values from a PDF (adapter: pypdf, plus OCR subprocesses).

The order of attempts: AcroForm fields, then the text layer by the printed labels, then OCR of
the first pages. Every pypdf call runs under tightened decompression limits and behind one
translation point, so a damaged, protected or hostile file ends as ``UnreadablePdf`` with a
German reason instead of a crash or hundreds of MiB in memory. Only the first pages are ever
touched, so the page count of a file does not matter.
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
from pypdf.generic import DictionaryObject

from ews.core.errors import NoFormContent, NotAPdf, UnreadablePdf
from ews.core.models import FormReading, RawFields, ReadMethod
from ews.core.sniff import is_pdf, not_a_pdf_reason
from ews.documents.acroform import acroform_of, fields_from_acroform, has_xfa
from ews.documents.ocr import ocr_text
from ews.documents.text_layer import fields_from_text, unmarked_checkboxes

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
_XFA = (
    "Die PDF-Datei ist ein XFA-Formular (Adobe LiveCycle); solche Formulare werden nicht "
    "unterstützt. Bitte verwenden Sie den Bewerbungsbogen des Programmbüros und füllen Sie "
    "ihn mit einem PDF-Programm wie Adobe Acrobat Reader aus."
)
_EMPTY_FORM = (
    "Der Bewerbungsbogen enthält Formularfelder, aber keines ist ausgefüllt. Bitte füllen Sie "
    "den Bogen aus, speichern Sie ihn und senden Sie ihn noch einmal."
)


def read_form(
    data: bytes, *, ocr: bool = True, ocr_max_pages: int = 4, text_max_pages: int = 10
) -> FormReading:
    """The contract fields of one application PDF, and how they were read.

    Raises ``NotAPdf``, ``UnreadablePdf`` or ``NoFormContent`` with German reasons.
    """
    if not is_pdf(data):
        raise NotAPdf(not_a_pdf_reason(data))
    if _is_truncated(data):
        raise UnreadablePdf(_TRUNCATED)
    with apply_configuration(_limits()):
        reader = _opened(data)
        acroform = _pdf_call(partial(acroform_of, reader))
        fields = _pdf_call(partial(fields_from_acroform, acroform))
        if fields is not None and _has_values(fields):
            declared = _pdf_call(partial(_declared_page_count, reader))
            return FormReading(fields=fields, method=ReadMethod.ACROFORM, page_count=declared)
        if fields is None and _pdf_call(partial(has_xfa, acroform)):
            raise UnreadablePdf(_XFA)
        page_count = _pdf_call(lambda: len(reader.pages))
        pages = _page_texts(reader, min(text_max_pages, page_count))
    from ews.documents import declaration_scan  # it reads PDFs with this module: imported when used

    declaration = declaration_scan.mark_in_text("\f".join(pages))
    if declaration is not None:  # a signed Gemeinsame Erklärung, saved as PDF with its text
        if ocr:
            declaration = declaration_scan.confirmed_by_qr(declaration, data)
        return FormReading(fields={}, method=ReadMethod.TEXT, page_count=page_count,
                           declaration=declaration)
    text_fields = fields_from_text("\f".join(pages))
    if _has_values(text_fields):
        if ocr:
            text_fields = _with_ticks_from_image(text_fields, data, pages, ocr_max_pages)
        return FormReading(fields=text_fields, method=ReadMethod.TEXT, page_count=page_count)
    if fields is not None:
        raise NoFormContent(_EMPTY_FORM)
    return _ocr_reading(data, page_count, ocr=ocr, max_pages=ocr_max_pages)


def _declared_page_count(reader: PdfReader) -> int:
    """The page tree's /Count: no need to visit every page just to count them."""
    tree = reader.root_object["/Pages"].get_object()
    count = tree.get("/Count") if isinstance(tree, DictionaryObject) else None
    return int(count) if isinstance(count, int) and count >= 0 else len(reader.pages)


def _limits() -> Configuration:
    return get_configuration().with_overwrites(**_LIMIT_VALUES)


def _is_truncated(data: bytes) -> bool:
    """No ``%%EOF`` at all, or objects after the last one: a save was cut off."""
    end = data.rfind(b"%%EOF")
    return end < 0 or _UNFINISHED_SAVE.search(data, end) is not None


def _pdf_call(operation: Callable[[], _T]) -> _T:
    """Run one pypdf operation; translate what malformed input makes it raise."""
    try:
        return operation()
    except LimitReachedError as exc:
        raise UnreadablePdf(_TOO_LARGE) from exc
    except _PDF_ERRORS as exc:
        raise UnreadablePdf(_DAMAGED) from exc


def _opened(data: bytes) -> PdfReader:
    """A reader for the document; decrypted when only an owner password protects it."""
    reader = _pdf_call(lambda: PdfReader(io.BytesIO(data), strict=False))
    if not _pdf_call(lambda: reader.is_encrypted):
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


def _page_texts(reader: PdfReader, pages: int) -> list[str]:
    return [_pdf_call(partial(_page_text, reader, index)) for index in range(pages)]


def _page_text(reader: PdfReader, index: int) -> str:
    page = reader.pages[index]
    try:
        # layout mode keeps a label and the value printed beside it on one line
        return page.extract_text(extraction_mode="layout")
    except LimitReachedError:
        raise
    except _PDF_ERRORS:
        # layout mode trips over some fonts and rotations that the plain mode reads
        return page.extract_text()


def _with_ticks_from_image(
    fields: RawFields, data: bytes, pages: list[str], max_pages: int
) -> RawFields:
    """Checkboxes the text layer shows without any mark, decided on the page image.

    Programs that print a filled form to PDF draw the tick as lines, not as a character.
    """
    marked = [index for index, text in enumerate(pages) if unmarked_checkboxes(text)]
    if not marked:
        return fields
    count = min(max_pages, marked[-1] - marked[0] + 1)
    image_fields = fields_from_text(ocr_text(data, first_page=marked[0] + 1, max_pages=count))
    pending = unmarked_checkboxes("\f".join(pages))
    return {**fields, **{name: image_fields[name] for name in pending}}


def _ocr_reading(data: bytes, page_count: int, *, ocr: bool, max_pages: int) -> FormReading:
    from ews.documents.declaration_scan import read_scan

    if not ocr or page_count == 0:
        raise NoFormContent(
            "Die PDF-Datei enthält weder Formularfelder noch lesbaren Text mit den Angaben des "
            "Bewerbungsbogens. Bitte senden Sie den ausgefüllten Bewerbungsbogen als PDF."
        )
    # one rasterisation: a returned Gemeinsame Erklärung by its QR code or printed Az., else
    # the recognised text of the application (every page: what text it has did not tell)
    declaration, text = read_scan(data, texts=[], ocr=True, max_pages=min(max_pages, page_count))
    if declaration is not None:
        return FormReading(fields={}, method=ReadMethod.OCR, page_count=page_count,
                           declaration=declaration)
    fields = fields_from_text(text)
    if not _has_values(fields):
        raise NoFormContent(
            "In der PDF-Datei wurden weder Formularfelder noch die Angaben des "
            "Bewerbungsbogens gefunden, auch nicht per Texterkennung. Ist der Scan gut lesbar "
            "und vollständig? Bitte senden Sie den ausgefüllten Bewerbungsbogen erneut."
        )
    return FormReading(fields=fields, method=ReadMethod.OCR, page_count=page_count)


def _has_values(fields: RawFields) -> bool:
    return any(value not in (None, False) for value in fields.values())
