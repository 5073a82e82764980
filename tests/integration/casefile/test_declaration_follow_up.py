"""A Gemeinsame Erklärung asks for its return within ``round.declaration_days``: issuing it
opens the follow-up once, the signed return recognised in the inbox closes it."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from ews.core.deadlines import answer_due
from ews.core.municipalities import by_key
from ews.intake import passes as intake
from ews.network.declarations import issue_on_demand
from ews.register.database import session_factory
from ews.register.schema import FollowUpRow
from ews.runtime.settings import Settings
from tests.integration.casefile.conftest import SENT
from tests.support import declgen


def _issue(settings: Settings) -> str:
    municipality = by_key("05914000").municipality
    assert municipality is not None
    with session_factory(settings.db_url).begin() as session:
        row, _data, _new = issue_on_demand(session, municipality, settings, SENT,
                                           actor="frau.meier")
        return row.az


def test_the_signed_return_closes_the_declaration_follow_up(settings: Settings) -> None:
    intake.prepare(settings)
    az = _issue(settings)
    assert _issue(settings) == az  # reissued: still one follow-up
    with session_factory(settings.db_url).begin() as session:
        [row] = session.scalars(select(FollowUpRow))
    assert (row.kind, row.az, row.state, row.created_by) == ("erklaerung", az, "offen",
                                                             "frau.meier")
    assert row.due_on == answer_due(SENT.date(), settings.round.declaration_days).isoformat()

    signed = replace(declgen.HAGEN, az=az)
    (settings.inbox_dir / "erklaerung.pdf").write_bytes(declgen.declaration_pdf(signed))
    [result] = intake.run_pass(settings)
    assert (result.outcome.value, result.az) == ("declaration", az), result.reasons
    with session_factory(settings.db_url).begin() as session:
        [row] = session.scalars(select(FollowUpRow))
    assert (row.state, row.closed_by) == ("erledigt", "posteingang")
    assert f"Eingang {result.input_id}" in (row.close_note or "")
