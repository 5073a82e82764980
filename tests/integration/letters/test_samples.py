"""Sample and demo applications: readable, valid where meant to be, varied, reproducible."""

from __future__ import annotations

import io
from collections import Counter
from functools import cache

import pytest
from pypdf import PdfReader

from ews.core.errors import NotAPdf
from ews.core.forms import assess_fields
from ews.core.models import FormReading, ReadMethod
from ews.documents.pdf import read_form
from ews.letters.samples import demo_inbox_files, sample_applications

ROUND = "EWS 6"


@cache
def samples() -> tuple[tuple[str, bytes], ...]:
    return tuple(sample_applications(40, seed=0, round_name=ROUND))


@cache
def readings() -> tuple[FormReading, ...]:
    return tuple(read_form(data) for _name, data in samples())


def test_every_sample_is_read_as_a_valid_application_of_a_real_municipality() -> None:
    for (name, _data), reading in zip(samples(), readings(), strict=True):
        assessment = assess_fields(reading.fields, round_name=ROUND)
        assert assessment.reasons == [], name
        assert assessment.municipality is not None, name
        assert reading.method in (ReadMethod.ACROFORM, ReadMethod.TEXT)


def test_samples_come_from_distinct_municipalities_of_every_kind() -> None:
    names = [reading.fields["kommune_name"] for reading in readings()]
    assert len(set(names)) == len(names)
    kinds = Counter(reading.fields["kommune_typ"] for reading in readings())
    assert set(kinds) == {"Stadt", "Gemeinde", "Kreis", "kreisfreie Stadt"}


def test_samples_vary_in_format_checkbox_export_names_and_file_names() -> None:
    methods = Counter(reading.method for reading in readings())
    assert methods[ReadMethod.ACROFORM] > methods[ReadMethod.TEXT] > 0
    states = {_consent_state(data) for _name, data in samples()} - {None}
    assert len(states) >= 3
    file_names = [name for name, _data in samples()]
    assert len(set(file_names)) == len(file_names)
    assert all(name.endswith(".pdf") for name in file_names)
    assert len({name.split(" ")[0].split("_")[0] for name in file_names}) >= 4


def test_samples_carry_umlauts_line_breaks_and_german_dates() -> None:
    fields = [reading.fields for reading in readings()]
    assert any("ü" in str(f["hvb_name"]) + str(f["team1_name"]) for f in fields)
    assert all("\n" in str(f["motivation"]) for f in fields)
    dates = [str(f["ort_datum"]).split(", ")[-1] for f in fields]
    assert any("-" in day for day in dates) and any("." in day for day in dates)


def _consent_state(data: bytes) -> str | None:
    fields = PdfReader(io.BytesIO(data)).get_fields()
    return str(fields["datenschutz"]["/V"]) if fields else None


def test_samples_are_reproducible_for_a_seed() -> None:
    again = sample_applications(40, seed=0, round_name=ROUND)
    assert tuple(again) == samples()
    assert sample_applications(5, seed=1) != list(samples()[:5])


def test_samples_carry_the_round_asked_for() -> None:
    (_name, data), = sample_applications(1, seed=4, round_name="EWS 7")  # fmt: skip
    assert read_form(data).fields["runde"] == "EWS 7"


# --- the demo inbox ------------------------------------------------------------------------


@cache
def demo() -> dict[str, bytes]:
    return dict(demo_inbox_files(ROUND))


def test_demo_inbox_is_reproducible() -> None:
    assert demo_inbox_files(ROUND) == list(demo().items())


def test_demo_inbox_has_eight_valid_applications_first() -> None:
    names = list(demo())[:8]
    for name in names:
        reading = read_form(demo()[name])
        assert assess_fields(reading.fields, round_name=ROUND).is_valid, name
    assert "Bewerbung EWS6 Stadt Brühl.pdf" in names


def test_demo_inbox_has_a_text_only_application_that_is_valid() -> None:
    reading = read_form(demo()["scan_0012.pdf"])
    assert reading.method == ReadMethod.TEXT
    assert assess_fields(reading.fields, round_name=ROUND).is_valid


@pytest.mark.parametrize(
    ("file_name", "field", "value"),
    [
        ("Bewerbungsbogen_ausgefüllt (2).pdf", "hvb_name", None),
        ("Bewerbungsbogen_ausgefüllt (2).pdf", "team2_email", "m.schulz(at)luedenscheid.de"),
        ("EWS-Bewerbung_Stadt_Warendorf.pdf", "datenschutz", False),
        ("Bewerbung Stadt Osnabrück.pdf", "plz", "49074"),
    ],
)
def test_demo_problems_are_invalid_for_the_reason_they_were_made(
    file_name: str, field: str, value: object
) -> None:
    reading = read_form(demo()[file_name])
    assert reading.fields[field] == value
    assert not assess_fields(reading.fields, round_name=ROUND).is_valid


def test_demo_word_document_named_pdf_is_not_a_pdf() -> None:
    with pytest.raises(NotAPdf) as rejected:
        read_form(demo()["Bewerbung Stadt Kamen.pdf"])
    assert "Word-Dokument" in rejected.value.reasons[0]


def test_demo_has_a_byte_identical_copy_and_a_later_second_application() -> None:
    files = list(demo().items())
    assert demo()["WG Bewerbung.pdf"] == files[0][1]
    name, data = files[-1]
    assert "Kreis Olpe" in name
    assert read_form(data).fields["kommune_name"] == "Kreis Olpe"
    assert data != demo()["Bewerbung EWS6 Kreis Olpe.pdf"]
