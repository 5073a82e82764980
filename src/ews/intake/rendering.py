"""Writing the letters of several inputs at once, as one worker job (I/O: files through the
store; no database)."""

from __future__ import annotations

from typing import NamedTuple

from ews.core.errors import EwsError
from ews.intake.failures import failure_reason, is_infrastructure
from ews.letters.templates import check_templates
from ews.outbox.letters import PlannedLetter, render_planned
from ews.runtime.settings import Settings


class RenderFailure(NamedTuple):
    """Why an input's letters were not written; ``counted`` when the input itself is the
    cause (its values, its file names), not the service's templates."""

    reason: str
    counted: bool


def render_inputs(letters: dict[int, list[PlannedLetter]], settings: Settings
                  ) -> dict[int, RenderFailure]:
    """Stage 2 for several inputs at once (one worker job): write their .docx files. Returns
    why, by input, for those whose letters could not be written; the others' are. A failure
    of the service itself (disk full …) is raised."""
    failures: dict[int, RenderFailure] = {}
    templates_sound: bool | None = None  # checked once, on the first template error
    for input_id, planned in letters.items():
        try:
            render_planned(planned, settings)
        except EwsError as exc:  # e.g. a broken template: only its letters wait
            if templates_sound is None:
                templates_sound = not check_templates(settings.templates_dir, settings.office)
            # templates that render their sample data: this input's values are the cause
            failures[input_id] = RenderFailure(str(exc) or type(exc).__name__, templates_sound)
        except Exception as exc:  # noqa: BLE001 - one input's letters, ended by its count
            if is_infrastructure(exc) or isinstance(exc, MemoryError):
                raise
            failures[input_id] = RenderFailure(failure_reason(exc), True)
    return failures
