"""Reading and validating one input into an ``Assessment`` (I/O: reads the claimed file; runs
in a worker process). A document that is rejected becomes reasons, never an error."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from ews.core.errors import DocumentRejected
from ews.core.forms import assess_fields
from ews.core.models import Assessment, FormReading
from ews.core.outcomes import rejection
from ews.documents.pdf import read_form
from ews.intake.failures import failure_reason, is_infrastructure
from ews.runtime import folders
from ews.runtime.settings import Settings


def too_large_reason(limit_mb: int) -> str:
    return f"Die Datei ist größer als {limit_mb} MB und wird nicht verarbeitet."


def assess_document(data: bytes, settings: Settings) -> Assessment:
    """Read and validate one document; a rejected document becomes reasons, never an error."""
    limit = settings.intake.max_file_mb
    if len(data) > limit * 1024 * 1024:
        return rejection(too_large_reason(limit))
    try:
        reading = read_form(data, ocr=settings.intake.ocr,
                            ocr_max_pages=settings.intake.ocr_max_pages)
    except DocumentRejected as rejected:
        return rejection(*rejected.reasons)
    return assess_reading(reading, settings)


def assess_reading(reading: FormReading, settings: Settings) -> Assessment:
    """Validate what was read from a document."""
    if reading.declaration is not None:
        return Assessment(method=reading.method, declaration=reading.declaration)
    assessment = assess_fields(reading.fields, round_name=settings.round.name)
    return assessment.model_copy(update={"method": reading.method})


def assess_file(path: Path, settings: Settings, reading: FormReading | None = None
                ) -> Assessment:
    """``assess_document`` for a claimed file: its size is checked before it is read, and an
    error of the reader that nobody foresaw becomes the input's reason. An error reading the
    file itself is raised (the input waits, counted). With ``reading`` (the file's form, read
    while its mail was prepared: ``early_readings``), the file is not read again."""
    limit = settings.intake.max_file_mb
    if path.lstat().st_size > limit * 1024 * 1024:
        return rejection(too_large_reason(limit))
    assess = (partial(assess_reading, reading, settings) if reading is not None else
              # a symbolic link put in the file's place is refused
              partial(assess_document, folders.read_claim(path), settings))
    try:
        return assess()
    except MemoryError:
        raise  # the worker's memory limit: ``workers.outcome`` names it
    except Exception as exc:  # noqa: BLE001 - one input's reader failed: its outcome
        if is_infrastructure(exc):
            raise
        return rejection(failure_reason(exc))
