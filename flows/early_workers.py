"""A pull step of the deployment ``posteingang``: a new flow-run process (a process worker
starts one per run) starts its reading processes while Prefect still loads the flow, instead
of on the first input (I/O: processes)."""

from __future__ import annotations

from ews.runtime import workers
from ews.runtime.settings import Settings

#: the module of the jobs a pass gives its workers (reading, rendering)
JOBS = "ews.intake.stages"
#: the step as ``prefect.yaml`` names it
STEP = "flows.early_workers.start_workers"


def start_workers() -> dict[str, str]:
    """Start this process's worker pool with the settings the flow will read."""
    settings = Settings()
    workers.start(settings.worker_count, settings.intake.read_memory_mb, JOBS)
    return {}
