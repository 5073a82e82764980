"""letter_context: German dates, Berlin times, salutation and reference as the letter shows them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from ews.core.models import LetterKind, Recipient
from ews.letters.context import LetterData, letter_context
from ews.runtime.settings import OfficeSettings

OFFICE = OfficeSettings()
RECIPIENT = Recipient(
    lines=["Stadt Hagen", "Der Oberbürgermeister", "Rathausstraße 11", "58095 Hagen"],
    salutation="Sehr geehrter Herr Oberbürgermeister Schulz,",
)


def make_data(**changes: object) -> LetterData:
    values: dict[str, object] = {
        "kind": LetterKind.EINGANGSBESTAETIGUNG,
        "recipient": RECIPIENT,
        "reference": "13.0.70-007/2024",
        "letter_date": date(2024, 3, 4),
        "round_name": "EWS 5",
        "kommune_name": "Stadt Hagen",
        "received_at": datetime(2024, 3, 1, 13, 3, tzinfo=UTC),
        "deadline_day": date(2024, 3, 1),
        "source_name": "Bewerbung Hagen.pdf",
    }
    values.update(changes)
    return LetterData.model_validate(values)


def test_receipt_in_winter_is_shown_in_central_european_time() -> None:
    context = letter_context(make_data(), OFFICE)

    assert context["eingang_datum"] == "Freitag, 1. März 2024"
    assert context["eingang_uhrzeit"] == "14:03 Uhr"


def test_receipt_in_summer_is_shown_in_central_european_summer_time() -> None:
    context = letter_context(make_data(received_at=datetime(2024, 7, 1, 12, 3, tzinfo=UTC)), OFFICE)

    assert context["eingang_datum"] == "Montag, 1. Juli 2024"
    assert context["eingang_uhrzeit"] == "14:03 Uhr"


def test_receipt_late_in_utc_evening_falls_on_next_berlin_day() -> None:
    context = letter_context(
        make_data(received_at=datetime(2024, 3, 1, 23, 30, tzinfo=UTC)), OFFICE
    )

    assert context["eingang_datum"] == "Samstag, 2. März 2024"
    assert context["eingang_uhrzeit"] == "00:30 Uhr"


def test_deadline_ends_at_midnight_with_weekday_and_german_month() -> None:
    context = letter_context(make_data(deadline_day=date(2024, 12, 2)), OFFICE)

    assert context["frist"] == "Montag, 2. Dezember 2024, 24:00 Uhr"
    assert context["frist_datum"] == "Montag, 2. Dezember 2024"


def test_letter_date_is_numeric_with_leading_zeros() -> None:
    assert letter_context(make_data(), OFFICE)["briefdatum"] == "04.03.2024"


def test_salutation_and_address_come_from_the_recipient() -> None:
    context = letter_context(make_data(), OFFICE)

    assert context["anrede"] == "Sehr geehrter Herr Oberbürgermeister Schulz,"
    assert context["anschrift"] == (
        "Stadt Hagen\nDer Oberbürgermeister\nRathausstraße 11\n58095 Hagen"
    )


def test_reference_is_used_as_given_whether_az_or_eingangsnummer() -> None:
    assert letter_context(make_data(), OFFICE)["unser_zeichen"] == "13.0.70-007/2024"
    eingang = make_data(kind=LetterKind.MAENGELSCHREIBEN, reference="Eingang 000042")
    assert letter_context(eingang, OFFICE)["unser_zeichen"] == "Eingang 000042"


def test_missing_replaced_reference_is_empty_so_the_paragraph_is_left_out() -> None:
    assert letter_context(make_data(), OFFICE)["ersetzt_zeichen"] == ""
    replacing = make_data(replaces_reference="13.0.70-003/2024")
    assert letter_context(replacing, OFFICE)["ersetzt_zeichen"] == "13.0.70-003/2024"


def test_office_settings_fill_sender_and_signature() -> None:
    office = OfficeSettings(signer_name="Dr. Erika Muster", phone="0202 123-4")
    context = letter_context(make_data(), office)

    assert context["unterzeichner_name"] == "Dr. Erika Muster"
    assert context["absender_telefon"] == "0202 123-4"
    assert context["absender_register"] == office.register_note


def test_summary_values_keep_line_breaks_and_lose_xml_illegal_characters() -> None:
    data = make_data(summary=[("Motivation", "Erste Zeile\r\nZweite\x00 Zeile\x0c\tEnde")])

    assert letter_context(data, OFFICE)["angaben"] == [
        {"bezeichnung": "Motivation", "wert": "Erste Zeile\nZweite Zeile\tEnde"}
    ]


def test_blank_address_lines_are_dropped() -> None:
    recipient = Recipient(
        lines=["Gemeinde Nottuln", "", "Stiftsplatz 7", "48301 Nottuln"],
        salutation="Sehr geehrte Damen und Herren,",
    )
    context = letter_context(make_data(recipient=recipient), OFFICE)

    assert context["anschrift"] == "Gemeinde Nottuln\nStiftsplatz 7\n48301 Nottuln"


def test_address_with_more_than_six_lines_is_rejected() -> None:
    recipient = Recipient(lines=[f"Zeile {n}" for n in range(7)], salutation="Hallo,")

    with pytest.raises(ValidationError, match="1 bis 6 Zeilen"):
        make_data(recipient=recipient)


def test_receipt_time_without_time_zone_is_rejected() -> None:
    with pytest.raises(ValidationError):
        make_data(received_at=datetime(2024, 3, 1, 14, 3))


def test_letter_data_survives_a_json_round_trip() -> None:
    data = make_data(summary=[("PLZ", "58095")], reasons=["Das Feld „PLZ“ fehlt."])

    assert LetterData.model_validate(data.model_dump(mode="json")) == data
