"""The retention file (defaults, German errors), when a case is due, and how a person is
matched: pure rules without the register."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ews.core.errors import ConfigurationError
from ews.register.schema import ApplicationRow, DecisionRow, EventRow, NetworkMember
from ews.retention.config import Retention, read_retention
from ews.retention.deletion import case_rule
from ews.retention.matching import Person
from ews.retention.network import scrub_former_contacts

NOTICE = datetime(2027, 4, 15, 10, 0, tzinfo=UTC)


def app(round_name: str = "EWS 6") -> ApplicationRow:
    return ApplicationRow(id=1, az="13.0.70-001/2027", round_name=round_name, ags="05911000",
                          kommune_name="Stadt Bochum", fields={"team1_name": "X"})


def decision(value: str) -> DecisionRow:
    return DecisionRow(application_id=1, decision=value, decided_at=NOTICE)


def test_a_missing_file_gives_the_defaults(tmp_path: Path) -> None:
    retention = read_retention(tmp_path / "fehlt.toml")
    assert retention == Retention()
    assert (retention.nicht_ausgewaehlt.monate, retention.teilnahme.jahre) == (6, 5)


def test_the_example_file_is_valid() -> None:
    example = Path(__file__).resolve().parents[3] / "config" / "aufbewahrung.toml.example"
    assert read_retention(example) == Retention()


@pytest.mark.parametrize(("text", "message"), [
    ("[nicht_ausgewaehlt]\nmonate = \"sechs\"\n", "„nicht_ausgewaehlt.monate“: eine ganze Zahl"),
    ("[teilnahme]\njahre = 0\n", "„teilnahme.jahre“: die Zahl ist zu klein"),
    ("[quarantaene]\nwochen = 3\n", "unbekannter Eintrag"),
    ("[verwendungsnachweis]\n\"EWS 5\" = \"bald\"\n", "ein Datum wie 2027-06-30"),
    ("[teilnahme\n", "keine gültige TOML-Datei"),
])
def test_a_broken_file_is_reported_in_german(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "aufbewahrung.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=message):
        read_retention(path)


def test_not_selected_is_due_six_months_after_the_notice() -> None:
    rule, until, why = case_rule(app(), decision("abgelehnt"), NOTICE, Retention(),
                                 ("EWS 6", None))
    assert rule == "nicht-ausgewaehlt" and until is not None
    assert until.date() == date(2027, 10, 16) and "bis 15.10.2027" in why  # 24:00 of 15.10.


def test_no_notice_no_period() -> None:
    assert case_rule(app(), None, None, Retention(), ("EWS 6", None))[1] is None


def test_participants_wait_for_the_proof_of_use_date() -> None:
    rule, until, why = case_rule(app("EWS 5"), decision("angenommen"), NOTICE, Retention(),
                                 ("EWS 6", date(2030, 1, 1)))
    assert until is None and "Verwendungsnachweis" in why
    retention = Retention(verwendungsnachweis={"EWS 5": date(2028, 6, 30)})
    _, until, _ = case_rule(app("EWS 5"), decision("angenommen"), NOTICE, retention,
                            ("EWS 6", None))
    assert until is not None and until.date() == date(2033, 7, 1)
    _, until, _ = case_rule(app(), decision("angenommen"), NOTICE, Retention(),
                            ("EWS 6", date(2029, 3, 31)))  # the open round's setting
    assert until is not None and until.date() == date(2034, 4, 1)


@pytest.mark.parametrize("stored", ["Dörte Überall-Nußbaum", "DOERTE UEBERALL-NUSSBAUM",
                                    "dorte uberall-nussbaum", "Frau Dörte  Überall-Nußbaum",
                                    "Do\u0308rte U\u0308berall-Nußbaum"])
def test_names_match_without_case_and_accents(stored: str) -> None:
    assert Person("dörte überall-nußbaum").matches(stored)


def test_addresses_match_normalised_and_not_by_part() -> None:
    person = Person("Doerte.Ueberall@Bochum.de")
    assert person.matches("Dörte <doerte.ueberall@bochum.de>")
    assert person.matches(["x@y.de", "DOERTE.UEBERALL@BOCHUM.DE"])
    assert not person.matches("anna.ueberall@bochum.de")
    assert not Person("Anna Schmidt").matches("Anna Schmitt")


def test_a_former_contact_is_cleared_from_the_change_log() -> None:
    member = NetworkMember(id=1, ags="05911000", contact_person="Neu", contact_email="neu@x.de")
    event = EventRow(id=7, action="netzwerk", subject="05911000", detail={
        "vorher": {"ansprechperson": "Alt", "email": "alt@x.de", "kommune": "Stadt Bochum"},
        "nachher": {"ansprechperson": "Neu", "email": "neu@x.de", "kommune": "Stadt Bochum"}})
    removal = scrub_former_contacts([event], {"05911000": member})
    assert event.detail["vorher"] == {"ansprechperson": "", "email": "", "kommune": "Stadt Bochum"}
    assert event.detail["nachher"]["ansprechperson"] == "Neu"
    assert removal.ids == {"ereignisse": [7]}
    assert not scrub_former_contacts([event], {"05911000": member})  # nothing left
