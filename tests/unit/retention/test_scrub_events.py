"""What anonymising a case does to its journal events (ews.retention.scrub.scrub_event)."""

from __future__ import annotations

from ews.register.schema import EventRow
from ews.retention.scrub import Removal, scrub_event

AZ = "13.0.70-004/2026"
DECLARATION_AZ = "13.0.70-E-002/2026"


def event(number: int, subject: str, detail: dict[str, str] | None = None) -> EventRow:
    return EventRow(id=number, actor="sachbearbeitung", action="stempel", subject=subject,
                    detail=detail or {})


def test_the_case_s_own_aktenzeichen_stay_and_names_of_files_and_people_go() -> None:
    removal = Removal()
    kept = [event(1, AZ), event(2, DECLARATION_AZ)]  # an Az holds a "/" too
    named = [event(3, "/srv/ews/inbox/Bewerbung Meier.pdf"),
             event(4, "absender:meier@kommune.example:2026-11-02"),
             event(5, DECLARATION_AZ, {"kontakt": "Frau Meier"})]
    for row in kept + named:
        scrub_event(row, AZ, {AZ, DECLARATION_AZ}, removal)

    assert [row.subject for row in kept] == [AZ, DECLARATION_AZ]
    assert [row.subject for row in named] == [AZ, AZ, DECLARATION_AZ]
    assert all(row.detail == {} for row in kept + named)
    assert removal.ids["ereignisse"] == [3, 4, 5]  # only what held personal data
