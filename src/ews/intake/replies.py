"""Which mails are correspondence rather than applications, and the case they belong to
(I/O: reads PDFs on the worker; the case look-ups in the caller's transaction).

The order of checks for a mail that is neither automatic nor a bounce nor seen before:

1. **Its case.** ``In-Reply-To``/``References`` naming one of our outgoing Message-IDs
   (``antwort``), else an Az. of ours in the subject or the first lines of its own text
   (``az``; quoted text does not count, ``ews.core.references``). A mail with a case is filed
   to it as correspondence: never a new application, never a Mängelschreiben. Its PDFs that
   are, or may be, a filled application form or a signed Gemeinsame Erklärung (``FORM``,
   ``DECLARATION``, ``UNKNOWN`` below) still become inputs: a corrected application replaces
   the earlier one as ever, a declaration is filed by the network. Every other file is an
   attachment of the correspondence.
2. **An application.** Without a case, a mail with a PDF that is or may be a form (a scan
   is read by OCR in the intake, and a declaration with our QR code is recognised there) goes
   the intake's way as today.
3. **An attempt to apply.** Without a case and without such a PDF, a mail is taken as an
   application that failed (one invalid input, answered „konnte leider nicht als Bewerbung
   registriert werden …“) only when it evidently tried to apply: its subject, its first
   lines or a file name mention „Bewerbung“, „Bewerbungsbogen“, „bewerben“ (any form of
   „bewerb…“), **and** it carries something — a file that is not a PDF, a PDF that is not a
   form, or an attachment that could not be taken (too large, broken). A question about the
   application without any attachment is not an attempt.
4. **Correspondence for staff.** Everything else (a question, a thank-you, a reply with no
   case known) is correspondence without a case (``keine``), for staff in the staff folder —
   when it has a sender address to answer. A mail without one (no or broken headers, bytes
   that are no mail) is no letter from anybody: it stays one invalid input, quarantined with
   its reason, as before.

A mail with more PDFs than the cap, or too large to fetch, stays with staff as before.

A PDF's nature is decided without OCR, on the worker: ``FORM`` (form fields or the form's
printed labels with values), ``DECLARATION`` (the Gemeinsame Erklärung by its text),
``OTHER`` (a text layer that is neither, e.g. a signed release confirmation) or ``UNKNOWN``
(no text layer — a scan —, damaged, encrypted: only the intake's full reading can tell). In a
mail that answers one of ours or names an Az., and in a case folder, a scan is looked at for
our QR code (``read_nature`` with ``reply``): with it, a DECLARATION; without, a ``SCAN`` — filed to
the case as an attachment, never read by OCR as an application (a corrected application is
one readable by its fields or text layer). Without a case a SCAN goes the intake's way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ews.core.errors import DocumentRejected, NoFormContent
from ews.core.models import CorrespondenceMatch, FormReading, ReadMethod
from ews.core.references import az_of_mail
from ews.documents.declaration_scan import qr_codes
from ews.documents.pdf import read_form
from ews.documents.pdf_access import text_layer
from ews.register import correspondence
from ews.register.database import Session
from ews.runtime.settings import Settings

FORM, DECLARATION, OTHER, UNKNOWN = "form", "declaration", "other", "unknown"
SCAN = "scan"  # a scan without our QR code: no form by its fields or text layer
#: what becomes an input even in a mail filed to a case
READ_BY_INTAKE = frozenset({FORM, DECLARATION, UNKNOWN})
#: what may be an application in a mail without a case (the intake reads scans by OCR)
MAY_BE_FORM = frozenset({FORM, DECLARATION, UNKNOWN, SCAN})
#: a text layer with fewer characters than this is taken for a scan
_MIN_TEXT = 40
_APPLYING = re.compile(r"bewerb", re.IGNORECASE)


def read_nature(data: bytes, *, reply: bool = False) -> tuple[str, FormReading | None]:
    """FORM, DECLARATION, OTHER or UNKNOWN for one PDF (no OCR; never raises but for
    MemoryError). With ``reply`` (a PDF that may belong to a case) a scan is looked at for our
    QR code: DECLARATION, else SCAN (an attachment of the case, not read by OCR), UNKNOWN when
    even that fails. And the form's reading when it was read by its fields: that reading is
    the intake's own (no OCR is involved in it), so the intake need not read the PDF again
    (``ews.intake.early_readings``)."""
    try:
        reading = read_form(data, ocr=False)
    except NoFormContent:
        nature = _nature_of_text(data)
        return (_nature_of_scan(data) if reply and nature == UNKNOWN else nature), None
    except MemoryError:
        raise
    except (DocumentRejected, Exception):  # noqa: BLE001 - damaged, encrypted …
        return (_nature_of_scan(data) if reply else UNKNOWN), None
    nature = DECLARATION if reading.declaration is not None else FORM
    return nature, reading if reading.method == ReadMethod.ACROFORM else None


def _nature_of_text(data: bytes) -> str:
    """OTHER for a PDF with a text layer that is no form, else UNKNOWN."""
    try:
        text = "".join(text_layer(data, 3))
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - unreadable text layer: only the intake can tell
        return UNKNOWN
    return OTHER if len(text.strip()) >= _MIN_TEXT else UNKNOWN


def _nature_of_scan(data: bytes) -> str:
    """DECLARATION for a scan with our QR code, else SCAN; UNKNOWN when even that fails."""
    try:
        return DECLARATION if qr_codes(data, max_pages=2, timeout=60.0) else SCAN
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - damaged, encrypted, no rasteriser: the intake reads it
        return UNKNOWN


def mentions_applying(subject: str, first_lines: str, file_names: Sequence[str]) -> bool:
    """Whether the subject, the first lines or a file name speak of applying."""
    return any(_APPLYING.search(text) for text in (subject, first_lines, *file_names))


@dataclass(frozen=True)
class Case:
    az: str | None
    matched_by: CorrespondenceMatch


def case_of(session: Session, settings: Settings, answers: Sequence[str], subject: str,
            text: str) -> Case:
    """The case a mail belongs to: by the mails it answers (``answers`` in the order they are
    tried), else by an Az. it names that the register knows."""
    az = correspondence.case_of_message_ids(session, answers)
    if az is not None:
        return Case(az, CorrespondenceMatch.REPLY)
    for named in az_of_mail(subject, text, settings.az.file_plan_key, settings.az.serial_digits):
        if correspondence.az_exists(session, named):
            return Case(named, CorrespondenceMatch.AZ)
    return Case(None, CorrespondenceMatch.NONE)


def is_correspondence(case: Case, natures: Sequence[str], *, applying: bool,
                      carries_something: bool, has_sender: bool) -> bool:
    """Rules 1 to 4 of the module's docstring (pure): True for correspondence, False for the
    intake's way (an application, an attempt to apply, a mail from nobody)."""
    if case.az is not None:
        return True
    if any(nature in MAY_BE_FORM for nature in natures) or not has_sender:
        return False
    return not (applying and carries_something)
