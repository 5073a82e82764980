"""Scheduled mailings as Prefect runs them: a run for a slot issues its circular once, a second
run for the same slot (a duplicated schedule, a retry) sends nothing again; a reminder that is
not due does nothing; each run leaves its artifacts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.testing.utilities import prefect_test_harness

from ews.circulars.reports import circular_records
from ews.core.deadlines import BERLIN
from ews.intake import passes as intake
from ews.runtime.settings import CircularSettings, LetterSettings, RoundSettings, Settings
from flows.circulars import geplanter_versand
from tests.integration.circulars.test_circulars import _address, _inbox, add_members, write_draft
from tests.integration.intake.test_mail_intake import mail_settings
from tests.support.mailserver import MailServers

SLOT_TIME = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # first Tuesday, 09:00 in Berlin
PLAN = """
[[versand]]
name = "monatsinfo"
entwurf = "monatsinfo"
zeitplan = "0 9 1-7 * 2"

[[versand]]
name = "erinnerung"
entwurf = "monatsinfo"
tage_vor_frist = 14
verteiler = "netzwerk"
"""


@pytest.fixture(scope="module", autouse=True)
def prefect_harness() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def office(tmp_path: Path, mail: MailServers,
           service_env: Callable[[Settings], Settings]) -> Settings:
    (tmp_path / "versandplan.toml").write_text(PLAN, encoding="utf-8")
    settings = mail_settings(
        tmp_path, mail, letters=LetterSettings(pdf=False),
        round=RoundSettings(name="EWS 6", deadline=date(2027, 3, 1)),
        rundschreiben=CircularSettings(plan_file=tmp_path / "versandplan.toml",
                                       contacts_file=tmp_path / "kontakte.csv"))
    intake.prepare(settings)
    add_members(settings, 5)
    write_draft(settings, title="Monatsinfo {{ monat }}", name="monatsinfo")
    return service_env(settings)


def test_the_same_slot_twice_issues_and_sends_once(office: Settings, mail: MailServers
                                                   ) -> None:
    first = geplanter_versand(name="monatsinfo", termin=SLOT_TIME)
    second = geplanter_versand(name="monatsinfo", termin=SLOT_TIME.replace(minute=5))
    # numbered by the day it is issued (a late run issues on the day it runs)
    year = datetime.now(BERLIN).year
    assert first == second == f"1/{year}"
    assert [len(_inbox(mail, _address(i))) for i in range(5)] == [1] * 5
    [record] = circular_records(office)
    assert record["slot"] == "monatsinfo@2026-12-01"
    assert record["versand"] == {"gesendet": 5}
    wanted = {f"rundschreiben-1-{year}", f"rundschreiben-1-{year}-stand"}
    with get_client(sync_client=True) as client:
        keys = {a.key for a in client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=sorted(wanted))))}
    assert keys == wanted

    next_month = geplanter_versand(name="monatsinfo",
                                   termin=datetime(2027, 1, 5, 8, 0, tzinfo=UTC))
    assert next_month == f"2/{year}"  # another slot: another circular
    assert [len(_inbox(mail, _address(i))) for i in range(5)] == [2] * 5


def test_a_reminder_runs_only_when_due(office: Settings, mail: MailServers) -> None:
    assert geplanter_versand(name="erinnerung", termin=datetime(2027, 2, 10, 8, tzinfo=UTC)) is None
    assert circular_records(office) == []
    year = datetime.now(BERLIN).year
    assert geplanter_versand(name="erinnerung",
                             termin=datetime(2027, 2, 15, 8, tzinfo=UTC)) == f"1/{year}"
    assert geplanter_versand(name="erinnerung",  # same slot: the due day
                             termin=datetime(2027, 2, 16, 8, tzinfo=UTC)) == f"1/{year}"
    assert [len(_inbox(mail, _address(i))) for i in range(5)] == [1] * 5
