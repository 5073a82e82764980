"""Recognising the returned Gemeinsame Erklärung in text (pure: mark_in_text, QR payloads and
their checksums, and which evidence files a return by itself)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from pydantic import SecretStr

from ews.core.form_contract import CHECKBOX_FIELDS, LABELS
from ews.core.models import DeclarationMark
from ews.documents.declaration_code import (
    PAYLOAD_PREFIX,
    QrPayload,
    checksum_matches,
    parse_payload,
    payload_checksum,
    qr_payload,
)
from ews.documents.declaration_text import mark_in_text
from ews.network.declarations import unproven_reason
from ews.runtime.settings import NetworkSettings, Settings
from tests.support.pdfgen import VALUES

KEY = b"ein-schluessel-nur-fuer-diesen-test"

TITLE = "Gemeinsame Erklärung zur Förderung des bürgerschaftlichen Engagements in NRW"
SUBTITLE = "Beitritt zum Kommunen-Netzwerk: engagiert in NRW"
FIELDS = (
    "Kommune: Stadt Hagen\n"
    "Amtlicher Gemeindeschlüssel: 05914000\n"
    "Aktenzeichen: 13.0.70-007/2027\n"
    "Name: Erik O. Schulz\n"
    "Funktion: Oberbürgermeister\n"
    "Ansprechperson für Engagement: Maria Beispiel\n"
)
PRINTED = (
    f"{TITLE}\n{SUBTITLE}\n{FIELDS}"
    "Ort, Datum: Hagen, 12.05.2027\n"
    "Unterschrift: ______________________\n"
)
HAGEN = DeclarationMark(
    az="13.0.70-007/2027", ags="05914000", method="text", signatory="Erik O. Schulz",
    function="Oberbürgermeister", signed_on=date(2027, 5, 12), place="Hagen",
)  # fmt: skip


_LABEL_OF = {"az": "Aktenzeichen", "ags": "Amtlicher Gemeindeschlüssel", "name": "Name",
             "function": "Funktion"}  # fmt: skip


def printed(*, heading: str = f"{TITLE}\n{SUBTITLE}", place_date: str = "Hagen, 12.05.2027",
            **lines: str) -> str:  # fmt: skip
    """The printed lines under ``heading``; ``lines`` replace a label's line (``name=``…)."""
    text = f"{heading}\n{FIELDS}Ort, Datum: {place_date}\nUnterschrift: ________\n"
    for key, line in lines.items():
        pattern = re.compile(rf"^{_LABEL_OF[key]}:.*$", flags=re.M)
        text = pattern.sub(line.replace("\\", "\\\\"), text, count=1)
    return text


def application_text(values: dict[str, str | bool]) -> str:
    """An application form "printed to PDF": every label with its value."""
    lines = ["Bewerbungsbogen EWS 6"]
    for name, label in LABELS.items():
        value = values.get(name)
        if name in CHECKBOX_FIELDS:
            lines.append(f"[{'x' if value else ' '}] {label}")
        elif name == "motivation":
            lines += [f"{label}:", str(value)]
        else:
            lines.append(f"{label}: {value or ''}")
    return "\n".join(lines)


# --- the QR payload -------------------------------------------------------------------------


def test_payload_carries_az_municipality_key_and_checksum() -> None:
    payload = qr_payload("13.0.70-007/2027", "05914000", KEY)

    prefix, az, ags, checksum = payload.split("|")
    assert (prefix, az, ags) == (PAYLOAD_PREFIX, "13.0.70-007/2027", "05914000")
    assert re.fullmatch(r"[A-Z2-7]{26}", checksum)  # 16 bytes of HMAC-SHA256, base32
    assert len(payload) <= 60  # fits a version 5 code at error correction Q


@pytest.mark.parametrize(
    ("az", "ags"),
    [("13.0.70-007/2027", "05914000"), ("13.0.70-123456/2031", "05958"), ("4-1/2027", "05111000")],
)
def test_payload_round_trips_for_municipalities_and_kreise(az: str, ags: str) -> None:
    parsed = parse_payload(qr_payload(az, ags, KEY))
    assert parsed is not None and (parsed.az, parsed.ags) == (az, ags)
    assert checksum_matches(az, ags, parsed.checksum, KEY)


