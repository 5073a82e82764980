"""Locks that hold across processes and machines (I/O: database, files).

On PostgreSQL they are session-level advisory locks on a connection of their own: the server
drops them the moment that connection ends, so a worker that is killed (or whose machine
dies) frees its inputs, its mailbox and its conversion slot at once, and another worker takes
over. On SQLite, which serves one machine, they are ``fcntl`` locks on files in the data
folder, which the kernel drops with the process. Nothing here is an in-process lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, text

from ews.core.errors import LockTimeout
from ews.register.database import engine_for
from ews.runtime.settings import Settings

#: advisory lock namespaces (the first of PostgreSQL's two 32-bit keys)
_NAMED, _ITEMS = 0x4557, 0x4558
_POLL = 0.2  # seconds between attempts while waiting for a lock


def _key(name: str) -> int:
    """A stable signed 32-bit key for a lock name (the same on every machine)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "big",
                          signed=True)


def _items_namespace(space: str) -> int:
    return _ITEMS ^ _key(space) & 0x7FFF0000


class Locks:
    """The locks of one register; use as a context manager (``with Locks(...) as locks``).
    Every lock this object holds is released when it closes."""

    def __init__(self, db_url: str, lock_dir: Path) -> None:
        self.db_url, self.lock_dir = db_url, lock_dir
        self._postgres = db_url.startswith("postgresql")
        self._connection: Connection | None = None
        self._files: dict[str, IO[bytes]] = {}

    def __enter__(self) -> Locks:
        if self._postgres:
            engine = engine_for(self.db_url)
            self._connection = engine.connect().execution_options(
                isolation_level="AUTOCOMMIT")
        else:
            self.lock_dir.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                connection.execute(text("SELECT pg_advisory_unlock_all()"))
            except Exception:
                connection.invalidate()  # never back into the pool with locks still held
                raise
            finally:
                connection.close()
        for handle in self._files.values():
            handle.close()  # the kernel drops the process's fcntl locks on the file
        self._files.clear()

    # -- named locks: one holder at a time (a mailbox, the inbox's claim step) ---------------

    def try_named(self, name: str) -> bool:
        """Take the lock ``name`` if it is free; True when this object holds it now."""
        if self._connection is not None:
            return self._try(_NAMED, _key(name))
        return self._try_flock(name)

    def release_named(self, name: str) -> None:
        if self._connection is not None:
            self._unlock(_NAMED, _key(name))
        else:
            fcntl.flock(self._file(name), fcntl.LOCK_UN)

    @contextmanager
    def named(self, name: str, *, wait: float) -> Iterator[None]:
        """Hold ``name`` for the block, waiting up to ``wait`` seconds for it."""
        deadline = time.monotonic() + wait
        while not self.try_named(name):
            if time.monotonic() >= deadline:
                raise LockTimeout(name, wait)
            time.sleep(_POLL)
        try:
            yield
        finally:
            self.release_named(name)

    @contextmanager
    def slot(self, name: str, slots: int, *, wait: float) -> Iterator[int]:
        """Hold one of ``slots`` numbered slots of ``name`` (a limit on how many processes
        do something at once, over every machine); yields the slot's number from 1."""
        deadline = time.monotonic() + wait
        while True:
            for number in range(1, slots + 1):
                if self.try_named(f"{name}#{number}"):
                    try:
                        yield number
                    finally:
                        self.release_named(f"{name}#{number}")
                    return
            if time.monotonic() >= deadline:
                raise LockTimeout(name, wait)
            time.sleep(_POLL)

    # -- item locks: which worker works on which input --------------------------------------

    def try_items(self, space: str, ids: list[int]) -> list[int]:
        """Take the locks of those ids that no other process holds; returns them, in their
        order. On PostgreSQL one statement for all of them (a round trip per chunk, not per
        input); each id is still its own lock."""
        if self._connection is not None:
            if not ids:
                return []
            held = set(self._connection.execute(
                text("SELECT id FROM unnest(CAST(:ids AS integer[])) AS id "
                     "WHERE pg_try_advisory_lock(:a, id)"),
                {"a": _items_namespace(space), "ids": ids}).scalars())
            return [i for i in ids if i in held]
        return [i for i in ids if self._try_file(f"items-{space}", i + 1)]

    def release_items(self, space: str, ids: list[int]) -> None:
        if self._connection is not None:
            if ids:
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:a, id) "
                         "FROM unnest(CAST(:ids AS integer[])) AS id"),
                    {"a": _items_namespace(space), "ids": ids})
        else:
            for i in ids:
                self._unlock_file(f"items-{space}", i + 1)

    # -- backends ---------------------------------------------------------------------------

    def _try(self, namespace: int, key: int) -> bool:
        assert self._connection is not None
        held = self._connection.execute(text("SELECT pg_try_advisory_lock(:a, :b)"),
                                        {"a": namespace, "b": key}).scalar_one()
        return bool(held)

    def _unlock(self, namespace: int, key: int) -> None:
        assert self._connection is not None
        self._connection.execute(text("SELECT pg_advisory_unlock(:a, :b)"),
                                 {"a": namespace, "b": key})

    def _file(self, name: str) -> IO[bytes]:
        if name not in self._files:
            path = self.lock_dir / f"{hashlib.sha1(name.encode()).hexdigest()[:16]}.lock"
            self._files[name] = path.open("ab")
        return self._files[name]

    def _try_flock(self, name: str) -> bool:
        # BSD locks: per open file, so they also hold between threads of one process
        try:
            fcntl.flock(self._file(name), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def _try_file(self, name: str, offset: int) -> bool:
        # POSIX record locks: per process, dropped when the process ends; one byte per item
        try:
            fcntl.lockf(self._file(name), fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset,
                        os.SEEK_SET)
        except OSError:
            return False
        return True

    def _unlock_file(self, name: str, offset: int) -> None:
        fcntl.lockf(self._file(name), fcntl.LOCK_UN, 1, offset, os.SEEK_SET)


def locks_for(settings: Settings) -> Locks:
    """The locks of the service's register (SQLite: files under ``data/locks``)."""
    return Locks(settings.db_url, settings.data_dir / "locks")
