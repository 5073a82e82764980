"""The daily follow-up check as Prefect runs it: a duplicated run reminds once, and each run
leaves its artifact."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.testing.utilities import prefect_test_harness

from ews.intake import passes as intake
from ews.runtime.settings import Settings
from flows.follow_ups import wiedervorlagen_pruefen
from tests.integration.casefile.conftest import DUE, SENT, TEAM, add_case
from tests.integration.casefile.test_reminders import _reminders
from tests.integration.intake.test_mail_intake import mail_settings
from tests.support.mailserver import MailServers


@pytest.fixture(scope="module", autouse=True)
def prefect_harness() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def office(tmp_path: Path, mail: MailServers,
           service_env: Callable[[Settings], Settings]) -> Settings:
    settings = mail_settings(tmp_path, mail)
    intake.prepare(settings)
    return service_env(settings)


def test_a_duplicated_daily_run_reminds_once(office: Settings, mail: MailServers) -> None:
    case = add_case(office)
    assert wiedervorlagen_pruefen(termin=SENT + (DUE - SENT.date())) == 0  # due today: not yet
    overdue = SENT + timedelta(days=16)
    assert wiedervorlagen_pruefen(termin=overdue) == 1
    assert wiedervorlagen_pruefen(termin=overdue + timedelta(minutes=1)) == 0
    [reminder] = _reminders(mail, TEAM[0])
    assert case.az in str(reminder["Subject"])
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["wiedervorlagen"])))
    texts = [str(artifact.data) for artifact in artifacts]
    assert sum("### Erinnert" in text for text in texts) == 1, texts
