"""Scanned applications through read_form: real pdftoppm and tesseract (German)."""

from __future__ import annotations

import pytest

from ews.core.forms import assess_fields, normalise_round
from ews.core.models import ReadMethod
from ews.documents.pdf import read_form
from tests.support import pdfgen

REQUIRED = (
    "runde", "kommune_name", "kommune_typ", "strasse", "plz", "ort", "hvb_name", "hvb_funktion",
    "team1_name", "team1_funktion", "team1_email", "team2_name", "team2_funktion",
    "team2_email", "motivation", "freistellung", "datenschutz", "ort_datum", "unterzeichner",
)  # fmt: skip

pytestmark = [pytest.mark.slow, pytest.mark.ocr]


def test_scan_of_the_office_form_registers_like_any_other_application() -> None:
    reading = read_form(pdfgen.scanned_office_form())
    assert reading.method == ReadMethod.OCR
    assert {name: reading.fields[name] for name in REQUIRED} == {
        name: pdfgen.VALUES[name] for name in REQUIRED
    }
    assessment = assess_fields(reading.fields, round_name=pdfgen.ROUND)
    assert assessment.reasons == []
    assert assessment.is_valid


def test_every_field_of_a_scanned_printout_is_read() -> None:
    reading = read_form(pdfgen.scanned_form())
    assert reading.method == ReadMethod.OCR
    assert reading.fields == pdfgen.VALUES


def test_skewed_low_resolution_scan_is_still_read() -> None:
    data = pdfgen.scanned_pages(pdfgen.filled_form(), angle=1.0, dpi=200, seed=3)
    fields = read_form(data).fields
    # the field font (Liberation Sans) at 200 dpi, 1° skewed: tesseract may close the gap in
    # "EWS 6"; the round is compared as the assessment compares it
    assert normalise_round(str(fields["runde"])) == pdfgen.VALUES["runde"]
    assert {name: fields[name] for name in REQUIRED if name != "runde"} == {
        name: pdfgen.VALUES[name] for name in REQUIRED if name != "runde"
    }


@pytest.mark.parametrize("style", ["brackets", "glyphs", "after"])
def test_ticks_on_a_scan_are_told_apart_from_empty_boxes(style: str) -> None:
    values = dict(pdfgen.VALUES, ehrenamtskarte=False)
    data = pdfgen.scanned_pages(pdfgen.printed_form(values, checkbox_style=style))
    fields = read_form(data).fields
    assert (fields["ehrenamtskarte"], fields["freistellung"], fields["datenschutz"]) == (
        False,
        True,
        True,
    )


def test_unticked_consent_box_on_the_office_form_scan_reads_as_unchecked() -> None:
    values = dict(pdfgen.VALUES, datenschutz=False)
    fields = read_form(pdfgen.scanned_pages(pdfgen.filled_form(values))).fields
    assert fields["datenschutz"] is False
    assert fields["freistellung"] is True


def test_ocr_page_limit_bounds_a_long_scan() -> None:
    reading = read_form(pdfgen.scanned_office_form(), ocr_max_pages=1)
    assert reading.fields["kommune_name"] == "Stadt Lüdenscheid"
    assert reading.fields["motivation"] is None
