"""The replacement rule of applications: the later receipt becomes current (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ews.core.replacement import Receipt, replaces

T = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_a_later_receipt_replaces_the_current_application() -> None:
    assert replaces(Receipt(T + timedelta(minutes=1), 3), Receipt(T, 7))


def test_an_earlier_receipt_is_replaced_by_the_current_one() -> None:
    assert not replaces(Receipt(T - timedelta(seconds=1), 9), Receipt(T, 7))


def test_at_the_same_time_the_later_claimed_input_counts() -> None:
    assert replaces(Receipt(T, 8), Receipt(T, 7))
    assert not replaces(Receipt(T, 6), Receipt(T, 7))