def test_checksum_depends_on_key_az_and_municipality() -> None:
    checksum = payload_checksum("13.0.70-007/2027", "05914000", KEY)
    assert checksum_matches("13.0.70-007/2027", "05914000", checksum, KEY)
    assert not checksum_matches("13.0.70-007/2027", "05914000", checksum, b"anderer-schluessel")
    assert not checksum_matches("13.0.70-008/2027", "05914000", checksum, KEY)
    assert not checksum_matches("13.0.70-007/2027", "05958", checksum, KEY)
    assert not checksum_matches("13.0.70-007/2027", None, checksum, KEY)
    assert not checksum_matches("13.0.70-007/2027", "05914000", "", KEY)
    assert not checksum_matches("13.0.70-007/2027", "05914000", checksum, b"")


def test_codes_without_or_with_a_made_up_checksum_are_still_read_as_ours() -> None:
    """So that the register can tell an old code and a forged one from someone else's."""
    assert parse_payload("EWS-GE|13.0.70-007/2027|05914000") == QrPayload(
        "13.0.70-007/2027", "05914000", "")
    assert parse_payload("EWS-GE|13.0.70-007/2027|05914000|x") == QrPayload(
        "13.0.70-007/2027", "05914000", "x")


@pytest.mark.parametrize(
    "text",
    [
        "https://www.engagiert-in-nrw.de/netzwerk",
        "SPC\n0200\n1\nCH4431999123000889012\nS\nRobert Schneider AG",
        "BCD\n002\n1\nSCT\n\nStadt Hagen\nDE02300209000106531065\nEUR12.30",
        "EWS-GE|13.0.70-007/2027",
        "EWS-GE|13.0.70-007/2027|05914000|<script>",
        "EWS-GE|13.0.70-007/2027|05914000|" + "A" * 65,
        "EWS-GE|13.0.70-007/27|05914000",
        "EWS-GE|13.0.70-007/2027|0591400",
        "EWS-GE|13.0.70/2027|05914000",
        "EWS-GE|13.0.70-007/2027|05914000\n",
        " EWS-GE|13.0.70-007/2027|05914000",
        "ews-ge|13.0.70-007/2027|05914000",
        "EWS-AB|13.0.70-007/2027|05914000",
        "",
    ],
)
def test_other_codes_are_not_our_payload(text: str) -> None:
    assert parse_payload(text) is None


@pytest.mark.parametrize(("az", "ags"), [("13.0.70-007", "05914000"), ("13.0.70-007/2027", "x")])
def test_payload_refuses_a_malformed_az_or_key(az: str, ags: str) -> None:
    with pytest.raises(ValueError):
        qr_payload(az, ags, KEY)


def test_payload_needs_a_key() -> None:
    with pytest.raises(ValueError):
        qr_payload("13.0.70-007/2027", "05914000", b"")


# --- which evidence files a return by itself ----------------------------------------------


def _settings(key: str = KEY.decode(), *, accept_unsigned: bool = False) -> Settings:
    network = NetworkSettings(qr_key=SecretStr(key), accept_unsigned=accept_unsigned)
    return Settings(_env_file=None, network=network)  # type: ignore[call-arg]


def _mark(checksum: str | None, *, ags: str = "05914000", method: str = "qr") -> DeclarationMark:
    return DeclarationMark(az="13.0.70-007/2027", ags=ags, method=method,  # type: ignore[arg-type]
                           checksum=checksum)


def test_a_valid_checksum_files_the_return() -> None:
    checksum = payload_checksum("13.0.70-007/2027", "05914000", KEY)
    assert unproven_reason(_mark(checksum), _settings()) is None
    assert unproven_reason(_mark(checksum, method="text"), _settings()) is None


@pytest.mark.parametrize(("key", "ags"), [(b"geraten-nicht-der-schluessel", "05914000"),
                                          (KEY, "05958")])
def test_a_forged_or_altered_code_is_refused_as_such(key: bytes, ags: str) -> None:
    checksum = payload_checksum("13.0.70-007/2027", "05914000", key)
    reason = unproven_reason(_mark(checksum, ags=ags), _settings(accept_unsigned=True))
    assert reason is not None
    assert reason.startswith("Der QR-Code der Gemeinsamen Erklärung ist nicht gültig "
                             "(Prüfsumme stimmt nicht)")
    assert "ews netzwerk zuordnen" in reason


