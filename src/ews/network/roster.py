"""The roster of the Kommunen-Netzwerk: members join with their signed declaration or are
recorded by staff; every change is logged (I/O: database, in the caller's transaction)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ews.core.errors import NetworkError
from ews.core.models import Municipality
from ews.network.rules import EHRENAMTSKARTE, earlier_joined
from ews.register import cases as register
from ews.register import declarations as declarations_register
from ews.register.database import Session
from ews.register.schema import DeclarationRow, NetworkMember


def join(session: Session, declaration: DeclarationRow | None, *, signatory: str,
         function: str, signed_on: date | None, joined_on: date, actor: str, now: datetime,
         ags: str | None = None, kommune_name: str | None = None) -> NetworkMember:
    """Add a member to the roster, or complete an existing entry (an earlier joined date
    is kept)."""
    key = declaration.ags if declaration else ags
    if key is None:
        raise NetworkError("Für die Aufnahme ins Netzwerk fehlt der Gemeindeschlüssel.")
    member = declarations_register.member_by_ags(session, key)
    if member is None:
        member = declarations_register.add_member(session, NetworkMember(
            ags=key, kommune_name=kommune_name or (
                declaration.kommune_name if declaration else key),
            joined_on=joined_on.isoformat(), ehrenamtskarte="unbekannt", source="", note="",
            contact_person="", contact_email="", signed_by="", signed_function="",
            updated_by=actor, updated_at=now))
    else:
        member.joined_on = earlier_joined(member.joined_on, joined_on)
    if declaration is not None:
        member.declaration_id = declaration.id
        _prefill_from_application(session, member, declaration)
    member.signed_by, member.signed_function = signatory or member.signed_by, \
        function or member.signed_function
    member.signed_on = signed_on.isoformat() if signed_on else member.signed_on
    member.updated_by, member.updated_at = actor, now
    declarations_register.save(session)
    return member


def _prefill_from_application(session: Session, member: NetworkMember,
                              declaration: DeclarationRow) -> None:
    """Contact person, e-mail and Ehrenamtskarte as the application stated them."""
    member.contact_person = member.contact_person or declaration.contact_person
    application = register.application_of(session, declaration.application_id)
    if application is None:
        member.source = member.source or "Erklärung auf Anfrage"
        return
    member.source = member.source or application.round_name
    email = application.fields.get("team1_email")
    member.contact_email = member.contact_email or (email if isinstance(email, str) else "")
    if application.fields.get("ehrenamtskarte") is True and \
            member.ehrenamtskarte == "unbekannt":
        member.ehrenamtskarte = "teilnahme"


def update_member(session: Session, municipality: Municipality, *, actor: str, now: datetime,
                  changes: dict[str, Any]) -> NetworkMember:
    """Staff record or correct a member's entry (also members who joined before this service
    existed); every change is logged."""
    member = declarations_register.member_by_ags(session, municipality.ags)
    if member is None:
        joined = changes.get("joined_on")
        if not isinstance(joined, date):
            raise NetworkError(f"{municipality.letter_name} ist noch nicht im Netzwerk; für "
                               "die Aufnahme bitte das Beitrittsdatum angeben (--beitritt).")
        member = join(session, None, signatory="", function="", signed_on=None,
                      joined_on=joined, actor=actor, now=now, ags=municipality.ags,
                      kommune_name=municipality.letter_name)
    if "ehrenamtskarte" in changes and changes["ehrenamtskarte"] not in EHRENAMTSKARTE:
        raise NetworkError(f"Unbekannter Stand der Ehrenamtskarte „{changes['ehrenamtskarte']}“;"
                           f" erlaubt: {', '.join(EHRENAMTSKARTE)}.")
    before = roster_record(member)
    for name, value in changes.items():
        setattr(member, name, value.isoformat() if isinstance(value, date) else value)
    member.updated_by, member.updated_at = actor, now
    declarations_register.save(session)
    register.log_event(session, actor=actor, action="netzwerk", subject=municipality.ags,
                       detail={"vorher": before, "nachher": roster_record(member)})
    return member


def roster(session: Session) -> list[dict[str, Any]]:
    """Every member, by name."""
    return [roster_record(member) for member in declarations_register.members(session)]


def roster_record(member: NetworkMember) -> dict[str, Any]:
    return {
        "ags": member.ags, "kommune": member.kommune_name, "beitritt": member.joined_on,
        "unterzeichnet_von": member.signed_by, "funktion": member.signed_function,
        "unterzeichnet_am": member.signed_on, "ansprechperson": member.contact_person,
        "email": member.contact_email, "ehrenamtskarte": member.ehrenamtskarte,
        "querschnittsaufgabe": member.cross_cutting_task,
        "kontinuierliche_mitarbeit": member.continuous_cooperation,
        "erklaerung_unterzeichnet": member.declaration_id is not None or bool(member.signed_on),
        "quelle": member.source, "notiz": member.note,
    }
