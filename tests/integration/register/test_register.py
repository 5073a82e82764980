"""The register on the real database: Az. numbering and replacement."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from ews.register import cases as register
from ews.register.database import migrate, session_factory
from ews.register.schema import ApplicationRow, Input, LetterRow
from ews.runtime.settings import AzSettings, Settings
from tests.conftest import make_settings

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


def _counter(url: str, year: int) -> int:
    with session_factory(url).begin() as session:
        return int(session.execute(text("SELECT last_serial FROM az_counters WHERE year = :y"),
                                   {"y": year}).scalar_one())


def test_a_reservation_issues_its_serials_and_gives_back_the_rest(
        tmp_path: Path, database_url: str | None) -> None:
    """One statement a year for a chunk's decisions; what they did not issue goes back, so
    the next Az. follows without a gap, also one issued in between for another purpose (a
    declaration) and one of a year nobody reserved."""
    settings = make_settings(tmp_path, **({"database_url": database_url} if database_url else {}))
    migrate(settings.db_url)
    with session_factory(settings.db_url).begin() as session:
        register.issue_az(session, 2026, AzSettings())  # 001 before
        with register.reserved_az(session, {2026: 5, 2027: 2}):
            issued = [register.issue_az(session, 2026, AzSettings())[0] for _ in range(2)]
            issued.append(register.issue_az(session, 2028, AzSettings())[0])
            issued.append(register.issue_az(session, 2026, AzSettings())[0])
    assert issued == ["13.0.70-002/2026", "13.0.70-003/2026", "13.0.70-001/2028",
                      "13.0.70-004/2026"]
    assert _counter(settings.db_url, 2026) == 4 and _counter(settings.db_url, 2027) == 0
    with session_factory(settings.db_url).begin() as session:
        assert register.issue_az(session, 2026, AzSettings())[0] == "13.0.70-005/2026"
        assert register.issue_az(session, 2027, AzSettings())[0] == "13.0.70-001/2027"


def test_a_reservation_used_up_goes_on_from_the_counter(
        tmp_path: Path, database_url: str | None) -> None:
    settings = make_settings(tmp_path, **({"database_url": database_url} if database_url else {}))
    migrate(settings.db_url)
    with session_factory(settings.db_url).begin() as session, \
            register.reserved_az(session, {2026: 2}):
        issued = [register.issue_az(session, 2026, AzSettings())[1] for _ in range(4)]
    assert issued == [1, 2, 3, 4] and _counter(settings.db_url, 2026) == 4


def test_a_reservation_in_a_failed_transaction_is_rolled_back(
        tmp_path: Path, database_url: str | None) -> None:
    settings = make_settings(tmp_path, **({"database_url": database_url} if database_url else {}))
    migrate(settings.db_url)
    sessions = session_factory(settings.db_url)
    with pytest.raises(RuntimeError), sessions.begin() as session, \
            register.reserved_az(session, {2026: 30}):
        register.issue_az(session, 2026, AzSettings())
        raise RuntimeError("the disk")
    with sessions.begin() as session:
        assert register.issue_az(session, 2026, AzSettings())[0] == "13.0.70-001/2026"
        with register.reserved_az(session, {2026: 1}):  # the session's reservation is gone
            assert register.issue_az(session, 2026, AzSettings())[1] == 2


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


def test_the_claims_on_file_are_found_among_more_than_one_statement_takes(
        tmp_path: Path, database_url: str | None) -> None:
    """A pass asks which files of the work folder an input holds (the others a crashed run
    left): in lists of a thousand, so 1,005 paths take two statements."""
    settings = make_settings(tmp_path, **({"database_url": database_url} if database_url else {}))
    migrate(settings.db_url)
    with session_factory(settings.db_url).begin() as session:
        for n in (1, 500, 1003):
            _input(session, n)
    asked = [f"/claim/{n}" for n in range(1, 1006)]
    with session_factory(settings.db_url).begin() as session:
        assert register.claims_on_file(session, asked) == {"/claim/1", "/claim/500",
                                                           "/claim/1003"}
        assert register.claims_on_file(session, []) == set()


def test_applications_with_reserved_ids_are_written_with_their_letters_in_one_flush(
        tmp_path: Path, database_url: str | None) -> None:
    """A chunk's decisions take their applications' ids up front, so that an application and
    the letter naming it wait for the same flush; the foreign keys hold on both databases,
    and an application added without a reserved id later gets one after them."""
    settings = make_settings(tmp_path, **({"database_url": database_url} if database_url else {}))
    migrate(settings.db_url)
    with session_factory(settings.db_url).begin() as session:
        first = _application(session, 1, "05315000", T0)  # one there before
    with session_factory(settings.db_url).begin() as session:
        ids = register.reserve_application_ids(session, 3)
        assert len(set(ids)) == 3 and min(ids) > first.id
        assert register.reserve_application_ids(session, 0) == []
        for n, (ags, application_id) in enumerate(zip(("05111000", "05113000"), ids,
                                                      strict=False), start=2):
            row = _input(session, n)
            application, _ = register.add_application(session, ApplicationRow(
                id=application_id, az=f"13.0.70-05{n}/2026", az_year=2026, az_serial=50 + n,
                round_name="EWS 6", ags=ags, kommune_name=ags, status="registered",
                received_at=T0, deadline_last_day="2027-03-01", fields={}, input_id=row.id))
            register.plan_letter(session, input_id=row.id, application_id=application.id,
                                 kind="eingangsbestaetigung", reference=application.az,
                                 docx_path=f"/out/{n}.docx", data={})
        assert session.new  # nothing flushed yet: the commit writes them in order
    with session_factory(settings.db_url).begin() as session:
        later = _application(session, 9, "05112000", T0)
        names = dict(session.execute(select(ApplicationRow.id, ApplicationRow.ags)).tuples().all())
        letters = session.scalars(select(LetterRow.application_id)).all()
    assert names == {first.id: "05315000", ids[0]: "05111000", ids[1]: "05113000",
                     later.id: "05112000"}
    assert later.id > max(ids[:2]) and sorted(letters) == ids[:2]
