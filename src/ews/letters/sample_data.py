"""Realistic form values for sample applications from real NRW municipalities (pure).

Reads the bundled register once (``ews/core/data``); everything else is deterministic given the
``random.Random`` passed in. Names, phone numbers and dates are written the ways people write
them; all persons are invented.
"""

from __future__ import annotations

import csv
import random
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources

FormValues = dict[str, str | bool]

_FIRST = (
    "Jürgen", "Änne", "Sören", "Małgorzata", "Björn", "Käthe", "Jörg", "Özlem", "Günther",
    "Müge", "Hans-Jürgen", "Sophie", "Lukas", "Friederike", "Ömer", "Zoë", "Rüdiger", "Maren",
    "André", "Gülşen", "Matthias", "Ines", "Till", "Bärbel", "Heiko", "Jana", "Dörte", "Kai",
)  # fmt: skip
_LAST = (
    "Müller", "Schröder", "Weiß", "Groß", "Öztürk", "Kößler", "Jäger", "Bräuer", "Schäfer",
    "Nowak", "Krüger", "Hüsken", "Döring", "Kowalczyk", "Lüttgen", "Brückmann", "Yıldız",
    "Große-Wöstmann", "Pütz", "Schulte-Höing", "Faßbender", "Mertens", "Hoffmann", "Çelik",
)  # fmt: skip
_FEMALE = frozenset(
    {"Änne", "Małgorzata", "Käthe", "Özlem", "Müge", "Sophie", "Friederike", "Zoë", "Maren",
     "Gülşen", "Ines", "Bärbel", "Jana", "Dörte"}
)  # fmt: skip
#: (as a man writes it, as a woman writes it)
_TEAM_ROLES = (
    ("Leiter Stabsstelle Bürgerschaftliches Engagement",
     "Leiterin Stabsstelle Bürgerschaftliches Engagement"),
    ("Ehrenamtskoordinator", "Ehrenamtskoordinatorin"),
    ("Sachgebietsleiter Soziales und Senioren", "Sachgebietsleiterin Soziales und Senioren"),
    ("Quartiersmanager", "Quartiersmanagerin"),
    ("Sozialplaner", "Sozialplanerin"),
    ("Fachbereichsleitung Jugend, Familie und Bildung",) * 2,
    ("Referent des Bürgermeisters", "Referentin des Bürgermeisters"),
    ("Leiter Büro für Bürgerbeteiligung", "Leiterin Büro für Bürgerbeteiligung"),
    ("Mitarbeiter Freiwilligenagentur", "Mitarbeiterin Freiwilligenagentur"),
    ("Integrationsbeauftragter", "Integrationsbeauftragte"),
    ("Sportamt – Vereinsberatung",) * 2,
)  # fmt: skip
_STREETS = (
    "Rathausplatz", "Markt", "Rathausstraße", "Kirchplatz", "Bahnhofstraße", "Am Rathaus",
    "Friedrich-Ebert-Straße", "Hauptstraße", "Schloßstraße", "Königsallee", "Burgstraße",
)  # fmt: skip
_MOTIVES = (
    "Das bürgerschaftliche Engagement in {ort} ist groß, aber kaum vernetzt.",
    "Viele Vereine klagen über fehlenden Nachwuchs im Vorstand; wir möchten gegensteuern.",
    "Seit der Flüchtlingshilfe 2015 gibt es viele Initiativen, die sich eine Anlaufstelle "
    "in der Verwaltung wünschen.",
    "Wir wollen eine Engagementstrategie erarbeiten, die Verwaltung, Politik und "
    "Zivilgesellschaft gemeinsam tragen.",
    "Die Ehrenamtlichen in den Ortsteilen sollen besser unterstützt und gewürdigt werden.",
    "Der demografische Wandel trifft {name} stark: Engagement älterer Menschen ist für uns "
    "ein Schlüssel zur Daseinsvorsorge.",
    "Ziel ist eine zentrale Ehrenamtsbörse und eine feste Ansprechperson im Rathaus.",
    "Wir möchten von anderen Kommunen lernen – „über den Tellerrand schauen“ – und unsere "
    "Förderrichtlinien überarbeiten.",
    "Junge Menschen engagieren sich projektbezogen; dafür fehlen uns bislang passende Formate.",
)  # fmt: skip
_STRUCTURES = (
    "Freiwilligenagentur (seit {year})", "Ehrenamtsbörse im Internet", "Seniorenbüro",
    "Jährlicher Ehrenamtstag mit Empfang", "Stabsstelle Bürgerschaftliches Engagement",
    "Förderfonds für Vereine und Initiativen", "Netzwerk Flüchtlingshilfe",
    "Runder Tisch Engagement", "Quartiersbüros", "Engagementpreis „Ehrensache“",
)  # fmt: skip
_MONTHS = (
    "Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
    "Oktober", "November", "Dezember",
)  # fmt: skip
_SIGN_WINDOW = (date(2027, 1, 11), date(2027, 2, 26))


