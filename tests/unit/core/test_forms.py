from datetime import date

import pytest

from ews.core.forms import assess_fields, normalise_round, parse_german_date, recipient_for
from ews.core.models import RawFields


def valid_fields(**changes: str | bool | None) -> RawFields:
    fields: RawFields = {
        "runde": "EWS 6",
        "kommune_name": "Stadt Bergkamen",
        "kommune_typ": "Stadt",
        "ags": "05978004",
        "regierungsbezirk": "Arnsberg",
        "einwohnerzahl": "48.725",
        "strasse": "Rathausplatz 1",
        "plz": "59192",
        "ort": "Bergkamen",
        "hvb_anrede": "Herr",
        "hvb_name": "Bernd Schäfer",
        "hvb_funktion": "Bürgermeister",
        "team1_name": "Jana Öztürk",
        "team1_funktion": "Engagementbeauftragte",
        "team1_email": "j.oeztuerk@bergkamen.de",
        "team1_telefon": "02307 965-0",
        "team2_name": "Peter Groß",
        "team2_funktion": "Sozialamt",
        "team2_email": "p.gross@bergkamen.de",
        "team2_telefon": None,
        "motivation": "Wir möchten Engagement\nstrategisch fördern.",
        "strukturen": None,
        "ehrenamtskarte": True,
        "freistellung": True,
        "datenschutz": True,
        "ort_datum": "Bergkamen, 26.02.2024",
        "unterzeichner": "Bernd Schäfer",
    }
    fields.update(changes)
    return fields


def test_complete_form_becomes_an_application() -> None:
    assessment = assess_fields(valid_fields(), round_name="EWS 6")
    assert assessment.reasons == []
    app = assessment.application
    assert app is not None
    assert app.municipality.ags == "05978004"
    assert app.einwohnerzahl == 48725
    assert app.signed_on == date(2024, 2, 26)
    assert [m.email for m in app.team] == ["j.oeztuerk@bergkamen.de", "p.gross@bergkamen.de"]


def test_each_problem_is_a_german_reason_naming_the_printed_label() -> None:
    fields = valid_fields(
        team1_email="j.oeztuerk@", motivation=None, datenschutz=False, plz="80331"
    )
    reasons = assess_fields(fields, round_name="EWS 6").reasons
    assert "Das Pflichtfeld „Motivation“ ist nicht ausgefüllt." in reasons
    assert "Das Feld „Einwilligung Datenschutz“ muss angekreuzt sein." in reasons
    assert any("„Teammitglied 1 – E-Mail“" in r and "keine gültige" in r for r in reasons)
    assert any("„PLZ“" in r and "80331" in r for r in reasons)
    assert len(reasons) == 4


def test_form_of_another_round_is_refused() -> None:
    reasons = assess_fields(valid_fields(runde="EWS 5"), round_name="EWS 6").reasons
    assert reasons == ["Das Feld „Runde“ nennt „EWS 5“; ausgeschrieben ist die Runde „EWS 6“."]


def test_round_written_without_space_is_the_same_round() -> None:
    assert normalise_round("ews6") == "EWS 6"
    assert assess_fields(valid_fields(runde="EWS-6"), round_name="EWS 6").reasons == []


def test_unknown_municipality_is_invalid_but_still_addressable() -> None:
    assessment = assess_fields(
        valid_fields(kommune_name="Stadt München", ags=None), round_name="EWS 6"
    )
    assert any("„Name der Kommune“" in r and "nicht gefunden" in r for r in assessment.reasons)
    assert assessment.recipient is not None
    assert assessment.recipient.lines[0] == "Stadt München"


def test_kreis_olpe_with_stadt_key_is_a_contradiction() -> None:
    fields = valid_fields(kommune_name="Kreis Olpe", kommune_typ="Kreis", ags="05966024")
    reasons = assess_fields(fields, round_name="EWS 6").reasons
    assert any("gehört zu Stadt Olpe" in r for r in reasons)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Bergkamen, 01.03.2024", date(2024, 3, 1)),
        ("1.3.2024", date(2024, 3, 1)),
        ("Olpe, den 1.3.24", date(2024, 3, 1)),
        ("01.03.24", date(2024, 3, 1)),
        ("2024-03-01", date(2024, 3, 1)),
        ("Bonn, 1. März 2024", date(2024, 3, 1)),
        ("Bonn, im März", None),
    ],
)
def test_german_date_styles_are_understood(written: str, expected: date | None) -> None:
    assert parse_german_date(written) == expected


def test_salutation_uses_function_and_surname_or_neutral_form() -> None:
    assert (
        recipient_for(valid_fields(), None).salutation
        == "Sehr geehrter Herr Bürgermeister Schäfer,"
    )
    female = valid_fields(hvb_anrede="Frau", hvb_name="Dr. Anna Berg", hvb_funktion="Landrätin")
    assert recipient_for(female, None).salutation == "Sehr geehrte Frau Landrätin Berg,"
    assert (
        recipient_for(valid_fields(hvb_anrede=None), None).salutation
        == "Sehr geehrte Damen und Herren,"
    )


def test_address_block_has_at_most_six_lines() -> None:
    recipient = recipient_for(valid_fields(), None)
    assert recipient.lines == [
        "Stadt Bergkamen",
        "Herrn Bürgermeister",
        "Bernd Schäfer",
        "Rathausplatz 1",
        "59192 Bergkamen",
    ]


@pytest.mark.parametrize("written", ["²", "1" * 5000, "١٢٣٤٥٦٧٨٩٠١٢٣"])
def test_population_that_is_no_plausible_number_is_a_reason_not_a_crash(written: str) -> None:
    assessment = assess_fields(valid_fields(einwohnerzahl=written), round_name="EWS 6")

    assert assessment.application is None
    assert any("Einwohnerzahl" in reason and "ganze Zahl" in reason
               for reason in assessment.reasons)
