"""Stage 3 of an input: its original archived, or quarantined with its reasons (I/O: files,
and the input's row in the caller's transaction). A filing that keeps failing ends the input
on its last attempt, with the journal saying where the file lies."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from ews.core.deadlines import BERLIN
from ews.core.models import Outcome
from ews.core.names import STORED_NAME_MAX_BYTES, safe_name
from ews.intake.failures import failure_reason, is_infrastructure
from ews.register import inputs
from ews.register.schema import Input
from ews.runtime import folders, storage
from ews.runtime.settings import Settings

NOT_FILED = "Die Datei konnte weder archiviert noch in die Quarantäne gelegt werden " \
            "({reason}); sie liegt weiter unter {path}."
NOT_FINISHED = "Die Datei liegt unter {path}, aber ihre Ablage konnte nicht abgeschlossen " \
               "werden ({reason})."
MISSING_CLAIM = "Die Datei lag nicht mehr im Arbeitsordner ({path}); sie konnte weder " \
                "archiviert noch in die Quarantäne gelegt werden."


def file_input(row: Input, settings: Settings, now: datetime) -> None:
    claim = Path(row.claim_path)
    original = folders.original_name(claim)
    prefix = f"{row.id:06d}__"
    key = prefix + safe_name(original, max_bytes=STORED_NAME_MAX_BYTES - len(prefix))
    stored: str | None = None
    try:
        stored = _store_original(row, claim, key, settings)
    except OSError as exc:
        if is_infrastructure(exc):
            raise
        failure: OSError | None = exc
        if os.path.lexists(claim):  # e.g. a name the file system refuses: a plain name
            suffix = Path(original).suffix
            plain = f"{prefix}Eingang{suffix if suffix.isascii() and len(suffix) <= 10 else ''}"
            try:
                stored, failure = _store_original(row, claim, plain, settings), None
            except OSError as again:
                if is_infrastructure(again):
                    raise
                failure = again
        if failure is not None:
            if row.attempts < settings.intake.max_attempts:
                raise failure from None
            # the last attempt: the input ends, and the journal says where its file is
            stored = _unfinished_filing(row, claim, key, failure, settings)
    inputs.mark_done(row, stored, now)


def _unfinished_filing(row: Input, claim: Path, key: str, failure: OSError,
                       settings: Settings) -> str | None:
    """Where the file of an input whose filing failed for the last time lies: in the work
    folder, or placed under its key by an attempt that failed after (its reason); the
    journal says which."""
    reason = failure_reason(failure)
    if os.path.lexists(claim):
        inputs.add_reasons(row, NOT_FILED.format(reason=reason, path=claim))
        return None
    store, folder = _original_store(row, settings)
    placed = store.location(folder + key)
    if store.exists(placed):
        inputs.add_reasons(row, NOT_FINISHED.format(path=placed, reason=reason))
        return placed
    inputs.add_reasons(row, MISSING_CLAIM.format(path=claim))
    return None


def _store_original(row: Input, claim: Path, name: str, settings: Settings) -> str:
    store, folder = _original_store(row, settings)
    if row.outcome == Outcome.INVALID.value:
        return store.quarantine(claim, folder + name, row.reasons, sha256=row.sha256)
    return store.file_original(claim, folder + name, sha256=row.sha256)


def _original_store(row: Input, settings: Settings) -> tuple[storage.Store, str]:
    """Where an input's original goes: the quarantine, or the archive's month folder."""
    if row.outcome == Outcome.INVALID.value:
        return storage.quarantine_store(settings), ""
    month = row.received_at.astimezone(BERLIN).strftime("%Y-%m")
    return storage.archive_store(settings), f"{month}/"
