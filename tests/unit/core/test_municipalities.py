import pytest

from ews.core.models import MunicipalityKind
from ews.core.municipalities import all_municipalities, by_key, identify


def test_register_has_all_427_nrw_bodies() -> None:
    rows = all_municipalities()
    assert len(rows) == 427
    assert sum(m.kind is MunicipalityKind.KREIS for m in rows) == 31


@pytest.mark.parametrize(
    ("written", "ags"),
    [
        ("Stadt Hagen", "05914000"),
        ("Bundesstadt Bonn", "05314000"),
        ("Kreis Olpe", "05966"),
        ("Stadt Olpe", "05966024"),
        ("Gemeinde Finnentrop", "05966012"),
        ("Kolpingstadt Kerpen", "05362032"),
        ("Rhein-Sieg-Kreis", "05382"),
        ("Rhein-Kreis Neuss", "05162"),
        ("Städteregion Aachen", "05334"),
        ("Stadt Aachen", "05334002"),
        ("Hochsauerlandkreis", "05958"),
        ("Landeshauptstadt Düsseldorf", "05111000"),
        ("Hagen, Stadt der FernUniversität", "05914000"),
        ("  stadt   MÜLHEIM AN DER RUHR ", "05117000"),
    ],
)
def test_municipality_is_found_by_name_as_people_write_it(written: str, ags: str) -> None:
    match = identify(ags=None, name=written)
    assert match.municipality is not None, match.reason
    assert match.municipality.ags == ags


def test_kreis_and_seat_town_are_told_apart_by_type_or_town() -> None:
    assert identify(ags=None, name="Olpe").municipality is None
    assert identify(ags=None, name="Olpe", kind_hint="Kreis").municipality.ags == "05966"
    assert identify(ags=None, name="Olpe", kind_hint="Stadt").municipality.ags == "05966024"


def test_padded_kreis_key_means_the_kreis_but_a_real_city_key_stays_the_city() -> None:
    assert by_key("05966000").municipality.ags == "05966"
    assert by_key("05111000").municipality.ags == "05111000"


def test_key_and_name_that_contradict_each_other_give_a_german_reason() -> None:
    match = identify(ags="05966024", name="Kreis Olpe")
    assert match.municipality is None
    assert "gehört zu Stadt Olpe" in match.reason


def test_key_outside_nrw_and_unknown_names_are_refused_in_german() -> None:
    assert "nicht zu Nordrhein-Westfalen" in by_key("09162000").reason
    assert "nicht gefunden" in identify(ags=None, name="Stadt München").reason
    assert "kein Gemeindeschlüssel" in by_key("abc").reason
