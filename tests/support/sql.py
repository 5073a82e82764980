"""Counting the SQL statements a block of code sends to the register (for tests that bound
round trips)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

from ews.register.database import engine_for


@contextmanager
def statements_sent(target: str | Engine) -> Iterator[list[str]]:
    """The statements sent on the engine of ``target`` (a database URL, or an engine) while
    the block runs, in order."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = engine_for(target) if isinstance(target, str) else target
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)
