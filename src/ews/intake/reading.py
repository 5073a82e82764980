"""Reading and validating one input into an ``Assessment`` (I/O: reads the claimed file; runs
in a worker process). A document that is rejected becomes reasons, never an error."""

from __future__ import annotations

from pathlib import Path

from ews.core.errors import DocumentRejected
from ews.core.forms import assess_fields
from ews.core.models import Assessment
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
    if reading.declaration is not None:
        return Assessment(method=reading.method, declaration=reading.declaration)
    assessment = assess_fields(reading.fields, round_name=settings.round.name)
    return assessment.model_copy(update={"method": reading.method})


def assess_file(path: Path, settings: Settings) -> Assessment:
    """``assess_document`` for a claimed file: its size is checked before it is read, and an
    error of the reader that nobody foresaw becomes the input's reason. An error reading the
    file itself is raised (the input waits, counted)."""
    limit = settings.intake.max_file_mb
    if path.lstat().st_size > limit * 1024 * 1024:
        return rejection(too_large_reason(limit))
    data = folders.read_claim(path)  # a symbolic link put in its place is refused
    try:
        return assess_document(data, settings)
    except MemoryError:
        raise  # the worker's memory limit: ``workers.outcome`` names it
    except Exception as exc:  # noqa: BLE001 - one input's reader failed: its outcome
        if is_infrastructure(exc):
            raise
        return rejection(failure_reason(exc))
