"""What a chunk of inputs costs the register on PostgreSQL: its input locks are taken and
released in one statement each, not one per input, and the statements of a whole pass stay
bounded per input; a chunk with one input that fails still files the others (issue 20)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ews.intake import passes as intake
from ews.intake.sharing import CHUNK, INPUT_LOCKS
from ews.register.locks import Locks
from tests.conftest import fresh_database, make_settings
from tests.support import pdfgen
from tests.support.sql import statements_sent

#: statements of a whole pass per input on PostgreSQL, with the item locks batched (8.6 with
#: two lock statements per input before; 6.7 on SQLite)
STATEMENTS_PER_INPUT = 7.5


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from fresh_database(request, "chunks")




def test_a_chunk_of_input_locks_is_one_statement_and_each_id_stays_its_own_lock(
        postgres_url: str, tmp_path: Path) -> None:
    ids = list(range(1, CHUNK + 1))
    with Locks(postgres_url, tmp_path) as first, Locks(postgres_url, tmp_path) as second:
        with statements_sent(postgres_url) as seen:
            assert first.try_items(INPUT_LOCKS, ids) == ids
        assert len(seen) == 1
        # the other holder gets exactly the ids the first does not hold, in their order
        assert second.try_items(INPUT_LOCKS, [40, 3, 33, 7, 34]) == [40, 33, 34]
        with statements_sent(postgres_url) as seen:
            first.release_items(INPUT_LOCKS, [3, 7])
        assert len(seen) == 1
        assert second.try_items(INPUT_LOCKS, [7, 3, 8]) == [7, 3]
        assert first.try_items(INPUT_LOCKS, []) == []


def test_a_pass_takes_a_bounded_number_of_statements_and_a_failing_input_holds_no_other(
        postgres_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url=postgres_url)
    intake.prepare(settings)
    count = CHUNK + 8  # two chunks
    for number in range(count):
        (settings.inbox_dir / f"{number:03d}.pdf").write_bytes(pdfgen.filled_form())
    (settings.inbox_dir / "010-kaputt.pdf").write_bytes(b"%PDF-1.7\n kein PDF")

    with statements_sent(postgres_url) as seen:
        results = intake.run_pass(settings)

    outcomes = {r.source_name: r for r in results}
    assert len(outcomes) == count + 1
    broken = outcomes.pop("010-kaputt.pdf")
    assert broken.outcome == "invalid" and broken.reasons and broken.stored_path
    # the same form 40 times: the first is registered, the others are its duplicates
    assert sorted(r.outcome for r in outcomes.values()).count("registered") == 1
    assert all(r.outcome in ("registered", "duplicate") for r in outcomes.values())
    locks = [s for s in seen if "advisory" in s]
    assert len(locks) <= 20, locks  # per chunk, not per input (2 per input before)
    assert len(seen) <= STATEMENTS_PER_INPUT * (count + 1), len(seen)
