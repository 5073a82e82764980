"""A register with one accepted application and the Zusage that asks for the release
confirmation, written directly (no letters rendered): the ground of the follow-up tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from ews.core.models import FollowUpKind
from ews.register import cases as register
from ews.register import follow_ups
from ews.register.database import migrate, session_factory
from ews.register.schema import ApplicationRow
from ews.runtime.settings import AzSettings, Settings
from tests.support import pdfgen

#: the day the Zusage went out; the tests pass their "now" relative to it
SENT = datetime(2027, 4, 1, 9, 0, tzinfo=UTC)
DUE = date(2027, 4, 15)  # Thursday, 14 days later
TEAM = ["juergen.weiss@luedenscheid.de", "aenne.schroeder@luedenscheid.de"]


@dataclass(frozen=True)
class Case:
    az: str
    application_id: int
    follow_up_id: int


def add_case(settings: Settings, *, fields: dict[str, object] | None = None,
             due_on: date = DUE) -> Case:
    """An application (Lüdenscheid's form fields) with a Zusage and its open follow-up."""
    migrate(settings.db_url)
    with session_factory(settings.db_url).begin() as session:
        item = register.open_input(session, claim_path=f"/c/{due_on}", source_name="a.pdf",
                                   sha256="0" * 64, size=1, received_at=SENT - timedelta(days=40))
        session.flush()
        az, serial = register.issue_az(session, 2027, AzSettings())
        application, _ = register.add_application(session, ApplicationRow(
            az=az, az_year=2027, az_serial=serial, round_name="EWS 6", ags="05962032",
            kommune_name="Stadt Lüdenscheid", status="registered",
            received_at=SENT - timedelta(days=40), deadline_last_day="2027-03-01",
            fields=dict(pdfgen.VALUES if fields is None else fields), input_id=item.id))
        letter = register.plan_letter(session, input_id=item.id, application_id=application.id,
                                      kind="zusage", reference=az, docx_path="/x/zusage.docx",
                                      data={"letter_date": SENT.date().isoformat(),
                                            "kommune_name": "Stadt Lüdenscheid"})
        session.flush()
        row = follow_ups.open_follow_up(session, az=az, kind=FollowUpKind.RELEASE,
                                        due_on=due_on, actor="frau.meier", now=SENT,
                                        application_id=application.id, letter_id=letter.id)
        return Case(az, application.id, row.id)


@pytest.fixture
def case(settings: Settings) -> Case:
    return add_case(settings)
