"""Properties of the text-layer reader: any text, however hostile, yields every contract field
in bounded time and raises nothing (the functions document no errors)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ews.core.form_contract import CHECKBOX_FIELDS, FIELD_NAMES, LABELS
from ews.documents.text_layer import checkbox_label_start, fields_from_text, unmarked_checkboxes

# a shared 2-core CI: few but varied examples, each with a time budget
BOUNDED = settings(max_examples=150, deadline=2000,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_WHITESPACE = " \t\n\r\f\v\x1c\x1d\x1e\x1f\x85\u00a0\u2028\u2029\u3000"
_PIECES = st.sampled_from([
    *LABELS.values(), ":", ";", "[x]", "[ ]", "☐", "☒", "✓", "ja", "nein", "–", "-", "—", "_____",
    "Seite 1 von 2", "- 2 -", "ﬁ", "\u00ad", "ß", "ss", "|", "1", "0", "\x00", "\x7f", "\ufeff",
])
_FLOODS = st.builds(lambda char, count: char * count, st.sampled_from(list(_WHITESPACE + "-_.:[")),
                    st.integers(min_value=1, max_value=20_000))
_TEXT = st.lists(st.one_of(_PIECES, _FLOODS, st.text(max_size=40)), max_size=30).map("".join)


@BOUNDED
@given(st.one_of(st.text(), _TEXT))
def test_any_text_yields_every_field_and_nothing_else(text: str) -> None:
    fields = fields_from_text(text)

    assert tuple(fields) == FIELD_NAMES
    for name, value in fields.items():
        if name in CHECKBOX_FIELDS:
            assert isinstance(value, bool)
        else:
            assert value is None or (isinstance(value, str) and value.strip())


@BOUNDED
@given(st.one_of(st.text(), _TEXT))
def test_unmarked_checkboxes_are_checkbox_fields(text: str) -> None:
    assert unmarked_checkboxes(text) <= set(CHECKBOX_FIELDS)


@BOUNDED
@given(st.one_of(st.text(), _TEXT))
def test_checkbox_label_start_lies_within_the_line(text: str) -> None:
    start = checkbox_label_start(text)

    assert start is None or 0 <= start <= 4 * len(text)  # a tab counts as four spaces


@BOUNDED
@given(_FLOODS, st.sampled_from(list(LABELS.values())), _FLOODS)
def test_a_label_between_floods_is_read_in_time(before: str, label: str, after: str) -> None:
    fields_from_text(before + label + after + ": Wert\n" + after)