@pytest.mark.parametrize(("checksum", "method", "words"), [
    ("", "qr", "QR-Code ohne Prüfsumme"), (None, "text", "nur an ihrem Text erkannt"),
    (None, "ocr", "nur an ihrem Text erkannt")])
def test_unsigned_evidence_is_left_to_staff_unless_accepted(
        checksum: str | None, method: str, words: str) -> None:
    reason = unproven_reason(_mark(checksum, method=method), _settings())
    assert reason is not None and words in reason and "13.0.70-007/2027" in reason
    assert "von Hand" in reason
    accepted = _settings(accept_unsigned=True)
    assert unproven_reason(_mark(checksum, method=method), accepted) is None


def test_without_a_key_a_checksum_cannot_be_checked() -> None:
    checksum = payload_checksum("13.0.70-007/2027", "05914000", KEY)
    reason = unproven_reason(_mark(checksum), _settings(""))
    assert reason is not None and "EWS_NETWORK__QR_KEY" in reason


# --- the printed document -------------------------------------------------------------------


def test_printed_lines_give_every_value() -> None:
    assert mark_in_text(PRINTED) == HAGEN


def test_method_names_where_the_text_came_from() -> None:
    mark = mark_in_text(PRINTED, method="ocr")
    assert mark is not None
    assert mark.method == "ocr"


def test_libreoffice_text_layer_with_wrapped_title_and_prose_is_read() -> None:
    text = (
        "Gemeinsame Erklärung zur Förderung des \nbürgerschaftlichen Engagements in NRW\n"
        f"{SUBTITLE}\n\n"
        "Die Kommune Stadt Hagen tritt dem Kommunen-Netzwerk: engagiert in NRW bei und \n"
        "unterzeichnet die Gemeinsame Erklärung zur Förderung des bürgerschaftlichen \n"
        "Kriterien für die Mitgliedschaft im Netzwerk (zur Information)\n"
        "\uf0b7 eine kommunale Ansprechperson für Engagement\n"
        f"{FIELDS}\n"
        "Ort, Datum: ______________________\n\n\n"
        "Unterschrift: ______________________\n"
        "Bitte unterschreiben Sie die Erklärung und senden Sie sie eingescannt an …\n"
    )
    assert mark_in_text(text) == HAGEN.model_copy(update={"signed_on": None, "place": None})


@pytest.mark.parametrize(
    "heading",
    [
        TITLE.upper() + "\n" + SUBTITLE.upper(),
        TITLE.lower() + "\n" + SUBTITLE.lower(),
        "Gemeinsame  Erklarung  zur  Forderung  des  burgerschaftlichen  Engagements  in  NRW\n"
        "Beitritt  zum  Kommunen - Netzwerk :  engagiert  in  NRW",
        "Gemeinsame Erklärung zur Förde-\nrung des bürger-\nschaftlichen Engagements in NRW",
        "Gemeinsame Erklaerung zur Foerderung des buergerschaftlichen Engagements in NRW",
        "Gemeinsame Erkl\u0061\u0308rung zur Fo\u0308rderung des bu\u0308rgerschaftlichen "
        "Engagements in NRW",  # decomposed umlauts, as some PDF producers write them
        "Gernelnsame Erkl4rung zur F0rderung des bürgerschaftIichen Engagernents in NRW",
        "‚Beitritt zum Kommunen-Netzwerk: engagiert in NRW |",  # the title lost to the QR code
        "Gemeinsame Erklärung zur Förderung des bürgerschaftlichen Engagements in NRW ▪▪ ▫▪",
    ],
)
def test_heading_is_recognised_despite_ocr_noise(heading: str) -> None:
    mark = mark_in_text(printed(heading=heading))
    assert mark is not None
    assert (mark.az, mark.ags, mark.signatory) == ("13.0.70-007/2027", "05914000", "Erik O. Schulz")


@pytest.mark.parametrize(
    "heading",
    [
        "",
        "Gemeinsame Erklärung",
        "Beitritt zum Netzwerk",
        "Erklärung zur Förderung",
        "Gxmxinsxmx Erklxrxng zxr Fxrdxrxng dxs bxrgxrschxftlichxn Engagements in NRW",
    ],
)
def test_without_the_heading_the_lines_are_no_declaration(heading: str) -> None:
    assert mark_in_text(printed(heading=heading)) is None


