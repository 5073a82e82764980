"""The NRW municipality register (Destatis GV100AD, bundled CSV): lookup by key, name, PLZ/Ort.

Pure apart from reading the bundled data file once. Source: © Statistisches Bundesamt
(Destatis), 2023, Datenlizenz Deutschland – Namensnennung 2.0.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from ews.core.models import Municipality, MunicipalityKind

# Words people put before a municipality's name; "Kreis" is handled separately because
# it is the one prefix that changes which body is meant (Kreis Olpe vs Stadt Olpe).
_TOWN_PREFIXES = (
    "kreisfreie stadt", "große kreisstadt", "grosse kreisstadt", "mittlere kreisstadt",
    "landeshauptstadt", "bundesstadt", "hansestadt", "kolpingstadt", "klingenstadt",
    "universitätsstadt",
    "stadt", "gemeinde",
)
_KREIS_WORDS = ("kreis", "landkreis", "städteregion", "staedteregion")


@dataclass(frozen=True)
class MunicipalityMatch:
    """A lookup result: the municipality, or None with a German reason."""

    municipality: Municipality | None
    reason: str | None = None


def _fold(text: str) -> str:
    """Case-, accent-insensitive key ('Düren' == 'Dueren' is not attempted; ß → ss)."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("ß", "ss")
    text = re.sub(r"[‐-―−]", "-", text)
    return re.sub(r"\s+", " ", text).strip(" ,.")


def _row_to_municipality(row: dict[str, str]) -> Municipality:
    return Municipality(
        ags=row["ags"],
        name=row["name"],
        short_name=row["name_kurz"],
        letter_name=row["bezeichnung"],
        kind=MunicipalityKind(row["typ"]),
        kreis=row["kreis"],
        regierungsbezirk=row["regierungsbezirk"],
        plz=row["plz"] or None,
        population=int(row["einwohner"]),
    )


@cache
def all_municipalities() -> tuple[Municipality, ...]:
    """All 427 NRW Gemeinden and Kreise in register order."""
    text = resources.files("ews.core.data").joinpath("nrw_kommunen_extended.csv").read_text("utf-8")
    return tuple(_row_to_municipality(row) for row in csv.DictReader(text.splitlines()))


@cache
def _by_ags() -> dict[str, Municipality]:
    return {m.ags: m for m in all_municipalities()}


def by_key(key: str) -> MunicipalityMatch:
    """Find by AGS (8 digits) or Kreisschlüssel (5 digits, or padded to 8 with '000')."""
    digits = re.sub(r"[\s.\-/]", "", key)
    if not digits.isdigit() or len(digits) not in (5, 8):
        return MunicipalityMatch(None, f"„{key}“ ist kein Gemeindeschlüssel (8 Ziffern, "
                                       "bei Kreisen 5 Ziffern).")
    if not digits.startswith("05"):
        return MunicipalityMatch(None, f"Der Gemeindeschlüssel {digits} gehört nicht zu "
                                       "Nordrhein-Westfalen (NRW-Schlüssel beginnen mit 05).")
    found = _by_ags().get(digits)
    if found is None and len(digits) == 8 and digits.endswith("000"):
        found = _by_ags().get(digits[:5])  # a Kreis key padded to 8 digits
    if found is None:
        return MunicipalityMatch(None, f"Der Gemeindeschlüssel {digits} ist im Verzeichnis "
                                       "der NRW-Kommunen nicht enthalten.")
    return MunicipalityMatch(found)


def _name_parts(name: str) -> tuple[str, bool | None]:
    """Split a written name into the core name and whether a Kreis is meant.

    Returns (core, True) for "Kreis Olpe", (core, False) for "Stadt Olpe", (core, None)
    when the writing does not say.
    """
    folded = _fold(name)
    for word in _KREIS_WORDS:
        if folded.startswith(word + " "):
            return folded[len(word) + 1:], True
    if re.search(r"(^|[\s-])kreis$", folded) or "-kreis" in folded or folded.endswith("kreis"):
        return folded, True
    for prefix in _TOWN_PREFIXES:
        if folded.startswith(prefix + " "):
            return folded[len(prefix) + 1:], False
    folded = re.sub(r",\s*(stadt|gemeinde)$", "", folded)
    return folded, None


