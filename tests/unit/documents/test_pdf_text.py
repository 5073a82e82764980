"""The label parser: form values from text layers and OCR output."""

from __future__ import annotations

import pytest

from ews.core.form_contract import FIELD_NAMES
from ews.documents.text_layer import checkbox_label_start, fields_from_text, unmarked_checkboxes


def test_every_contract_field_is_returned_even_when_absent() -> None:
    fields = fields_from_text("Name der Kommune: Gemeinde Finnentrop")
    assert tuple(fields) == FIELD_NAMES
    assert fields["kommune_name"] == "Gemeinde Finnentrop"
    assert fields["ort"] is None
    assert fields["datenschutz"] is False


def test_longest_label_wins_between_ort_and_ort_datum() -> None:
    fields = fields_from_text("Ort: Hagen\nOrt, Datum: Hagen, 1. März 2027")
    assert fields["ort"] == "Hagen"
    assert fields["ort_datum"] == "Hagen, 1. März 2027"


def test_name_labels_are_not_confused() -> None:
    fields = fields_from_text("Name Verwaltungsspitze: Erika Groß\nName der Kommune: Kreis Olpe")
    assert fields["hvb_name"] == "Erika Groß"
    assert fields["kommune_name"] == "Kreis Olpe"


@pytest.mark.parametrize(
    "label",
    [
        "Teammitglied 1 – E-Mail",
        "Teammitglied 1 - E-Mail",
        "Teammitglied 1 — E-Mail",
        "Teammitglied 1 -E-Mail",
        "Teammitglied 1–E-Mail",
        "TEAMMITGLIED 1 – E-MAIL",
        "Teammitglied  1  –  E - Mail",
        "Teammitglied 1 E-Mail",
    ],
)
def test_team_labels_tolerate_dashes_spacing_and_case(label: str) -> None:
    fields = fields_from_text(f"{label}: a.b@olpe.de")
    assert fields["team1_email"] == "a.b@olpe.de"
    assert fields["team2_email"] is None


@pytest.mark.parametrize(
    ("line", "name", "value"),
    [
        ("Teammitglied l – E-Mai|: x@hagen.de", "team1_email", "x@hagen.de"),
        ("StraBe und Hausnummer: Rathausstraße 11", "strasse", "Rathausstraße 11"),
        ("Strasse und Hausnummer: Markt 1", "strasse", "Markt 1"),
        ("Amtlicher Gemeindeschlussel: 05966012", "ags", "05966012"),
        ("| Name der Kommune; Stadt Hagen |", "kommune_name", "Stadt Hagen"),
        ("Einwohnerzahl: [27.456 |", "einwohnerzahl", "27.456"),
        ("Unterzeichnet von:    Dr. Anna Müller", "unterzeichner", "Dr. Anna Müller"),
    ],
)
def test_typical_ocr_noise_is_tolerated(line: str, name: str, value: str) -> None:
    assert fields_from_text(line)[name] == value


def test_label_and_value_separated_by_layout_spaces_without_colon() -> None:
    fields = fields_from_text("PLZ          57462\nOrt          Olpe")
    assert (fields["plz"], fields["ort"]) == ("57462", "Olpe")


def test_several_labels_on_one_line_are_split() -> None:
    fields = fields_from_text("PLZ: 58507   Ort: Lüdenscheid")
    assert (fields["plz"], fields["ort"]) == ("58507", "Lüdenscheid")


def test_multiline_value_runs_until_the_next_label() -> None:
    text = (
        "Motivation:\nWir möchten\n\n  das Engagement stärken.\n"
        "Vorhandene Strukturen der Engagementförderung: Freiwilligenagentur\nSeniorenbüro\n"
        "[x] Teilnahme Ehrenamtskarte NRW\nNach dem Haken: kein Wert"
    )
    fields = fields_from_text(text)
    assert fields["motivation"] == "Wir möchten\ndas Engagement stärken."
    assert fields["strukturen"] == "Freiwilligenagentur\nSeniorenbüro"
    assert fields["ehrenamtskarte"] is True