@pytest.mark.parametrize(
    "line",
    [
        "Aktenzeichen: ______________________",
        "Aktenzeichen: 13.0.70-007",
        "Aktenzeichen: 007/2027",
        "Az.: 13.0.70-007/2027",
        "Unser Zeichen 13.0.70-007/2027",
    ],
)
def test_without_a_valid_aktenzeichen_line_it_is_no_declaration(line: str) -> None:
    assert mark_in_text(printed(az=line)) is None


@pytest.mark.parametrize(
    ("line", "az"),
    [
        ("Aktenzeichen: 13.0.70-007/2027", "13.0.70-007/2027"),
        ("Aktenzeichen:13.0.70-007/2027", "13.0.70-007/2027"),
        ("Aktenzeichen : 13.0.70 - 007 / 2027", "13.0.70-007/2027"),
        ("Aktenzeichen: 13.0.70–007/2027", "13.0.70-007/2027"),
        ("Aktenzeichen; 13.O.7O-0O7/2O27", "13.0.70-007/2027"),
        ("| Aktenzeichen: 13.0.70-007/2027 ‚", "13.0.70-007/2027"),
        ("AKTENZEICHEN: 4.10-12/2028", "4.10-12/2028"),
    ],
)
def test_aktenzeichen_is_read_through_ocr_confusions(line: str, az: str) -> None:
    mark = mark_in_text(printed(az=line))
    assert mark is not None
    assert mark.az == az


@pytest.mark.parametrize(
    ("line", "ags"),
    [
        ("Amtlicher Gemeindeschlüssel: 05914000", "05914000"),
        ("Amtlicher Gemeindeschlussel: 05 914 000", "05914000"),
        ("Amtlicher Gemeindeschlüssel: 0591400O", "05914000"),
        ("Amtlicher Gemeindeschlüssel: 05958", "05958"),
        ("Amtlicher Gemeindeschlüssel: 0591400", None),
        ("Amtlicher Gemeindeschlüssel: ______", None),
    ],
)
def test_municipality_key_has_five_or_eight_digits(line: str, ags: str | None) -> None:
    mark = mark_in_text(printed(ags=line))
    assert mark is not None
    assert mark.ags == ags


def test_deputy_who_signed_is_read_as_written() -> None:
    text = printed(name="Name: Dr. Anna-Lena Beispiel", function="Funktion: Erster Beigeordneter")
    mark = mark_in_text(text)
    assert mark is not None
    assert (mark.signatory, mark.function) == ("Dr. Anna-Lena Beispiel", "Erster Beigeordneter")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Name: ______________________", None),
        ("Name: ........................", None),
        ("Name:", None),
        ("Name: Erik ©. Schulz", "Erik O. Schulz"),
        ("Name:   Erik   O.  Schulz  _____", "Erik O. Schulz"),
        ("Name: Steﬀen Schmitz", "Steffen Schmitz"),
        ("Name: „Erik O. Schulz“", "Erik O. Schulz"),
    ],
)
def test_signatory_without_fill_in_lines(line: str, expected: str | None) -> None:
    mark = mark_in_text(printed(name=line))
    assert mark is not None
    assert mark.signatory == expected


@pytest.mark.parametrize(
    ("value", "place", "signed_on"),
    [
        ("Hagen, 12.05.2027", "Hagen", date(2027, 5, 12)),
        ("Hagen, den 12. Mai 2027", "Hagen", date(2027, 5, 12)),
        ("Hagen, 12.5.27", "Hagen", date(2027, 5, 12)),
        ("Hagen,12.05.2027", "Hagen", date(2027, 5, 12)),
        ("Hagen, den 1. März 2027", "Hagen", date(2027, 3, 1)),
        ("Hagen, den 1. Maerz 2027", "Hagen", date(2027, 3, 1)),
        ("Hagen, 3. Okt. 2027", "Hagen", date(2027, 10, 3)),
        ("Hagen, am 30.Juni 2027", "Hagen", date(2027, 6, 30)),
        ("Bad Berleburg, 02. 06. 2027", "Bad Berleburg", date(2027, 6, 2)),
        ("Hagen, 12.O5.2O27", "Hagen", date(2027, 5, 12)),
        ("12.05.2027", None, date(2027, 5, 12)),
        ("Hagen, 2027-05-12", "Hagen", date(2027, 5, 12)),
        ("Hagen, 31.02.2027", "Hagen, 31.02.2027", None),
        ("Hagen", "Hagen", None),
        ("Hagen, ______________", "Hagen", None),
        ("______________________", None, None),
        ("", None, None),
    ],
)
def test_place_and_date_in_german_notations(
    value: str, place: str | None, signed_on: date | None
) -> None:
    mark = mark_in_text(printed(place_date=value))
    assert mark is not None
    assert (mark.place, mark.signed_on) == (place, signed_on)


