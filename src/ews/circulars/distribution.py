"""Distribution lists (Verteiler) for the office's circulars (I/O: database reads, contact file).

Where a list's addresses come from: ``netzwerk``: the roster (contact e-mail and person);
``teilnehmende``: each application of the round whose decision is "angenommen" (a moved-up one
too, a withdrawn one not): the team's e-mail addresses, the HVB and team member 1;
``bewerbende``: the same for every current application (late ones too); ``alle`` and
``ohne-bewerbung`` (all without a current application): the contact file only.

Fill-in rule: when the source has no valid address, the contact file's are used (``source``
"Kontaktdatei"). When both have addresses, the source's come first; the contact file's are
added only when its row is the HVB's and the mail is addressed to the HVB (``address_to``).

The salutation greets a person of the records whose addresses are used (of all records when
there is none): the role ``address_to`` asks for, else the other, else "Sehr geehrte Damen und
Herren". With an Anrede it is formal (the HVB with function, as in letters; a contact person
by surname), without one "Guten Tag Erika Müller": no gender is guessed. A municipality without
a valid address comes back with ``emails=()`` and a German ``problem``; the caller reports it
and filters the office's own address. ``DistributionError`` (an ``EwsError``): unknown list,
list without its round, unreadable contact file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ews.circulars.contacts import CONTACT_PERSON, HVB, Contact, addresses, anrede_of, folded
from ews.core.errors import DistributionError
from ews.core.forms import normalise_round, salutation
from ews.core.municipalities import all_municipalities, by_key
from ews.register import decisions as decisions_register
from ews.register import declarations as declarations_register
from ews.register.database import Session
from ews.register.schema import ApplicationRow
from ews.selection.decisions import ACCEPTED

LIST_KINDS: dict[str, str] = {
    "netzwerk": "Mitglieder des Kommunen-Netzwerks: engagiert in NRW",
    "teilnehmende": "Teilnehmende Kommunen der Runde {runde}",
    "bewerbende": "Bewerbende Kommunen der Runde {runde}",
    "alle": "Alle Kommunen und Kreise in NRW",
    "ohne-bewerbung": "Kommunen und Kreise ohne Bewerbung in der Runde {runde}",
}
_ADDRESS_BLOCKS = {
    "netzwerk": "An die Mitglieder des\nKommunen-Netzwerks: engagiert in NRW",
    "teilnehmende": "An die teilnehmenden Kommunen\nder Runde {runde}",
    "bewerbende": "An die bewerbenden Kommunen\nder Runde {runde}",
    "alle": "An alle Kommunen und Kreise\nin Nordrhein-Westfalen",
    "ohne-bewerbung": "An die Kommunen und Kreise\nohne Bewerbung\nin der Runde {runde}",
}
#: spellings of each list, folded (``_folded``)
_ALIASES = {"netzwerk": "netzwerk kommunennetzwerk netzwerkmitglieder mitglieder",
            "teilnehmende": "teilnehmende teilnehmer teilnehmendekommunen",
            "bewerbende": "bewerbende bewerber bewerbungen bewerbendekommunen",
            "alle": "alle allekommunen allekommunenundkreise",
            "ohne-bewerbung": "ohnebewerbung keinebewerbung nichtbeworben"}
_WITH_ROUND = ("teilnehmende", "bewerbende", "ohne-bewerbung")
FILE = "Kontaktdatei"
NEUTRAL = "Sehr geehrte Damen und Herren"


@dataclass(frozen=True)
class ListSpec:
    kind: str
    round_name: str | None = None

    @classmethod
    def parse(cls, text: str, default_round: str) -> ListSpec:
        """'teilnehmende', 'Teilnehmende:EWS 5', 'ohne Bewerbung', 'bewerbende ews6', …"""
        written, _, round_text = text.partition(":")
        trailing = re.fullmatch(r"(.+?)\s+(ews\s*[-–]?\s*\d+)\s*", written, re.IGNORECASE)
        if not round_text and trailing:
            written, round_text = trailing.group(1), trailing.group(2)
        kind = next((k for k, words in _ALIASES.items() if folded(written) in words.split()),
                    None)
        if kind is None:
            raise DistributionError(
                f"Unbekannter Verteiler „{text.strip()}“. Möglich sind: "
                + ", ".join(f"„{k}“ ({label.format(runde='…')})"
                            for k, label in LIST_KINDS.items())
                + "; die Runde nach einem Doppelpunkt, z. B. „teilnehmende:EWS 6“.")
        if kind not in _WITH_ROUND:
            if round_text.strip():
                raise DistributionError(f"Der Verteiler „{kind}“ gilt nicht für eine Runde "
                                        f"(angegeben: „{round_text.strip()}“).")
            return cls(kind)
        round_name = normalise_round(round_text or default_round)
        if not round_name:
            raise DistributionError(f"Für den Verteiler „{kind}“ fehlt die Runde, "
                                    f"z. B. „{kind}:EWS 6“.")
        return cls(kind, round_name)

    def label(self) -> str:
        return LIST_KINDS[self.kind].format(runde=self.round_name)

    def address_block(self) -> str:
        return _ADDRESS_BLOCKS[self.kind].format(runde=self.round_name)

    def __str__(self) -> str:
        return f"{self.kind}:{self.round_name}" if self.round_name else self.kind


@dataclass(frozen=True)
class Addressee:
    ags: str
    kommune: str  # the letter name, e.g. "Stadt Hagen"
    emails: tuple[str, ...]  # valid and normalised; the first one is To
    salutation: str  # without the trailing comma
    source: str  # where the addresses came from, e.g. "Netzwerkliste", "Kontaktdatei"
    problem: str | None  # why there is no valid address


@dataclass(frozen=True)
class _Person:
    role: str
    name: str
    anrede: str | None = None
    funktion: str = ""


@dataclass(frozen=True)
class _Record:
    """What one origin (the list's source or the contact file) knows about a municipality."""

    origin: str
    emails: tuple[str, ...]
    invalid: tuple[str, ...]
    persons: tuple[_Person, ...]
    role: str = CONTACT_PERSON


def _contact_person(text: str) -> tuple[_Person, ...]:
    """A contact person as written; 'Frau Petra Lange' carries its Anrede."""
    first, _, rest = text.strip().partition(" ")
    anrede = anrede_of(first) if rest.strip() else None
    name = rest.strip() if anrede else text.strip()
    return (_Person(CONTACT_PERSON, name, anrede),) if name else ()


def _greeting(person: _Person | None) -> str:
    if person is None:
        return NEUTRAL
    if person.anrede:
        funktion = person.funktion if person.role == HVB else None
        return salutation(person.anrede, funktion, person.name).removesuffix(",")
    return f"Guten Tag {person.name}"


def _detail(origin: str, record: _Record | None) -> str:
    """Why ``record`` gave no valid address."""
    if record is None:
        return "nicht in der Kontaktdatei"
    if not record.invalid:
        return f"{origin}: keine Adresse eingetragen"
    quoted = ", ".join(f"„{address}“" for address in record.invalid)
    verb = "ist keine gültige Adresse" if len(record.invalid) == 1 \
        else "sind keine gültigen Adressen"
    return f"{origin}: {quoted} {verb}"


def _used_records(source: _Record | None, filed: _Record | None, address_to: str
                  ) -> list[_Record]:
    """The records whose addresses go into the mail, in order (the fill-in rule)."""
    if source is not None and source.emails:
        if filed is not None and filed.emails and filed.role == HVB and address_to == HVB:
            return [source, filed]
        return [source]
    return [filed] if filed is not None and filed.emails else []


def _addressee(ags: str, kommune: str, source: _Record | None, contact: Contact | None,
               address_to: str) -> Addressee:
    filed = None if contact is None else _Record(
        FILE, contact.emails, contact.invalid,
        (_Person(contact.role, contact.name, contact.anrede, contact.funktion),)
        if contact.name else (), contact.role)
    used = _used_records(source, filed, address_to)
    asked = used or [record for record in (source, filed) if record is not None]
    persons = [person for record in asked for person in record.persons]
    person = next((p for p in persons if p.role == address_to), persons[0] if persons else None)
    emails, _ = addresses(*(address for record in used for address in record.emails))
    details = ([_detail(source.origin, source)] if source else []) + [_detail(FILE, filed)]
    return Addressee(
        ags=ags, kommune=kommune, emails=emails, salutation=_greeting(person),
        source=" und ".join(r.origin for r in used) or (source.origin if source else FILE),
        problem=None if emails else
        f"Keine gültige E-Mail-Adresse bekannt ({'; '.join(details)}).")


def _municipality(ags: str, written_name: str) -> tuple[str, str]:
    """The register's key and letter name, or the stored ones when the key is unknown."""
    found = by_key(ags).municipality
    return (found.ags, found.letter_name) if found else (ags, written_name)


def _application_record(row: ApplicationRow) -> _Record:
    def text(name: str) -> str:
        value = row.fields.get(name)
        return value.strip() if isinstance(value, str) else ""

    hvb = text("hvb_name")
    persons = (_Person(HVB, hvb, anrede_of(text("hvb_anrede")), text("hvb_funktion")),) \
        if hvb else ()
    return _Record(f"Bewerbung {row.round_name}",
                   *addresses(text("team1_email"), text("team2_email")),
                   persons + _contact_person(text("team1_name")))


def _applications(session: Session, round_name: str, *, accepted_only: bool
                  ) -> list[ApplicationRow]:
    return decisions_register.applications_of_round(
        session, round_name, decision=ACCEPTED if accepted_only else None)


def _sources(session: Session, spec: ListSpec) -> dict[str, tuple[str, _Record | None]]:
    """The list's municipalities by key: (letter name, what the source knows)."""
    found: dict[str, tuple[str, _Record | None]] = {}
    if spec.kind == "netzwerk":
        for member in declarations_register.all_members(session):
            ags, name = _municipality(member.ags, member.kommune_name)
            found[ags] = (name, _Record("Netzwerkliste", *addresses(member.contact_email),
                                        _contact_person(member.contact_person)))
        return found
    if spec.kind in ("teilnehmende", "bewerbende"):
        for row in _applications(session, str(spec.round_name),
                                 accepted_only=spec.kind == "teilnehmende"):
            ags, name = _municipality(row.ags, row.kommune_name)
            found[ags] = (name, _application_record(row))
        return found
    rows = _applications(session, str(spec.round_name), accepted_only=False) \
        if spec.kind == "ohne-bewerbung" else []
    applied = {_municipality(row.ags, row.kommune_name)[0] for row in rows}
    return {m.ags: (m.letter_name, None) for m in all_municipalities() if m.ags not in applied}


def addressees(session: Session, spec: ListSpec, contacts: dict[str, Contact], *,
               address_to: str = CONTACT_PERSON) -> list[Addressee]:
    """One Addressee per municipality of the list, sorted by kommune. ``address_to``:
    "ansprechperson" (the contact person, else the HVB) or "hvb" (the HVB, else the contact
    person)."""
    role = folded(address_to)
    if role not in (CONTACT_PERSON, HVB):
        raise DistributionError(f"Unbekannte Empfängerrolle „{address_to}“; möglich sind "
                                f"„{CONTACT_PERSON}“ und „{HVB}“.")
    found = [_addressee(ags, name, record, contacts.get(ags), role)
             for ags, (name, record) in _sources(session, spec).items()]
    return sorted(found, key=lambda a: (folded(a.kommune), a.ags))


