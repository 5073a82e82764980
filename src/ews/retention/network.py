"""Former contact persons of the network roster: the roster keeps one contact per member
and overwrites it on a change, so the old contact survives only in the change log
(``events`` "netzwerk", ``vorher``/``nachher``); this clears every contact there that is no
longer the member's current one (no I/O: changes ORM rows only)."""

from __future__ import annotations

from typing import Any

from ews.register.schema import EventRow, NetworkMember
from ews.retention.scrub import Removal

#: the roster record's keys that name the contact person
CONTACT_KEYS = ("ansprechperson", "email")


def scrub_former_contacts(events: list[EventRow], members: dict[str, NetworkMember]
                          ) -> Removal:
    removal = Removal()
    for event in events:
        member = members.get(event.subject)
        current = ("", "") if member is None else (member.contact_person, member.contact_email)
        detail = dict(event.detail)
        changed = False
        for side in ("vorher", "nachher"):
            record = detail.get(side)
            if isinstance(record, dict):
                cleaned = _without_former(record, current)
                changed |= cleaned != record
                detail[side] = cleaned
        if changed:
            event.detail = detail
            removal.note("ereignisse", event.id)
    return removal


def _without_former(record: dict[str, Any], current: tuple[str, str]) -> dict[str, Any]:
    cleaned = dict(record)
    for key, now_value in zip(CONTACT_KEYS, current, strict=True):
        if cleaned.get(key) and cleaned[key] != now_value:
            cleaned[key] = ""
    return cleaned
