import pytest
from hypothesis import given
from hypothesis import strategies as st

from ews.core.references import (
    az_of_folder,
    az_of_mail,
    first_lines,
    looks_like_az_folder,
    references_in,
    the_reference,
)

KEY = "13.0.70"
AZ = "13.0.70-004/2026"


def refs(text: str) -> list[str]:
    return references_in(text, KEY, 3)


@pytest.mark.parametrize("subject", [
    "AW: Ihre Bewerbung, Az. 13.0.70-004/2026",
    "WG: Ihre Bewerbung, Az. 13.0.70-004/2026",
    "RE: Az. 13.0.70-004/2026",
    "Fwd: Aktenzeichen: 13.0.70-004/2026",
    "Antw: Rückfrage zu Az.13.0.70-4/2026",
    "AW: AW: 13.0.70 – 004/2026 Freistellung",
    "13.0.70\u2014004 / 2026",
    "Az.\u00a013.0.70\u00a0-\u00a0004/2026",
    "Az. 13 .0.70-0004/2026",
])
def test_spellings_of_one_az_are_normalised(subject: str) -> None:
    assert refs(subject) == [AZ]


@pytest.mark.parametrize("text", [
    "Telefon 0202 13.0.70", "113.0.70-004/2026", "13.0.70-004/20261", "13.0.700-004/2026",
    "13.0.70-000/2026", "Bewerbung 2026", "23.0.70-004/2026",
])
def test_what_is_not_our_az(text: str) -> None:
    assert refs(text) == []


@given(serial=st.integers(1, 999), year=st.integers(2000, 2099),
       dash=st.sampled_from(["-", "\u2013", "\u2014", "\u2011", "\u2212"]),
       before=st.sampled_from(["", " ", "  ", "\u00a0", "\u202f"]),
       after=st.sampled_from(["", " ", "\u00a0 "]),
       pad=st.booleans(), prefix=st.sampled_from(["", "AW: ", "WG: ", "RE: ", "Fwd: ",
                                                   "Antw: ", "Az. ", "Aktenzeichen: "]))
def test_any_spelling_gives_the_register_form(serial: int, year: int, dash: str, before: str,
                                              after: str, pad: bool, prefix: str) -> None:
    written = f"{serial:03d}" if pad else str(serial)
    text = f"{prefix}13.0.70{before}{dash}{after}{written}{before}/{after}{year} – Frage"
    assert refs(text) == [f"13.0.70-{serial:03d}/{year}"]


@given(st.text(max_size=200))
def test_never_raises_and_finds_only_well_formed_ones(text: str) -> None:
    for az in refs(text):
        assert az.startswith("13.0.70-") and len(az.split("/")[1]) == 4


def test_serial_digits_of_the_register_are_used() -> None:
    assert references_in("13.0.70-7/2026", KEY, 5) == ["13.0.70-00007/2026"]


def test_quoted_original_is_not_read() -> None:
    body = ("Sehr geehrte Damen und Herren,\nanbei die Freistellung.\n\n"
            "-----Ursprüngliche Nachricht-----\nVon: ews@example.org\n"
            "Betreff: Zusage Az. 13.0.70-009/2026\n")
    assert az_of_mail("AW: Zusage", body, KEY, 3) == []
    quoted = "Danke!\n\nAm 01.12.2026 um 10:00 schrieb EWS <ews@example.org>:\n> Az. " \
             "13.0.70-009/2026\n"
    assert az_of_mail("Danke", quoted, KEY, 3) == []
    assert "Danke!" in first_lines(quoted)


def test_az_in_own_text_counts_and_subject_comes_first() -> None:
    body = "> 13.0.70-001/2026 zitiert\nUnser Az. 13.0.70-002/2026\n"
    assert az_of_mail("Frage zu 13.0.70-003/2026", body, KEY, 3) == [
        "13.0.70-003/2026", "13.0.70-002/2026"]


def test_only_the_first_lines_are_read() -> None:
    body = "\n".join(["Zeile"] * 30 + ["13.0.70-002/2026"])
    assert az_of_mail("Hallo", body, KEY, 3) == []


@pytest.mark.parametrize("name", ["13.0.70-004-2026", "13.0.70-004_2026", "13.0.70 – 4 – 2026",
                                  "Az 13.0.70-004_2026", "13.0.70-004/2026"])
def test_folder_names(name: str) -> None:
    assert az_of_folder(name, KEY, 3) == AZ


def test_folder_names_that_are_no_one_az() -> None:
    assert az_of_folder("Scans", KEY, 3) is None
    assert az_of_folder("13.0.70-004-2026 und 13.0.70-005-2026", KEY, 3) is None
    assert looks_like_az_folder("13.0.70-xyz", KEY)
    assert looks_like_az_folder("Az. 13.0.70-4", KEY)
    assert not looks_like_az_folder("Scans 2026", KEY)


@pytest.mark.parametrize("written", [
    "13.0.70-004/2026", " 13.0.70-004/2026 ", "13.0.70 – 004/2026", "13.0.70—004/2026",
    "13.0.70\u2212004/2026", "Az. 13.0.70-004/2026", "Aktenzeichen: 13.0.70 - 004 / 2026",
    "az 13.0.70\u2011004/2026", "13.0.70\uff0d004/2026", "13.0.70\ufe58004/2026",
])
def test_an_az_as_staff_type_it_has_the_register_spelling(written: str) -> None:
    assert the_reference(written, KEY, 3) == AZ


def test_text_naming_no_or_two_az_has_no_reference() -> None:
    assert the_reference("Stadt Beispiel", KEY, 3) is None
    assert the_reference("13.0.70-004/2026 und 13.0.70-005/2026", KEY, 3) is None
