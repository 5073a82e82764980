"""Read the application form's values from a PDF (adapter: pypdf, plus OCR subprocesses).

The order of attempts: AcroForm fields, then the text layer by the printed labels, then OCR of
the first pages. Every pypdf call runs under the limits and behind the error translation of
``ews.documents.pdf_access``, so a damaged, protected or hostile file ends as ``UnreadablePdf``
with a German reason instead of a crash or hundreds of MiB in memory. Only the first pages
are ever touched, so the page count of a file does not matter.
"""

from __future__ import annotations

from functools import partial

from pypdf import PdfReader, apply_configuration
from pypdf.generic import DictionaryObject

from ews.core.errors import NoFormContent, UnreadablePdf
from ews.core.models import FormReading, RawFields, ReadMethod
from ews.documents.acroform import acroform_of, fields_from_acroform, has_xfa
from ews.documents.declaration_scan import confirmed_by_qr, read_scan
from ews.documents.declaration_text import mark_in_text
from ews.documents.ocr import ocr_text
from ews.documents.pdf_access import checked_pdf, limits, opened, page_texts, pdf_call
from ews.documents.text_layer import fields_from_text, unmarked_checkboxes

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
    checked_pdf(data)
    with apply_configuration(limits()):
        reader = opened(data)
        acroform = pdf_call(partial(acroform_of, reader))
        fields = pdf_call(partial(fields_from_acroform, acroform))
        if fields is not None and _has_values(fields):
            declared = pdf_call(partial(_declared_page_count, reader))
            return FormReading(fields=fields, method=ReadMethod.ACROFORM, page_count=declared)
        if fields is None and pdf_call(partial(has_xfa, acroform)):
            raise UnreadablePdf(_XFA)
        page_count = pdf_call(lambda: len(reader.pages))
        pages = page_texts(reader, min(text_max_pages, page_count))
    declaration = mark_in_text("\f".join(pages))
    if declaration is not None:  # a signed Gemeinsame Erklärung, saved as PDF with its text
        if ocr:
            declaration = confirmed_by_qr(declaration, data)
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