@dataclass(frozen=True)
class Kommune:
    """What a sample needs of one register row."""

    ags: str
    letter_name: str  # "Stadt Brühl", "Kreis Olpe"
    short_name: str
    typ: str  # register type
    regierungsbezirk: str
    population: int
    plz: str
    ort: str  # seat of the administration


@cache
def kommunen() -> tuple[Kommune, ...]:
    """Every NRW municipality and Kreis with PLZ and town of its administration."""
    text = resources.files("ews.core.data").joinpath("nrw_kommunen_extended.csv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    seats = {row["name_kurz"]: row for row in rows if row["typ"] != "Kreis"}
    found = []
    for row in rows:
        seat_name = _seat_of(row)
        seat = seats.get(seat_name, row)
        if not seat["plz"]:
            continue
        found.append(
            Kommune(row["ags"], row["bezeichnung"], row["name_kurz"], row["typ"],
                    row["regierungsbezirk"], int(row["einwohner"]), seat["plz"], seat_name)
        )  # fmt: skip
    return tuple(found)


def _seat_of(row: dict[str, str]) -> str:
    match = re.search(r"Sitz der Kreisverwaltung: ([^;]+)", row["bemerkung"])
    return match.group(1).strip() if match else row["name_kurz"]


def written_name(kommune: Kommune, rng: random.Random) -> str:
    """The name as people write it on the form (``Bundesstadt Bonn``, ``Stadt Hagen``)."""
    special = {"Bonn": "Bundesstadt Bonn", "Düsseldorf": "Landeshauptstadt Düsseldorf"}
    if kommune.short_name in special and rng.random() < 0.7:
        return special[kommune.short_name]
    return kommune.letter_name


def kommune_typ(kommune: Kommune) -> str:
    return {"kreisfreie Stadt": "kreisfreie Stadt", "Kreis": "Kreis",
            "kreisangehörige Gemeinde": "Gemeinde"}.get(kommune.typ, "Stadt")  # fmt: skip


def person(rng: random.Random) -> tuple[str, str, bool]:
    """(first name, last name, female)."""
    first = rng.choice(_FIRST)
    return first, rng.choice(_LAST), first in _FEMALE


def head_function(kommune: Kommune, female: bool) -> str:
    if kommune.typ == "Kreis":
        if kommune.short_name == "Städteregion Aachen":
            return "Städteregionsrätin" if female else "Städteregionsrat"
        return "Landrätin" if female else "Landrat"
    title = "Oberbürgermeister" if kommune.typ == "kreisfreie Stadt" else "Bürgermeister"
    return title + ("in" if female else "")


def mail_address(first: str, last: str, kommune: Kommune, rng: random.Random) -> str:
    name = kommune.short_name if kommune.typ == "Kreis" else kommune.ort
    slug = _ascii(re.sub(r"\s*\(.*?\)", "", name)).strip().replace(" ", "-")
    if kommune.typ == "Kreis":
        domain = f"{slug}.de" if "kreis" in slug else f"kreis-{slug}.de"
    elif kommune.typ == "kreisangehörige Gemeinde":
        domain = rng.choice([f"{slug}.de", f"gemeinde-{slug}.de"])
    else:
        domain = rng.choice([f"{slug}.de", f"stadt-{slug}.de"])
    local = rng.choice([f"{_ascii(first)}.{_ascii(last)}", f"{_ascii(first)[0]}.{_ascii(last)}"])
    return f"{local}@{domain}".replace(" ", "")


def _ascii(text: str) -> str:
    table = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "ë": "e", "ç": "c",
             "ş": "s", "ı": "i", "ł": "l", "ğ": "g", "ó": "o"}  # fmt: skip
    lowered = "".join(table.get(char, char) for char in text.lower())
    return re.sub(r"[^a-z0-9 .-]", "", lowered).strip()


