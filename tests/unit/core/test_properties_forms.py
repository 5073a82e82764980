"""Properties of form validation: any field values, however large or odd, give an Assessment
with German reasons or an Application, in bounded time (``assess_fields`` documents no errors)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ews.core.form_contract import CHECKBOX_FIELDS, FIELD_NAMES
from ews.core.forms import assess_fields, normalise_round, parse_german_date, parse_population

BOUNDED = settings(max_examples=150, deadline=2000,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_HUGE = st.builds(lambda piece, count: piece * count,
                  st.sampled_from([" ", "a", "1", "1.", "ews ", "@", "x@y.", "ä", "\x00", "–"]),
                  st.integers(min_value=1, max_value=100_000))
_VALUE = st.one_of(st.none(), st.booleans(), st.text(max_size=200), _HUGE,
                   st.sampled_from(["EWS 6", "ews-6", "Stadt", "Gemeinde", "58095", "Hagen",
                                    "1. März 2027", "01.03.27", "2027-03-01", "a@b.de",
                                    "Kreis Olpe", "05 9 74 028", "Herr", "Frau", "Köln"]))
_FIELDS = st.dictionaries(st.sampled_from(FIELD_NAMES), _VALUE)


@BOUNDED
@given(_FIELDS)
def test_any_fields_give_an_application_or_reasons(fields: dict[str, str | bool | None]) -> None:
    assessment = assess_fields(fields, round_name="EWS 6")

    assert (assessment.application is None) == bool(assessment.reasons) or (
        assessment.municipality is None and assessment.application is None)
    assert all(isinstance(reason, str) and reason for reason in assessment.reasons)


@pytest.mark.slow
@BOUNDED
@given(st.dictionaries(st.sampled_from(FIELD_NAMES), _HUGE, min_size=len(FIELD_NAMES)))
def test_every_field_huge_is_assessed_in_time(fields: dict[str, str]) -> None:
    for name in CHECKBOX_FIELDS:
        fields[name] = "ja"
    assert assess_fields(fields, round_name="EWS 6").application is None


@BOUNDED
@given(st.one_of(st.text(), _HUGE))
def test_text_parsers_never_raise(text: str) -> None:
    normalise_round(text)
    parse_german_date(text)
    parse_population(text)
