"""Prefect's own copies of personal data: a flow run that printed a person's name and made
an artifact with it is deleted with its logs and artifacts once its period ended, and the
Prefect database holds no byte of the name afterwards."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import prefect.settings
import pytest
from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.testing.utilities import prefect_test_harness
from sqlalchemy import make_url

from ews.intake import passes as intake
from flows.deletion import delete_prefect_runs
from tests.conftest import make_settings

NAME = "Walburga Quäckenbüsch"


@pytest.fixture(scope="module", autouse=True)
def prefect_harness() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


@flow(name="mit-personendaten", log_prints=True)
def with_personal_data() -> None:
    print(f"Bewerbung von {NAME} gelesen")
    create_markdown_artifact(f"| Name |\n|---|\n| {NAME} |", key="personen")


def prefect_database() -> Path:
    url = make_url(prefect.settings.PREFECT_SERVER_DATABASE_CONNECTION_URL.value())
    assert url.database
    return Path(url.database)


def holds(path: Path, text: str) -> bool:
    needle = text.encode("utf-8")
    return any(needle in file.read_bytes() for file in path.parent.glob(path.name + "*"))


def test_old_flow_runs_go_with_their_logs_and_artifacts(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, retention_file=tmp_path / "aufbewahrung.toml")
    intake.prepare(settings)
    with_personal_data()
    database = prefect_database()
    deadline = time.monotonic() + 30
    while not holds(database, NAME) and time.monotonic() < deadline:
        time.sleep(0.5)  # logs reach the server in batches
    assert holds(database, NAME)

    now = datetime.now(UTC)
    assert delete_prefect_runs(settings, now=now, actor="zeitplan") == {}  # not due yet
    counts = delete_prefect_runs(settings, now=now + timedelta(days=91), actor="zeitplan")

    assert counts["prefect_laeufe"] >= 1 and counts["artefakte"] >= 1
    assert not holds(database, NAME)