def phone(rng: random.Random) -> str:
    area = rng.choice(["02", "05"]) + f"{rng.randrange(100, 999)}"
    local, extension = f"{rng.randrange(10, 99)}", f"{rng.randrange(100, 9999)}"
    return rng.choice([
        f"{area} {local}-{extension}", f"({area}) {local}{extension}",
        f"+49 {area[1:]} {local}-{extension}", f"{area}/{local}-{extension}",
        f"{area} / {local} {extension}",
    ])  # fmt: skip


def signing_date(day: date, rng: random.Random) -> str:
    """A date in one of the German styles people use."""
    return rng.choice([
        f"{day:%d.%m.%Y}", f"{day.day}.{day.month}.{day.year}", f"{day.day}.{day.month}.{day:%y}",
        f"{day:%d.%m.%y}", day.isoformat(), f"{day.day}. {_MONTHS[day.month - 1]} {day.year}",
    ])  # fmt: skip


def random_day(rng: random.Random) -> date:
    start, end = _SIGN_WINDOW
    return start + timedelta(days=rng.randrange((end - start).days + 1))


def motivation(kommune: Kommune, rng: random.Random) -> str:
    sentences = [s.format(ort=kommune.ort, name=written_name(kommune, rng))
                 for s in rng.sample(_MOTIVES, rng.randrange(2, 6))]  # fmt: skip
    if rng.random() < 0.4:
        return "\n".join(sentences)
    middle = len(sentences) // 2
    return " ".join(sentences[:middle]) + "\n\n" + " ".join(sentences[middle:])


def structures(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return ""
    chosen = rng.sample(_STRUCTURES, rng.randrange(1, 5))
    lines = [item.format(year=rng.randrange(2005, 2024)) for item in chosen]
    bullet = rng.choice(["- ", "• ", ""])
    return "\n".join(bullet + line for line in lines)


def population_text(kommune: Kommune, rng: random.Random) -> str:
    number = kommune.population
    return rng.choice([f"{number:,}".replace(",", "."), str(number),
                       f"{number:,}".replace(",", " "), ""])  # fmt: skip


def street(rng: random.Random) -> str:
    return f"{rng.choice(_STREETS)} {rng.randrange(1, 40)}"


def application_values(kommune: Kommune, rng: random.Random, round_name: str) -> FormValues:
    """A complete, valid application of ``kommune`` as form values."""
    head_first, head_last, head_female = person(rng)
    values: FormValues = {
        "runde": round_name,
        "kommune_name": written_name(kommune, rng),
        "kommune_typ": kommune_typ(kommune),
        "ags": _written_key(kommune, rng),
        "regierungsbezirk": kommune.regierungsbezirk if rng.random() < 0.8 else "",
        "einwohnerzahl": population_text(kommune, rng),
        "strasse": street(rng),
        "plz": kommune.plz,
        "ort": kommune.ort,
        "hvb_anrede": rng.choice(["Frau" if head_female else "Herr"] * 4 + [""]),
        "hvb_name": f"{head_first} {head_last}",
        "hvb_funktion": head_function(kommune, head_female),
    }
    for number in (1, 2):
        values.update(_team_member(number, kommune, rng))
    signer = str(values["hvb_name"]) if rng.random() < 0.8 else f"i. V. {values['team1_name']}"
    values.update(
        motivation=motivation(kommune, rng),
        strukturen=structures(rng),
        ehrenamtskarte=rng.random() < 0.6,
        freistellung=True,
        datenschutz=True,
        ort_datum=f"{kommune.ort}, {signing_date(random_day(rng), rng)}",
        unterzeichner=signer,
    )
    return values


def _team_member(number: int, kommune: Kommune, rng: random.Random) -> FormValues:
    first, last, female = person(rng)
    return {
        f"team{number}_name": f"{first} {last}",
        f"team{number}_funktion": rng.choice(_TEAM_ROLES)[1 if female else 0],
        f"team{number}_email": mail_address(first, last, kommune, rng),
        f"team{number}_telefon": phone(rng) if rng.random() < 0.85 else "",
    }


def _written_key(kommune: Kommune, rng: random.Random) -> str:
    """The AGS as written: often left out; a Kreis's 5-digit key sometimes padded to 8."""
    if rng.random() < 0.25:
        return ""
    if len(kommune.ags) == 5 and rng.random() < 0.5:
        return kommune.ags + "000"
    return kommune.ags
