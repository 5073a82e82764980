"""The office's blank form: field names, kinds and printed labels as the contract says."""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader

from ews.core.form_contract import (
    CHECKBOX_FIELDS,
    CHOICE_OPTIONS,
    FIELD_NAMES,
    LABELS,
    MULTILINE_FIELDS,
    TEXT_FIELDS,
)
from ews.letters.blank_form import build_blank_form

TEMPLATE = Path(__file__).resolve().parents[3] / "templates" / "bewerbungsbogen.pdf"
MULTILINE_FLAG = 1 << 12


def reader_of(data: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(data))


def test_committed_template_is_the_current_form_for_ews_6() -> None:
    assert TEMPLATE.read_bytes() == build_blank_form("EWS 6")


def test_form_has_exactly_the_contract_fields_in_their_kinds() -> None:
    fields = reader_of(build_blank_form("EWS 6")).get_fields() or {}
    assert set(fields) == set(FIELD_NAMES)
    assert {name for name, field in fields.items() if field["/FT"] == "/Btn"} == set(
        CHECKBOX_FIELDS
    )
    assert {name for name, field in fields.items() if field["/FT"] == "/Ch"} == set(CHOICE_OPTIONS)
    multiline = {name for name, field in fields.items() if field.get("/Ff", 0) & MULTILINE_FLAG}
    assert multiline == set(MULTILINE_FIELDS)
    assert fields["kommune_typ"]["/_States_"] == list(CHOICE_OPTIONS["kommune_typ"])


def test_every_field_is_preceded_by_its_printed_label() -> None:
    reader = reader_of(build_blank_form("EWS 6"))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for name, label in LABELS.items():
        printed = label if name in CHECKBOX_FIELDS else f"{label}:"
        assert printed in text, printed


def test_form_is_two_a4_pages_with_the_round_printed_and_prefilled() -> None:
    reader = reader_of(build_blank_form("EWS 7"))
    assert len(reader.pages) == 2
    assert [round(float(value)) for value in reader.pages[0].mediabox] == [0, 0, 595, 842]
    assert "Bewerbungsbogen EWS 7" in reader.pages[0].extract_text()
    assert (reader.get_fields() or {})["runde"]["/V"] == "EWS 7"


def test_field_name_constants_cover_the_contract_once() -> None:
    assert len(FIELD_NAMES) == 27
    assert set(TEXT_FIELDS) | set(CHECKBOX_FIELDS) == set(FIELD_NAMES)
    assert not set(TEXT_FIELDS) & set(CHECKBOX_FIELDS)
    assert LABELS["team2_email"] == "Teammitglied 2 – E-Mail"
