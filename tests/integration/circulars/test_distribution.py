"""Distribution lists over the real register and real contact files: who is on each list,
which addresses and salutation each municipality gets, where the contact file fills in, and
the German problems staff read for a file row or a municipality without an address."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy.orm import Session

from ews.circulars.contacts import Contact, read_contacts
from ews.circulars.distribution import LIST_KINDS, Addressee, ListSpec, addressees
from ews.core.errors import DistributionError
from ews.core.municipalities import all_municipalities, by_key
from ews.network import roster as network
from ews.register import cases as register
from ews.register.database import migrate, session_factory
from ews.register.schema import ApplicationRow
from ews.runtime.settings import AzSettings, Settings
from ews.selection import decisions as selection
from tests.conftest import make_settings

NOW = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)

# as Excel saves "CSV (Trennzeichen-getrennt)": semicolons, Windows-1252, leading zeros lost
CONTACTS_CSV = """\
Schlüssel;Name der Kommune;Anrede;Name;Funktion;E-Mail;Rolle
5966;Kreis Olpe;Herr;Theo Melcher;Landrat;landrat@kreis-olpe.de;HVB
5966012;Finnentrop;;Karin Vogt;Ehrenamtsbüro;k.vogt@finnentrop.de, INFO@finnentrop.de;Ansprechperson
5914000;Hagen;Frau;Erika Muster;Oberbürgermeisterin;info@@hagen;hvb
;Stadt Lennestadt;Frau;Sabine Ohm;Bürgermeisterin;buergermeisterin@lennestadt.de;HVB
5966008;Drolshagen;Frau;Maria Müller;Ehrenamt;m.mueller@drolshagen.de;Ansprechperson
;Atlantis;;;;info@atlantis.de;
5966012;Gemeinde Finnentrop;;Doppelt;;doppelt@finnentrop.de;
;Olpe;;;;info@olpe.de;
"""


def form(*, anrede: str | None, hvb: str, funktion: str, team1: str, email1: str,
         email2: str = "") -> dict[str, object]:
    return {"hvb_anrede": anrede, "hvb_name": hvb, "hvb_funktion": funktion,
            "team1_name": team1, "team1_email": email1, "team2_name": "Zweites Mitglied",
            "team2_email": email2 or None}


def add_application(session: Session, round_name: str, ags: str, written_name: str,
                    fields: dict[str, object], *, status: str = "registered",
                    minutes: int = 0) -> str:
    item = register.open_input(session, claim_path=f"/c/{round_name}/{ags}/{minutes}",
                               source_name=f"{ags}.pdf", sha256=f"{ags}{minutes}".zfill(64),
                               size=1, received_at=NOW - timedelta(days=20, minutes=-minutes))
    session.flush()
    az, serial = register.issue_az(session, 2027, AzSettings())
    row, _ = register.add_application(session, ApplicationRow(
        az=az, az_year=2027, az_serial=serial, round_name=round_name, ags=ags,
        kommune_name=written_name, status=status, received_at=item.received_at,
        deadline_last_day="2027-03-01", fields=fields, input_id=item.id))
    return row.az


def decide(settings: Settings, az: str, decision: str, **options: object) -> None:
    with session_factory(settings.db_url).begin() as session:
        selection.decide(session, az, decision, seats=17, actor="frau.meier", now=NOW,
                         **options)  # type: ignore[arg-type]


def join_network(settings: Settings, ags: str, person: str, email: str) -> None:
    municipality = by_key(ags).municipality
    assert municipality is not None
    with session_factory(settings.db_url).begin() as session:
        network.update_member(session, municipality, actor="frau.meier", now=NOW, changes={
            "joined_on": date(2026, 5, 4), "contact_person": person, "contact_email": email})


@pytest.fixture
def office(tmp_path: Path) -> Settings:
    """EWS 6: Hagen and Kreis Olpe accepted, Attendorn withdrawn, Finnentrop moved up,
    Troisdorf late, Düsseldorf applied twice; EWS 5: Drolshagen accepted; three members."""
    settings = make_settings(tmp_path)
    migrate(settings.db_url)
    with session_factory(settings.db_url).begin() as session:
        azs = {
            "hagen": add_application(session, "EWS 6", "05914000", "Hagen", form(
                anrede="Frau", hvb="Dr. Erika Muster", funktion="Oberbürgermeisterin",
                team1="Jonas Weber", email1="Jonas.Weber@Hagen.DE",
                email2="anna.klein@hagen.de")),
            "olpe": add_application(session, "EWS 6", "05966", "Kreis Olpe", form(
                anrede="Herr", hvb="Theo Melcher", funktion="Landrat", team1="Nina Roth",
                email1="team@kreis-olpe.de", email2="Team@Kreis-Olpe.de")),
            "attendorn": add_application(session, "EWS 6", "05966004", "Attendorn", form(
                anrede="Herr", hvb="Christian Pospischil", funktion="Bürgermeister",
                team1="Eva Sommer", email1="e.sommer@attendorn.de")),
            "finnentrop": add_application(session, "EWS 6", "05966012", "Finnentrop", form(
                anrede=None, hvb="Achim Henkel", funktion="Bürgermeister", team1="Lena Koch",
                email1="lena.koch(at)finnentrop.de")),
            "drolshagen": add_application(session, "EWS 5", "05966008", "Drolshagen", form(
                anrede="Herr", hvb="Uli Berghof", funktion="Bürgermeister", team1="Paul Stein",
                email1="p.stein@drolshagen.de")),
        }
        add_application(session, "EWS 6", "05382068", "Troisdorf", form(
            anrede="Herr", hvb="Alexander Biber", funktion="Bürgermeister", team1="Ute Kern",
            email1="engagement@troisdorf.de"), status="late")
        add_application(session, "EWS 6", "05111000", "Düsseldorf", form(
            anrede="Herr", hvb="Stephan Keller", funktion="Oberbürgermeister", team1="Alt",
            email1="alt@duesseldorf.de"))
        add_application(session, "EWS 6", "05111000", "Düsseldorf", form(
            anrede="Herr", hvb="Stephan Keller", funktion="Oberbürgermeister", team1="Neu",
            email1="neu@duesseldorf.de"), minutes=30)  # replaces the first one
        add_application(session, "EWS 6", "05111000", "Düsseldorf", form(
            anrede="Herr", hvb="Stephan Keller", funktion="Oberbürgermeister", team1="Älter",
            email1="aelter@duesseldorf.de"), minutes=-30)  # read later, received earlier
    for name in ("hagen", "olpe", "attendorn"):
        decide(settings, azs[name], "angenommen")
    decide(settings, azs["finnentrop"], "warteliste", rank=1)
    decide(settings, azs["attendorn"], "zurueckgezogen")  # Finnentrop moves up
    decide(settings, azs["drolshagen"], "angenommen")
    join_network(settings, "05914000", "Frau Petra Lange", "netzwerk@hagen.de")
    join_network(settings, "05966020", "Kai Brandt", "")
    join_network(settings, "05966024", "Jan Peters", "jan.peters(at)olpe.de")
    join_network(settings, "05966004", "", "")
    return settings


@pytest.fixture
def contacts(tmp_path: Path) -> dict[str, Contact]:
    path = tmp_path / "kontakte.csv"
    path.write_bytes(CONTACTS_CSV.replace("\n", "\r\n").encode("cp1252"))
    found, _ = read_contacts(path)
    return found


def listed(settings: Settings, spec: str, contacts: dict[str, Contact],
           address_to: str = "ansprechperson") -> dict[str, Addressee]:
    with session_factory(settings.db_url).begin() as session:
        found = addressees(session, ListSpec.parse(spec, "EWS 6"), contacts,
                           address_to=address_to)
    return {a.kommune: a for a in found}


# -- ListSpec ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("written", "canonical"), [
    ("netzwerk", "netzwerk"), ("Netzwerk", "netzwerk"), (" Kommunen-Netzwerk ", "netzwerk"),
    ("teilnehmende", "teilnehmende:EWS 6"), ("Teilnehmende", "teilnehmende:EWS 6"),
    ("teilnehmende:EWS 5", "teilnehmende:EWS 5"), (" Bewerbende : ews5 ", "bewerbende:EWS 5"),
    ("bewerbende EWS 5", "bewerbende:EWS 5"), ("ALLE", "alle"),
    ("ohne-bewerbung", "ohne-bewerbung:EWS 6"), ("Ohne Bewerbung", "ohne-bewerbung:EWS 6"),
    ("ohne_bewerbung:EWS-4", "ohne-bewerbung:EWS 4"), ("Teilnehmer", "teilnehmende:EWS 6"),
])
def test_list_spec_is_read_in_tolerant_spellings_with_the_default_round(
        written: str, canonical: str) -> None:
    spec = ListSpec.parse(written, "EWS 6")
    assert str(spec) == canonical
    assert ListSpec.parse(str(spec), "EWS 9") == spec  # the canonical form reads back


def test_list_spec_gives_german_label_and_a_short_address_block() -> None:
    assert ListSpec.parse("teilnehmende", "EWS 6").label() == \
        "Teilnehmende Kommunen der Runde EWS 6"
    assert ListSpec.parse("netzwerk", "EWS 6").address_block() == \
        "An die Mitglieder des\nKommunen-Netzwerks: engagiert in NRW"
    for kind in LIST_KINDS:
        block = ListSpec.parse(kind, "EWS 6").address_block()
        assert len(block.splitlines()) <= 4 and "{" not in block
        assert all(len(line) <= 40 for line in block.splitlines())


def test_unknown_list_is_refused_with_the_valid_kinds_in_german() -> None:
    with pytest.raises(DistributionError) as refused:
        ListSpec.parse("Presseverteiler", "EWS 6")
    message = str(refused.value)
    assert message.startswith("Unbekannter Verteiler „Presseverteiler“. Möglich sind:")
    assert all(f"„{kind}“" in message for kind in LIST_KINDS)
    with pytest.raises(DistributionError, match="fehlt die Runde"):
        ListSpec.parse("bewerbende", "")
    with pytest.raises(DistributionError, match="gilt nicht für eine Runde"):
        ListSpec.parse("alle:EWS 6", "EWS 6")


# -- the contact file --------------------------------------------------------------------------

def test_contact_file_saved_by_excel_as_csv_is_read_with_its_problems(tmp_path: Path) -> None:
    path = tmp_path / "kontakte.csv"
    path.write_bytes(CONTACTS_CSV.replace("\n", "\r\n").encode("cp1252"))

    contacts, problems = read_contacts(path)

    assert sorted(contacts) == ["05914000", "05966", "05966008", "05966012", "05966020"]
    assert contacts["05966"] == Contact(
        ags="05966", kommune="Kreis Olpe", anrede="Herr", name="Theo Melcher",
        funktion="Landrat", emails=("landrat@kreis-olpe.de",), invalid=(), role="hvb")
    assert contacts["05966012"].emails == ("k.vogt@finnentrop.de", "info@finnentrop.de")
    assert contacts["05966012"].name == "Karin Vogt"  # the first row, not the duplicate
    assert contacts["05966020"].kommune == "Stadt Lennestadt"  # found by name, no key
    assert contacts["05914000"].invalid == ("info@@hagen",)
    assert contacts["05914000"].funktion == "Oberbürgermeisterin"
    assert problems[:3] == [
        "Zeile 4: „info@@hagen“ ist keine gültige E-Mail-Adresse.",
        "Zeile 7: Die Kommune „Atlantis“ wurde im Verzeichnis der NRW-Kommunen nicht gefunden.",
        "Zeile 8: Gemeinde Finnentrop steht schon in Zeile 3; diese Zeile wird nicht verwendet.",
    ]
    assert problems[3].startswith("Zeile 9: „Olpe“ ist nicht eindeutig")
    assert len(problems) == 4


def test_contact_file_as_utf8_csv_with_commas_reads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "kontakte.csv"
    path.write_text("\ufeffAGS,Kommune,Name,E-Mail\n05966,,Jürgen Weiß,landrat@kreis-olpe.de\n"
                    "05966008,Stadt Drolshagen,,\"a@drolshagen.de; b@drolshagen.de\"\n",
                    encoding="utf-8")
    contacts, problems = read_contacts(path)
    assert problems == []
    assert contacts["05966"].name == "Jürgen Weiß"
    assert contacts["05966008"].emails == ("a@drolshagen.de", "b@drolshagen.de")
    assert contacts["05966"].role == "ansprechperson" and contacts["05966"].anrede is None


def test_contact_file_in_excel_with_numeric_keys(office: Settings, tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Bemerkung", "Gemeindeschlüssel", "Kommune", "Anrede", "Name", "Funktion",
                  "Email", "Rolle"])
    sheet.append(["", 5914000, "Stadt Hagen", "Frau", "Erika Muster", "Oberbürgermeisterin",
                  "ob@hagen.de\nbuero.ob@hagen.de", "HVB"])
    sheet.append(["neu", 5966, None, "Dr.", "Theo Melcher", "Landrat", "landrat@kreis-olpe.de",
                  "Sachbearbeitung"])
    sheet.append([None] * 8)
    sheet.append(["", 5914000.0, "Hagen", None, "Noch einmal", None, "x@hagen.de", None])
    sheet.append(["", "0511", "Düsseldorf", None, None, None, "info@duesseldorf.de", None])
    path = tmp_path / "kontakte.xlsx"
    workbook.save(path)

    contacts, problems = read_contacts(path)

    assert sorted(contacts) == ["05914000", "05966"]
    assert contacts["05914000"].emails == ("ob@hagen.de", "buero.ob@hagen.de")
    assert contacts["05966"].anrede is None and contacts["05966"].role == "ansprechperson"
    assert problems == [
        "Zeile 3: Die Anrede „Dr.“ ist weder „Frau“ noch „Herr“; die Anrede bleibt neutral.",
        "Zeile 3: Die Rolle „Sachbearbeitung“ ist unbekannt (möglich: HVB, Ansprechperson); "
        "gelesen als Ansprechperson.",
        "Zeile 5: Stadt Hagen steht schon in Zeile 2; diese Zeile wird nicht verwendet.",
        "Zeile 6: „0511“ ist kein Gemeindeschlüssel (8 Ziffern, bei Kreisen 5 Ziffern).",
    ]
    everyone = listed(office, "alle", contacts, address_to="hvb")
    assert everyone["Stadt Hagen"].emails == ("ob@hagen.de", "buero.ob@hagen.de")
    assert everyone["Stadt Hagen"].salutation == "Sehr geehrte Frau Oberbürgermeisterin Muster"
    assert everyone["Kreis Olpe"].salutation == "Guten Tag Theo Melcher"


def test_missing_contact_file_is_empty_and_a_broken_one_is_refused(tmp_path: Path) -> None:
    assert read_contacts(tmp_path / "kontakte.csv") == ({}, [])
    broken = tmp_path / "kontakte.xlsx"
    broken.write_bytes(b"PK\x03\x04 kein Excel")
    with pytest.raises(DistributionError, match="keine lesbare Excel-Datei"):
        read_contacts(broken)
    no_mail = tmp_path / "ohne.csv"
    no_mail.write_text("Kommune;Name\nHagen;Erika Muster\n", encoding="utf-8")
    with pytest.raises(DistributionError, match="Spalte „E-Mail“"):
        read_contacts(no_mail)


# -- the lists ---------------------------------------------------------------------------------

def test_participants_are_the_accepted_and_moved_up_not_the_withdrawn(
        office: Settings, contacts: dict[str, Contact]) -> None:
    found = listed(office, "teilnehmende", contacts)

    assert list(found) == ["Gemeinde Finnentrop", "Kreis Olpe", "Stadt Hagen"]
    assert found["Stadt Hagen"] == Addressee(
        ags="05914000", kommune="Stadt Hagen",
        emails=("Jonas.Weber@hagen.de", "anna.klein@hagen.de"),
        salutation="Guten Tag Jonas Weber", source="Bewerbung EWS 6", problem=None)
    assert found["Kreis Olpe"].emails == ("team@kreis-olpe.de",)  # repeated in other case
    # the form's addresses are unusable: the contact file fills in, its person is greeted
    assert found["Gemeinde Finnentrop"] == Addressee(
        ags="05966012", kommune="Gemeinde Finnentrop",
        emails=("k.vogt@finnentrop.de", "info@finnentrop.de"),
        salutation="Guten Tag Karin Vogt", source="Kontaktdatei", problem=None)
    assert list(listed(office, "teilnehmende:EWS 5", contacts)) == ["Stadt Drolshagen"]


def test_addressed_to_the_hvb_adds_the_hvb_address_of_the_contact_file(
        office: Settings, contacts: dict[str, Contact]) -> None:
    found = listed(office, "teilnehmende", contacts, address_to="hvb")

    assert found["Kreis Olpe"].emails == ("team@kreis-olpe.de", "landrat@kreis-olpe.de")
    assert found["Kreis Olpe"].salutation == "Sehr geehrter Herr Landrat Melcher"
    assert found["Kreis Olpe"].source == "Bewerbung EWS 6 und Kontaktdatei"
    # the file's HVB address is invalid: only the form's addresses
    assert found["Stadt Hagen"].emails == ("Jonas.Weber@hagen.de", "anna.klein@hagen.de")
    assert found["Stadt Hagen"].salutation == "Sehr geehrte Frau Oberbürgermeisterin Muster"
    assert found["Stadt Hagen"].source == "Bewerbung EWS 6"
    # addressed to the contact person, the file's HVB address is not added
    assert listed(office, "teilnehmende", contacts)["Kreis Olpe"].source == "Bewerbung EWS 6"


def test_applicants_are_every_current_application_late_ones_too(
        office: Settings, contacts: dict[str, Contact]) -> None:
    found = listed(office, "bewerbende", contacts)

    assert list(found) == ["Gemeinde Finnentrop", "Hansestadt Attendorn", "Kreis Olpe",
                           "Stadt Düsseldorf", "Stadt Hagen", "Stadt Troisdorf"]
    assert found["Stadt Düsseldorf"].emails == ("neu@duesseldorf.de",)  # not the replaced one
    assert found["Stadt Troisdorf"].salutation == "Guten Tag Ute Kern"
    assert listed(office, "bewerbende:EWS 7", contacts) == {}


def test_all_municipalities_come_from_the_contact_file_and_report_missing_addresses(
        office: Settings, contacts: dict[str, Contact]) -> None:
    found = listed(office, "alle", contacts)

    assert len(found) == len(all_municipalities()) == 427
    assert found["Kreis Olpe"] == Addressee(
        ags="05966", kommune="Kreis Olpe", emails=("landrat@kreis-olpe.de",),
        salutation="Sehr geehrter Herr Landrat Melcher", source="Kontaktdatei", problem=None)
    assert found["Stadt Drolshagen"].salutation == "Sehr geehrte Frau Müller"
    assert found["Stadt Hagen"] == Addressee(
        ags="05914000", kommune="Stadt Hagen", emails=(),
        salutation="Sehr geehrte Frau Oberbürgermeisterin Muster", source="Kontaktdatei",
        problem="Keine gültige E-Mail-Adresse bekannt (Kontaktdatei: „info@@hagen“ ist keine "
                "gültige Adresse).")
    assert found["Stadt Düsseldorf"] == Addressee(
        ags="05111000", kommune="Stadt Düsseldorf", emails=(),
        salutation="Sehr geehrte Damen und Herren", source="Kontaktdatei",
        problem="Keine gültige E-Mail-Adresse bekannt (nicht in der Kontaktdatei).")


def test_without_application_is_everyone_minus_the_current_applicants(
        office: Settings, contacts: dict[str, Contact]) -> None:
    found = listed(office, "ohne-bewerbung", contacts)

    assert len(found) == 427 - 6
    applicants = set(listed(office, "bewerbende", contacts))
    assert not applicants & set(found)
    assert "Stadt Drolshagen" in found  # applied in EWS 5 only
    assert found["Stadt Drolshagen"].emails == ("m.mueller@drolshagen.de",)
    assert len(listed(office, "ohne-bewerbung:EWS 5", contacts)) == 426


def test_network_members_with_contact_file_filling_in_and_problems(
        office: Settings, contacts: dict[str, Contact]) -> None:
    found = listed(office, "netzwerk", contacts)

    assert list(found) == ["Hansestadt Attendorn", "Stadt Hagen", "Stadt Lennestadt",
                           "Stadt Olpe"]
    assert found["Stadt Hagen"] == Addressee(
        ags="05914000", kommune="Stadt Hagen", emails=("netzwerk@hagen.de",),
        salutation="Sehr geehrte Frau Lange", source="Netzwerkliste", problem=None)
    # no address in the roster: the contact file's HVB gets the mail and the greeting
    assert found["Stadt Lennestadt"] == Addressee(
        ags="05966020", kommune="Stadt Lennestadt",
        emails=("buergermeisterin@lennestadt.de",),
        salutation="Sehr geehrte Frau Bürgermeisterin Ohm", source="Kontaktdatei",
        problem=None)
    assert found["Stadt Olpe"] == Addressee(
        ags="05966024", kommune="Stadt Olpe", emails=(), salutation="Guten Tag Jan Peters",
        source="Netzwerkliste",
        problem="Keine gültige E-Mail-Adresse bekannt (Netzwerkliste: „jan.peters(at)olpe.de“"
                " ist keine gültige Adresse; nicht in der Kontaktdatei).")
    assert found["Hansestadt Attendorn"].problem == (
        "Keine gültige E-Mail-Adresse bekannt (Netzwerkliste: keine Adresse eingetragen; "
        "nicht in der Kontaktdatei).")
    assert found["Hansestadt Attendorn"].salutation == "Sehr geehrte Damen und Herren"


def test_unknown_addressee_role_is_refused(office: Settings) -> None:
    with pytest.raises(DistributionError, match="Empfängerrolle „Presse“"):
        listed(office, "netzwerk", {}, address_to="Presse")
    assert listed(office, "netzwerk", {}, address_to="HVB")["Stadt Hagen"].emails == (
        "netzwerk@hagen.de",)
