"""Files staff put into an Az.-named subfolder of the inbox: filed to that case as
correspondence (I/O: files, database).

A first-level subfolder of the inbox whose name starts like one of our Az. (its file plan key,
e.g. „13.0.70-004-2026“, „13.0.70-004_2026“, „Az 13.0.70 – 4/2026“: „/“ cannot be in a folder
name; ``ews.core.references.az_of_folder``) is a case folder; every stable file in it (also
deeper) belongs to that case:

- a PDF that is a filled application form by its fields or text layer, or a Gemeinsame
  Erklärung by its text or QR code (``ews.intake.replies.read_nature``: FORM,
  DECLARATION; read on the worker pool, within the intake's limits) becomes an ordinary input of
  channel ``ordner`` — a corrected application replaces the earlier one as ever — and the
  correspondence row names it (``input_id``);
- any other file (a signed confirmation, a scan, a letter) is archived byte for byte under
  ``akte/`` and recorded as correspondence (channel and ``matched_by`` ``ordner``);
- a case folder whose name is no Az. the register knows: its files go to the quarantine with
  a German reason (nothing is lost).

The receipt time is the file's first sighting. A file is claimed by one atomic rename into
``.ews-in-arbeit/akte/`` (never adopted as an ordinary input) and finished from there, so a
crash leaves it to the next pass; a crash between its archiving and the register's commit
leaves the archived file without its row (logged, not lost).
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ews.core.models import FormReading
from ews.core.names import STORED_NAME_MAX_BYTES, readable, safe_name, safe_title
from ews.core.references import az_of_folder, case_folder_of
from ews.core.sniff import is_pdf
from ews.intake.early_readings import EARLY_READINGS
from ews.intake.failures import failure_reason, is_infrastructure
from ews.intake.replies import DECLARATION, FORM, UNKNOWN, read_nature
from ews.register import cases as register
from ews.register import correspondence
from ews.register.database import transaction
from ews.runtime import folders, storage, workers
from ews.runtime.settings import Settings

log = logging.getLogger(__name__)

#: where case-folder files wait between their claim and their filing: „<Az. folder>/<file>“
CLAIMED = Path(folders.WORK_FOLDER) / "akte"
AS_INPUT = frozenset({FORM, DECLARATION})


def unknown_case(folder: str) -> str:
    return (f"Der Ordner „{folder}“ im Posteingang nennt kein Aktenzeichen, das im Register "
            "bekannt ist (Schreibweise z. B. „13.0.70-004-2026“). Die Datei wurde nicht "
            "zugeordnet; bitte in den Ordner des richtigen Aktenzeichens legen.")


def split_case_files(observations: list[folders.Observation], inbox: Path, settings: Settings
                     ) -> tuple[list[folders.Observation], list[folders.Observation]]:
    """The stable files of case folders, and the others (pure)."""
    key = settings.az.file_plan_key
    in_case = [obs for obs in observations if case_folder_of(obs.path, inbox, key)]
    return in_case, [obs for obs in observations if obs not in in_case]


def claim_and_file(settings: Settings, observations: list[folders.Observation], inbox: Path,
                   now: datetime) -> list[int]:
    """Claim each case-folder file (one rename into ``.ews-in-arbeit/akte/<folder>/``) and
    file it, received at its first sighting; then what a crashed pass left. A file that
    changed or is gone is left to the next scan. Returns the inputs opened."""
    opened: list[int] = []
    for obs in observations:
        folder = case_folder_of(obs.path, inbox, settings.az.file_plan_key)
        if folder is None:
            continue
        target = inbox / CLAIMED / safe_name(readable(folder)) / folders.claim_name(
            readable(obs.path.name), uuid.uuid4().hex[:12])
        target.parent.mkdir(parents=True, exist_ok=True)
        with transaction(settings.db_url) as session:
            path = readable(str(obs.path))
            seen = register.record_sightings(session, [(path, obs.size, 0)], now)[path]
            received = seen.stamped_at or seen.first_seen_at
        try:
            info = obs.path.lstat()
            if (info.st_size, info.st_mtime_ns) != (obs.size, obs.mtime_ns):
                continue
            os.rename(obs.path, target)
        except FileNotFoundError:
            continue
        opened += _file_logged(settings, _Claimed(target.parent.name, target), received)
        with transaction(settings.db_url) as session:
            register.forget_sighting(session, register.record_sightings(
                session, [(path, obs.size, 0)], now)[path])
    return opened + file_case_files(settings, now)


@dataclass(frozen=True)
class _Claimed:
    folder: str
    path: Path


def claimed_case_files(inbox: Path) -> list[_Claimed]:
    """The claimed case-folder files waiting to be filed (also a crashed pass's)."""
    root = inbox / CLAIMED
    if not root.is_dir():
        return []
    return [_Claimed(folder.name, path) for folder in sorted(root.iterdir()) if folder.is_dir()
            for path in sorted(folder.iterdir()) if path.is_file() and not path.is_symlink()]


def file_case_files(settings: Settings, now: datetime) -> list[int]:
    """File every claimed case-folder file a crashed pass left (received ``now``: its first
    sighting is gone); the inputs opened."""
    return [input_id for claimed in claimed_case_files(settings.inbox_dir.resolve())
            for input_id in _file_logged(settings, claimed, now)]


def _file_logged(settings: Settings, claimed: _Claimed, received: datetime) -> list[int]:
    try:
        return _file(settings, claimed, received)
    except Exception as exc:
        if is_infrastructure(exc):
            raise
        log.error("Datei %s aus dem Aktenordner nicht abgelegt: %s", claimed.path,
                  failure_reason(exc))
        return []


def _file(settings: Settings, claimed: _Claimed, received: datetime) -> list[int]:
    name = folders.original_name(claimed.path)
    digest = folders.sha256_of(claimed.path)
    size = claimed.path.lstat().st_size
    az = az_of_folder(claimed.folder, settings.az.file_plan_key, settings.az.serial_digits)
    with transaction(settings.db_url) as session:
        known = az is not None and correspondence.az_exists(session, az)
        if register.input_by_claim(session, str(claimed.path)) is not None:
            return []  # opened by a pass that crashed before the input took its file
    if az is None or not known:
        storage.quarantine_store(settings).quarantine(
            claimed.path, f"akte/{safe_name(claimed.folder)}__{claimed.path.name}",
            [unknown_case(claimed.folder)], sha256=digest)
        log.warning("Datei „%s“ im Ordner „%s“: kein bekanntes Aktenzeichen, in die "
                    "Quarantäne gelegt", name, claimed.folder)
        return []
    nature = _nature(settings, claimed.path, size)
    with transaction(settings.db_url) as session:
        if nature in AS_INPUT:
            item = register.open_input(
                session, claim_path=str(claimed.path), source_name=f"{name} (Ordner {az})",
                sha256=digest, size=size, received_at=received, channel="ordner")
            session.flush()
            correspondence.record(session, az=az, channel="ordner", matched_by="ordner",
                                  subject=f"Datei „{name}“", received_at=received,
                                  sha256=digest, raw_path=None, input_id=item.id,
                                  created_at=received)
            return [item.id]
    store = storage.archive_store(settings)
    location = store.file_original(claimed.path, f"akte/{safe_title(az)}/" + safe_name(
        claimed.path.name, max_bytes=STORED_NAME_MAX_BYTES), sha256=digest)
    with transaction(settings.db_url) as session:
        correspondence.record(
            session, az=az, channel="ordner", matched_by="ordner", subject=f"Datei „{name}“",
            received_at=received, sha256=digest, raw_path=location,
            attachments=[{"name": name, "path": location, "sha256": digest,
                          "size": size}], created_at=received)
    return []


def _nature(settings: Settings, path: Path, size: int) -> str:
    """The nature of a PDF within the intake's size limit; "" for anything else (read only
    then: a huge file is archived as it is). The file is read on the worker pool, within the
    intake's memory limit and timeout (``_nature_job``): a PDF that breaks them is UNKNOWN
    (filed to the case as it is) and holds up nothing. A form read by its fields is kept for
    the intake (``early_readings``), which then does not read it again."""
    limits = settings.intake
    if size > limits.max_file_mb * 1024 * 1024:
        return ""
    result = workers.outcome(workers.submit_limited(settings, _nature_job, path),
                             limits.read_timeout_seconds)
    if isinstance(result, workers.WorkerFailed):
        log.warning("Datei „%s“ im Aktenordner nicht gelesen, wird so zur Akte gelegt: %s",
                    folders.original_name(path), result.reason)
        return UNKNOWN
    nature, reading = result
    if reading is not None:
        EARLY_READINGS.keep(path, reading)
    return nature


def _nature_job(path: Path) -> tuple[str, FormReading | None]:
    """A worker job (module and name): a claimed case-folder file read where the limits
    hold, as the intake reads its inputs; "" for a file that is no PDF, else ``read_nature``
    of a PDF that belongs to a case (``reply``)."""
    data = folders.read_claim(path)
    if not is_pdf(data):
        return "", None
    return read_nature(data, reply=True)
