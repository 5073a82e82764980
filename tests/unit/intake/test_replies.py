from pathlib import Path

import pytest

from ews.core.models import CorrespondenceMatch
from ews.core.references import case_folder_of
from ews.intake.replies import (
    DECLARATION,
    FORM,
    OTHER,
    SCAN,
    UNKNOWN,
    Case,
    is_correspondence,
    mentions_applying,
    read_nature,
)
from tests.support import declgen, pdfgen

NO_CASE = Case(None, CorrespondenceMatch.NONE)
CASE = Case("13.0.70-004/2026", CorrespondenceMatch.AZ)


def test_a_question_without_attachment_is_correspondence_even_if_it_speaks_of_applying() -> None:
    assert mentions_applying("Frage zur Bewerbung – Bis wann können wir uns bewerben?", "", [])
    assert is_correspondence(NO_CASE, [], applying=True, carries_something=False,
                             has_sender=True)


def test_an_attempt_to_apply_with_something_that_is_no_form_is_not() -> None:
    assert not is_correspondence(NO_CASE, [OTHER], applying=True, carries_something=True,
                                 has_sender=True)
    assert not is_correspondence(NO_CASE, [], applying=True, carries_something=True,
                                 has_sender=True)
    assert is_correspondence(NO_CASE, [OTHER], applying=False, carries_something=True,
                             has_sender=True)


@pytest.mark.parametrize("nature", [FORM, DECLARATION, UNKNOWN])
def test_a_pdf_that_may_be_a_form_goes_the_intakes_way_without_a_case(nature: str) -> None:
    assert not is_correspondence(NO_CASE, [OTHER, nature], applying=False,
                                 carries_something=True, has_sender=True)
    assert is_correspondence(CASE, [nature], applying=True, carries_something=True,
                             has_sender=True)


def test_a_mail_from_nobody_stays_an_invalid_input() -> None:
    assert not is_correspondence(NO_CASE, [], applying=False, carries_something=False,
                                 has_sender=False)


def test_mentions_applying_in_names_and_lines() -> None:
    assert mentions_applying("Unterlagen", "", ["Bewerbungsbogen.docx"])
    assert mentions_applying("", "wir möchten uns bewerben", [])
    assert not mentions_applying("Danke", "Vielen Dank für die Zusage.", ["Foto.jpg"])


def test_pdf_natures() -> None:
    assert read_nature(pdfgen.filled_form())[0] == FORM
    assert read_nature(pdfgen.printed_form())[0] == FORM
    assert read_nature(b"%PDF-1.7\n kaputt")[0] == UNKNOWN
    assert read_nature(pdfgen.blank_scan())[0] == UNKNOWN


def test_case_folder_is_the_first_level_folder_named_like_an_az() -> None:
    inbox = Path("/x/inbox")
    assert case_folder_of(inbox / "13.0.70-004-2026" / "a.pdf", inbox, "13.0.70") == \
        "13.0.70-004-2026"
    assert case_folder_of(inbox / "13.0.70-4_2026" / "sub" / "a.pdf", inbox, "13.0.70") == \
        "13.0.70-4_2026"
    assert case_folder_of(inbox / "Scans" / "a.pdf", inbox, "13.0.70") is None
    assert case_folder_of(inbox / "a.pdf", inbox, "13.0.70") is None


@pytest.mark.ocr
def test_a_scan_that_may_belong_to_a_case_is_looked_at_for_our_qr_code() -> None:
    assert read_nature(declgen.scanned_declaration(), reply=True)[0] == DECLARATION
    assert read_nature(pdfgen.blank_scan(), reply=True)[0] == SCAN
    assert read_nature(pdfgen.filled_form(), reply=True)[0] == FORM
