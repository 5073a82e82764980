"""Letters to PDF/A: every rendered letter waiting for its PDF, or any stored .docx, converted
by LibreOffice with the service's limits (I/O: files, database, processes)."""

from __future__ import annotations

import atexit
import os
import shutil
import threading
import uuid
from pathlib import Path

from ews.core.errors import ConversionError
from ews.letters.pdfa import convert_to_pdfa
from ews.letters.warm import WarmListener
from ews.register import cases as register
from ews.register import letters as letters_register
from ews.register.database import transaction
from ews.register.locks import locks_for
from ews.runtime import storage
from ews.runtime.settings import Settings

LETTER_LOCKS = "brief"  # lock space of the letters a process is converting
#: this process's one warm LibreOffice, under the key of the settings it was made for
_LISTENER: dict[tuple[object, ...], WarmListener] = {}
_LISTENER_LOCK = threading.Lock()


def convert_pending_letters(settings: Settings) -> list[str]:
    """Convert every rendered letter to PDF/A in batches; returns the PDFs' locations. Letters
    another process is converting are left to it."""
    if not settings.letters.pdf:
        return []
    with locks_for(settings) as locks:
        with transaction(settings.db_url) as session:
            waiting = [row.id for row in register.letters_waiting_for_pdf(session)]
        mine = locks.try_items(LETTER_LOCKS, waiting)
        # re-read: another pass may have finished some
        with transaction(settings.db_url) as session:
            pending = {row.id: row.docx_path
                       for row in register.letters_waiting_for_pdf(session) if row.id in mine}
        if not pending:
            return []
        made, failure = convert_stored(list(pending.values()), settings)
        # the others were converted: record them first
        with transaction(settings.db_url) as session:
            for letter_id, docx in pending.items():
                if docx in made:
                    letters_register.record_pdf(session, letter_id, made[docx])
    if failure is not None:
        raise failure
    return [made[docx] for docx in pending.values() if docx in made]


def convert_stored(locations: list[str], settings: Settings
                   ) -> tuple[dict[str, str], ConversionError | None]:
    """PDF/A for stored .docx files, each beside its .docx: ``{docx: pdf}`` locations of those
    converted, and the error naming the others. Files in a local folder are converted where
    they lie; others are fetched into a scratch folder and their PDFs stored back."""
    made: dict[str, str] = {}
    failures: dict[str, str] = {}
    local = [location for location in locations if "://" not in location]  # LocalStore's
    remote = [location for location in locations if "://" in location]
    if local:
        _convert_in_place(local, settings, made, failures)
    if remote:
        _convert_fetched(remote, settings, made, failures)
    return made, ConversionError(failures) if failures else None


def _convert_in_place(locations: list[str], settings: Settings, made: dict[str, str],
                      failures: dict[str, str]) -> None:
    failures.update(_converted({str(Path(location).absolute()): location
                                for location in locations}, settings))
    for location in locations:
        docx, pdf = Path(location), Path(location).with_suffix(".pdf")
        if pdf.is_file() and pdf.stat().st_mtime >= docx.stat().st_mtime:
            made[location] = str(pdf)  # else not converted, or an old PDF of an earlier text


def _convert_fetched(locations: list[str], settings: Settings, made: dict[str, str],
                     failures: dict[str, str]) -> None:
    scratch = settings.data_dir / "libreoffice" / "arbeit" / uuid.uuid4().hex
    scratch.mkdir(parents=True)
    try:
        copies: dict[str, str] = {}  # scratch copy -> location
        for number, location in enumerate(locations):  # names repeat across case folders
            copy = scratch / f"{number:05d}__{storage.location_name(location)}"
            try:
                copy.write_bytes(storage.read_location(location, settings.storage.options))
            except OSError as exc:  # the others are converted all the same
                failures[location] = f"nicht lesbar ({exc})"
                continue
            copies[str(copy.absolute())] = location
        failures.update(_converted(copies, settings))
        store = storage.output_store(settings)
        for copied, location in copies.items():
            pdf = Path(copied).with_suffix(".pdf")
            if pdf.is_file():
                made[location] = store.put(storage.with_suffix(location, ".pdf"),
                                           pdf.read_bytes())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _converted(documents: dict[str, str], settings: Settings) -> dict[str, str]:
    """Convert the files (absolute path -> the location to name them by); the failures by
    location."""
    if not documents:
        return {}
    try:
        convert_letters([Path(path) for path in documents], settings)
    except ConversionError as exc:
        return {documents.get(path, path): reason for path, reason in exc.failures.items()}
    return {}


def convert_letters(docx_paths: list[Path], settings: Settings) -> None:
    """PDF/A beside each .docx, by LibreOffice with the service's limits: at most
    ``letters.parallel`` conversions at once over every worker, each with its own profile."""
    letters = settings.letters
    with locks_for(settings) as locks, locks.slot(
            "libreoffice", letters.parallel, wait=letters.timeout_seconds * 4) as slot:
        convert_to_pdfa(docx_paths, soffice=letters.soffice,
                        profile_dir=settings.data_dir / "libreoffice" / f"profil-{slot}",
                        timeout=letters.timeout_seconds, batch_size=letters.batch_size,
                        warm=warm_listener(settings))


def warm_listener(settings: Settings) -> WarmListener | None:
    """This process's warm LibreOffice (started on its first batch, stopped at exit; one per
    process: other settings replace it), or None when ``letters.warm`` is off. It converts
    only inside a slot of ``convert_letters``, so the global limit on parallel conversions
    holds."""
    letters = settings.letters
    if not letters.warm:
        return None
    key = (os.getpid(), settings.data_dir.absolute(), letters.soffice, letters.uno_python,
           letters.timeout_seconds, letters.restart_after, letters.batch_size)
    with _LISTENER_LOCK:
        if key not in _LISTENER:
            for old in [old for old in _LISTENER if old[0] == os.getpid()]:
                _LISTENER.pop(old).stop()
            _LISTENER.clear()  # a forked child's copy of its parent's: not its own
            profile = settings.data_dir / "libreoffice" / f"warm-{os.getpid()}"
            _LISTENER[key] = WarmListener(
                soffice=letters.soffice, python=letters.uno_python, profile_dir=profile,
                timeout=letters.timeout_seconds, restart_after=letters.restart_after,
                batch_size=letters.batch_size)
        return _LISTENER[key]


def stop_warm_listener() -> None:
    """Stops this process's warm LibreOffice (at exit; the tests call it)."""
    with _LISTENER_LOCK:
        for key in [key for key in _LISTENER if key[0] == os.getpid()]:
            _LISTENER.pop(key).stop()


atexit.register(stop_warm_listener)