@cache
def _by_folded_name() -> dict[str, tuple[Municipality, ...]]:
    """Each municipality under its short, official and letter name, folded (``_fold``), in
    register order: folding all 1,281 names anew took about 3 ms a lookup, a fifth of the
    CPU an application costs (issue 20)."""
    index: dict[str, list[Municipality]] = {}
    for municipality in all_municipalities():
        names = (municipality.short_name, municipality.name, municipality.letter_name)
        for key in dict.fromkeys(_fold(name) for name in names):
            index.setdefault(key, []).append(municipality)
    return {key: tuple(found) for key, found in index.items()}


def _candidates(core: str) -> list[Municipality]:
    """The municipalities one of whose names, folded, is ``core``, in register order."""
    return list(_by_folded_name().get(core, ()))


def _pick(candidates: Iterable[Municipality], wants_kreis: bool | None, kind_hint: str | None
          ) -> list[Municipality]:
    if wants_kreis is None and kind_hint:
        wants_kreis = _fold(kind_hint) == "kreis"
    if wants_kreis is None:
        return list(candidates)
    return [m for m in candidates if (m.kind is MunicipalityKind.KREIS) == wants_kreis]


def by_name(name: str, *, kind_hint: str | None = None, ort: str | None = None
            ) -> MunicipalityMatch:
    """Find by the name as written on a form ('Stadt Hagen', 'Kreis Olpe', 'Rhein-Sieg-Kreis').

    ``kind_hint`` is the form's "Art der Kommune"; ``ort`` the town of the address, used when
    a name alone is ambiguous (a Kreis and its seat town share the name).
    """
    core, wants_kreis = _name_parts(name)
    found = _pick(_candidates(core), wants_kreis, kind_hint)
    if not found and wants_kreis:
        found = _pick(_candidates(_fold(name)), True, None)  # "Rhein-Kreis Neuss" as a whole
    if len(found) > 1 and ort:
        same_town = [m for m in found if _fold(m.short_name) == _fold(ort)]
        found = same_town or found
    if len(found) == 1:
        return MunicipalityMatch(found[0])
    if not found:
        return MunicipalityMatch(None, f"Die Kommune „{name}“ wurde im Verzeichnis der "
                                       "NRW-Kommunen nicht gefunden.")
    names = ", ".join(m.letter_name for m in found)
    return MunicipalityMatch(None, f"„{name}“ ist nicht eindeutig ({names}); bitte die "
                                   "Art der Kommune oder den Gemeindeschlüssel angeben.")


def identify(*, ags: str | None, name: str | None, kind_hint: str | None = None,
             ort: str | None = None) -> MunicipalityMatch:
    """Identify the applicant: by key when given (checked against the name), else by name."""
    by_written_name = by_name(name, kind_hint=kind_hint, ort=ort) if name else None
    if not ags:
        if by_written_name is None:
            return MunicipalityMatch(None, "Die Kommune ist nicht angegeben.")
        return by_written_name
    keyed = by_key(ags)
    if keyed.municipality is None or by_written_name is None:
        return keyed
    named = by_written_name.municipality
    if named is not None and named.ags != keyed.municipality.ags:
        return MunicipalityMatch(None, f"Der Amtliche Gemeindeschlüssel {ags} gehört zu "
                                       f"{keyed.municipality.letter_name}, nicht zu „{name}“.")
    return keyed


def by_key_or_name(text: str) -> MunicipalityMatch:
    """Find as staff name it on the command line or in the web interface: by AGS or
    Kreisschlüssel when ``text`` is digits (spaces allowed), else by name."""
    compact = text.replace(" ", "")
    return by_key(compact) if compact.isdigit() else by_name(text.strip())
