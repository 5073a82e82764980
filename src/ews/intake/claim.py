"""Claiming the inbox's files: stable files moved into the work folder and recorded as inputs,
and files a crashed run left there adopted (I/O: files, database, locks)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ews.core.names import readable, safe_name
from ews.intake.case_folders import claim_and_file, split_case_files
from ews.intake.failures import failure_reason, is_infrastructure
from ews.intake.inbox_changes import closed_files
from ews.register import cases as register
from ews.register import inputs
from ews.register.database import transaction
from ews.register.heartbeats import inbox_name
from ews.register.locks import locks_for
from ews.runtime import folders
from ews.runtime.settings import Settings

log = logging.getLogger(__name__)

CLAIM_WAIT = 600.0  # seconds a pass waits while another process claims from the same inbox


def claim_new_inputs(settings: Settings, now: Callable[[], datetime] | None = None
                     ) -> list[int]:
    """Adopt files a crashed run left in the work folder, then claim every stable file. One
    process at a time per inbox, over every machine that watches it (a shared folder)."""
    clock = now or (lambda: datetime.now(UTC))
    inbox = settings.inbox_dir.resolve()
    with locks_for(settings) as locks, locks.named(inbox_name(settings), wait=CLAIM_WAIT):
        # no other process is between its renames and its commit now: what lies in the
        # work folder without an input is a crashed run's
        folders.set_aside_refused(inbox)  # links, FIFOs, devices: never read, moved aside
        adopted = [_adopt(path, settings, clock()) for path in _orphans(settings)]
        seen_at = clock()  # everything found in one scan was first seen at the same moment
        with transaction(settings.db_url) as session:
            register.record_sightings(session, [(readable(str(obs.path)), obs.size, obs.mtime_ns)
                                                for obs in folders.observe_inbox(inbox).values()],
                                      seen_at)
        # files in an Az.-named subfolder belong to that case (``ews.intake.case_folders``)
        in_case, ordinary = split_case_files(
            folders.stable_files(inbox, settings.intake.stable_seconds,
                                 closed=closed_files(inbox),
                                 settle=settings.intake.stable_after_close_seconds),
            inbox, settings)
        moved = [(target, obs) for obs in ordinary
                 if (target := _claimed(obs, inbox)) is not None]
        # a crash between the renames and this commit leaves orphans, adopted by the next pass
        return adopted + _open_all([(target, readable(str(obs.path))) for target, obs in moved],
                                   settings, clock()) + claim_and_file(settings, in_case, inbox,
                                                                       clock())


def _claimed(observation: folders.Observation, inbox: Path) -> Path | None:
    """``folders.claim_file`` (its name fits 255 bytes, ``ews.core.names``); a file whose claim
    fails otherwise is left where it lies, so that the other files go on."""
    try:
        return folders.claim_file(observation, inbox)
    except OSError as exc:
        if is_infrastructure(exc):
            raise
        log.warning("Datei %s nicht übernommen: %s", observation.path, failure_reason(exc))
        return None


def _orphans(settings: Settings) -> list[Path]:
    claimed = folders.claimed_files(settings.inbox_dir)
    with transaction(settings.db_url) as session:
        held = register.claims_on_file(session, (str(path) for path in claimed))
    return [path for path in claimed if str(path) not in held]


def _adopt(path: Path, settings: Settings, now: datetime) -> int:
    name = folders.original_name(path)
    return _open_all([(path, str(settings.inbox_dir.resolve() / name))], settings, now)[0]


def _open_all(claims: list[tuple[Path, str]], settings: Settings, now: datetime) -> list[int]:
    """Record claimed files as inputs, in one transaction."""
    if not claims:
        return []
    digests = [(folders.sha256_of(claim), claim.stat().st_size) for claim, _ in claims]
    with transaction(settings.db_url) as session:
        rows = []
        stamped = []
        sightings = register.record_sightings(
            session, [(path, size, 0) for (_, path), (_, size) in zip(claims, digests,
                                                                      strict=True)], now)
        for (claim, inbox_path), (digest, size) in zip(claims, digests, strict=True):
            seen = sightings[inbox_path]
            rows.append(register.open_input(
                session, claim_path=str(claim), source_name=_source_name(inbox_path),
                sha256=digest, size=size, received_at=seen.first_seen_at,
                stamped_at=seen.stamped_at))
            if seen.stamped_at is not None:
                stamped.append((inbox_path, rows[-1]))
            register.forget_sighting(session, seen)
        ids = inputs.ids_of(session, rows)
        for inbox_path, row in stamped:
            register.file_stamp_events(session, inbox_path, row.id)
        return ids


def _source_name(inbox_path: str) -> str:
    """The name as it lay in the inbox: whole, where the claim's name may be cut to fit."""
    return safe_name(Path(inbox_path).name)
