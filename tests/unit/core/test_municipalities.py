import pytest

from ews.core.models import Municipality, MunicipalityKind
from ews.core.municipalities import (
    _candidates,
    _fold,
    all_municipalities,
    by_key,
    identify,
)


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


def _scanned(core: str) -> list[Municipality]:
    """The lookup as it was before the index: every name folded anew and compared."""
    return [m for m in all_municipalities()
            if core in (_fold(m.short_name), _fold(m.name), _fold(m.letter_name))]


def test_the_name_index_finds_what_folding_every_name_found() -> None:
    names = {name for m in all_municipalities()
             for name in (m.short_name, m.name, m.letter_name)}
    # every name as written and in the ways people vary it; and near misses
    written = [variant for name in sorted(names)
               for variant in (name, name.upper(), f"  {name}. ", name.replace("ß", "ss"),
                               name.replace("-", "‐"), name + "x", name[:-1])]
    for text in written:
        core = _fold(text)
        assert _candidates(core) == _scanned(core), text
    assert _candidates(_fold("Olpe")) == _scanned(_fold("Olpe"))  # the Kreis and its town
    assert len(_candidates(_fold("Olpe"))) == 2
