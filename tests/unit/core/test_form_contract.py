"""The form contract's constants agree with each other (the field kinds partition the fields)."""

from __future__ import annotations

from ews.core.form_contract import (
    CHECKBOX_FIELDS,
    CHOICE_OPTIONS,
    FIELD_NAMES,
    LABELS,
    MULTILINE_FIELDS,
    TEXT_FIELDS,
)


def test_text_and_checkbox_fields_partition_the_fields_in_form_order() -> None:
    assert set(TEXT_FIELDS).isdisjoint(CHECKBOX_FIELDS)
    assert set(TEXT_FIELDS) | set(CHECKBOX_FIELDS) == set(FIELD_NAMES)
    assert FIELD_NAMES == tuple(LABELS)
    assert FIELD_NAMES[0] == "runde" and FIELD_NAMES[-1] == "unterzeichner"
    assert len(FIELD_NAMES) == 27


def test_multiline_and_choice_fields_are_text_fields() -> None:
    assert set(MULTILINE_FIELDS) == {"motivation", "strukturen"}
    assert set(CHOICE_OPTIONS) == {"kommune_typ", "regierungsbezirk", "hvb_anrede"}
    assert set(MULTILINE_FIELDS) | set(CHOICE_OPTIONS) <= set(TEXT_FIELDS)


def test_every_choice_starts_with_the_empty_option() -> None:
    for options in CHOICE_OPTIONS.values():
        assert options[0] == ""
        assert len(set(options)) == len(options)
    assert CHOICE_OPTIONS["kommune_typ"][1:] == ("Stadt", "Gemeinde", "Kreis", "kreisfreie Stadt")


def test_printed_labels_are_the_spec_labels() -> None:
    assert LABELS["kommune_name"] == "Name der Kommune"
    assert LABELS["strasse"] == "Straße und Hausnummer"
    assert LABELS["team2_email"] == "Teammitglied 2 – E-Mail"
    assert LABELS["strukturen"] == "Vorhandene Strukturen der Engagementförderung"
    assert len(set(LABELS.values())) == len(LABELS)
