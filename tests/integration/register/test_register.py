"""The register on the real database: Az. numbering and replacement."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ews.register import cases as register
from ews.register.database import migrate, session_factory
from ews.register.schema import ApplicationRow, Input
from ews.runtime.settings import AzSettings, Settings

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _input(session, n: int) -> Input:
    row = register.open_input(
        session,
        claim_path=f"/claim/{n}",
        source_name=f"{n}.pdf",
        sha256=f"{n:064d}",
        size=1,
        received_at=T0,
    )
    session.flush()
    return row


def _application(session, n: int, ags: str, received: datetime) -> ApplicationRow:
    row = _input(session, n)
    az, serial = register.issue_az(session, 2026, AzSettings())
    application, _replaced = register.add_application(
        session,
        ApplicationRow(
            az=az,
            az_year=2026,
            az_serial=serial,
            round_name="EWS 6",
            ags=ags,
            kommune_name=ags,
            status="registered",
            received_at=received,
            deadline_last_day="2027-03-01",
            fields={},
            input_id=row.id,
        ),
    )
    return application


def test_az_is_gap_free_per_year_and_restarts_in_a_new_year(settings: Settings) -> None:
    migrate(settings.db_url)
    with session_factory(settings.db_url).begin() as session:
        issued = [register.issue_az(session, 2026, AzSettings())[0] for _ in range(3)]
        issued.append(register.issue_az(session, 2027, AzSettings())[0])
    assert issued == [
        "13.0.70-001/2026",
        "13.0.70-002/2026",
        "13.0.70-003/2026",
        "13.0.70-001/2027",
    ]


def test_az_of_a_rolled_back_transaction_is_issued_again(settings: Settings) -> None:
    migrate(settings.db_url)
    sessions = session_factory(settings.db_url)
    session = sessions()
    register.issue_az(session, 2026, AzSettings())
    session.rollback()
    session.close()
    with sessions.begin() as session:
        assert register.issue_az(session, 2026, AzSettings())[0] == "13.0.70-001/2026"


def _issue_many(url: str, count: int) -> list[str]:
    sessions = session_factory(url)
    issued = []
    for _ in range(count):
        with sessions.begin() as session:
            issued.append(register.issue_az(session, 2026, AzSettings(serial_digits=4))[0])
    return issued


@pytest.mark.slow
def test_two_processes_issuing_at_once_get_unique_gap_free_numbers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    migrate(url)
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        batches = pool.starmap(_issue_many, [(url, 60), (url, 60)])
    serials = sorted(int(az.split("-")[1].split("/")[0]) for batch in batches for az in batch)
    assert serials == list(range(1, 121))


def test_newer_application_replaces_older_and_both_stay(settings: Settings) -> None:
    migrate(settings.db_url)
    with session_factory(settings.db_url).begin() as session:
        old = _application(session, 1, "05978004", T0)
        new = _application(session, 2, "05978004", T0 + timedelta(days=1))
    with session_factory(settings.db_url).begin() as session:
        rows = {r.az: r for r in register.application_rows(session)}
    assert rows[old.az].status == "replaced"
    assert rows[old.az].replaced_by_id == new.id
    assert rows[new.az].status == "registered"


def test_older_application_processed_late_is_filed_as_replaced(settings: Settings) -> None:
    migrate(settings.db_url)
    with session_factory(settings.db_url).begin() as session:
        newer = _application(session, 1, "05966", T0 + timedelta(days=2))
        older = _application(session, 2, "05966", T0)
    assert older.status == "replaced"
    assert older.replaced_by_id == newer.id
    assert newer.status == "registered"