def test_handwritten_date_that_ocr_put_on_its_own_line_is_found() -> None:
    text = printed(place_date="______________________").replace(
        "Ort, Datum:", "Hagen, den 12. Mai 2027\nNo\nOrt, Datum:"
    )
    mark = mark_in_text(text)
    assert mark is not None
    assert (mark.place, mark.signed_on) == ("Hagen", date(2027, 5, 12))


def test_date_on_a_distant_line_is_not_taken_for_the_signature_date() -> None:
    text = printed(place_date="") + "\n\n\n\nStand der Vorlage: 01.02.2027\n"
    mark = mark_in_text(text)
    assert mark is not None
    assert mark.signed_on is None


# --- other documents ------------------------------------------------------------------------


def test_application_form_is_no_declaration() -> None:
    assert mark_in_text(application_text(VALUES)) is None


def test_application_quoting_the_declaration_and_its_az_is_no_declaration() -> None:
    motivation = (
        f"Wir haben 2026 die {TITLE} unterzeichnet.\n{SUBTITLE}\n"
        "Aktenzeichen: 13.0.70-003/2026\nName: Sebastian Wagemeyer"
    )
    assert mark_in_text(application_text(dict(VALUES, motivation=motivation))) is None


def test_az_in_prose_is_no_declaration() -> None:
    text = (
        f"{SUBTITLE}\n\nSehr geehrte Damen und Herren,\nvielen Dank für die unterzeichnete "
        f"{TITLE} (Kommune: Stadt Hagen, Aktenzeichen 13.0.70-007/2027).\n"
        "Unser Zeichen: 13.0.70-007/2027\n"
    )
    assert mark_in_text(text) is None


def test_empty_text_is_no_declaration() -> None:
    assert mark_in_text("") is None
    assert mark_in_text("\f\f") is None


def test_date_in_a_neighbouring_field_or_sentence_is_not_the_signature_date() -> None:
    text = printed(place_date="").replace(
        "Unterschrift: ________",
        "Unterschrift: geprüft 01.06.2027\nBitte senden Sie die Erklärung bis zum 30.06.2027 "
        "an das Programmbüro zurück.",
    )
    mark = mark_in_text(text)
    assert mark is not None
    assert mark.signed_on is None


# --- text from outside cannot make the reading slow -----------------------------------------


@pytest.mark.parametrize("padding", [
    "Ort, Datum:{spaces}Hagen{spaces}, den{spaces}12.{spaces}Mai{spaces}2027",
    "Ort{spaces}Datum:{spaces}x",
    "Ort, Datum: 1{spaces}!",
    "Ort, Datum: Hagen{spaces}x 12.05.2027",
])
def test_long_runs_of_spaces_are_read_in_linear_time(padding: str) -> None:
    """A layout text layer pads lines with spaces; patterns with two stars side by side
    (``\\s*\\.?\\s*``) took minutes for a line like these (quadratic backtracking)."""
    import time

    text = f"{TITLE}\nAktenzeichen: 13.0.70-007/2027\n" + padding.format(spaces=" " * 30_000)
    started = time.perf_counter()
    mark = mark_in_text(text)
    assert time.perf_counter() - started < 10  # quadratic: over a minute
    assert mark is not None and mark.az == "13.0.70-007/2027"


def test_place_keeps_its_name_and_drops_den_or_am() -> None:
    assert mark_in_text(printed(place_date="Hagen, den 12. Mai 2027")) == HAGEN
    assert mark_in_text(printed(place_date="Minden,   12.05.2027")) == HAGEN.model_copy(
        update={"place": "Minden"})
    assert mark_in_text(printed(place_date="Hagen am 12.05.2027")) == HAGEN