def test_page_footers_and_printed_headings_do_not_enter_a_value() -> None:
    text = (
        "Motivation: Erste Seite\nBewerbungsbogen EWS 6 · Seite 1 von 2\nSeite 1 von 2\n"
        "5. Erklärungen\nzweite Seite\f- 2 -\nOrt, Datum: Olpe, 01.03.27"
    )
    fields = fields_from_text(text)
    assert fields["motivation"] == "Erste Seite\nzweite Seite"


def test_a_label_word_inside_a_sentence_stays_part_of_the_motivation() -> None:
    text = "Motivation:\nIn unserem Ort: viele Vereine.\nIm Ort: mehr Ehrenamt"
    fields = fields_from_text(text)
    assert fields["motivation"] == "In unserem Ort: viele Vereine.\nIm Ort: mehr Ehrenamt"
    assert fields["ort"] is None


def test_single_line_values_do_not_swallow_the_next_line() -> None:
    fields = fields_from_text("Teammitglied 2 – Telefon:\nAnlage 1: Konzept")
    assert fields["team2_telefon"] is None


@pytest.mark.parametrize(
    ("line", "checked"),
    [
        ("[x] Einwilligung Datenschutz", True),
        ("[X] Einwilligung Datenschutz", True),
        ("[ x ] Einwilligung Datenschutz", True),
        ("☒ Einwilligung Datenschutz", True),
        ("☑ Einwilligung Datenschutz", True),
        ("✔ Einwilligung Datenschutz", True),
        ("x] Einwilligung Datenschutz", True),
        ("[ ] Einwilligung Datenschutz", False),
        ("[] Einwilligung Datenschutz", False),
        ("☐ Einwilligung Datenschutz", False),
        ("|_] Einwilligung Datenschutz", False),
        ("Einwilligung Datenschutz", False),
        ("Einwilligung Datenschutz [x]", True),
        ("Einwilligung Datenschutz: ☒", True),
        ("Einwilligung Datenschutz [ ]", False),
        ("Einwilligung Datenschutz: ja", True),
        ("Einwilligung Datenschutz: Ja, erteilt", True),
        ("Einwilligung Datenschutz: nein", False),
        ("Einwilligung Datenschutz: X", True),
        ("Keine Einwilligung Datenschutz", False),
    ],
)
def test_checkbox_marks_before_or_after_the_label(line: str, checked: bool) -> None:
    assert fields_from_text(line)["datenschutz"] is checked


def test_fill_in_lines_are_no_value() -> None:
    fields = fields_from_text("Unterzeichnet von: ____________\nRegierungsbezirk: .........")
    assert fields["unterzeichner"] is None
    assert fields["regierungsbezirk"] is None


def test_first_value_of_a_repeated_label_counts() -> None:
    fields = fields_from_text("Runde: EWS 6\nRunde:\nRunde: EWS 5")
    assert fields["runde"] == "EWS 6"


def test_decomposed_umlauts_and_ligatures_are_normalised() -> None:
    text = "Name der Kommune: Stadt Lu\u0308denscheid\nTeammitglied 1 – Funktion: Of\ufb01ce"
    fields = fields_from_text(text)
    assert fields["kommune_name"] == "Stadt Lüdenscheid"
    assert fields["team1_funktion"] == "Office"


def test_checkbox_label_start_points_at_the_label() -> None:
    line = "[x] Freistellung des Teams bestätigt"
    assert checkbox_label_start(line) == line.index("Freistellung")
    assert checkbox_label_start("Name der Kommune: Stadt Hagen") is None
    assert checkbox_label_start("irgendein Text") is None


def test_checkbox_labels_without_any_mark_are_reported_as_unmarked() -> None:
    text = (
        "Teilnahme Ehrenamtskarte NRW\n[ ] Freistellung des Teams bestätigt\n"
        "Einwilligung Datenschutz: ja"
    )
    assert unmarked_checkboxes(text) == {"ehrenamtskarte"}
    assert fields_from_text(text)["ehrenamtskarte"] is False
