"""The pull step of the deployment ``posteingang``: a new flow-run process (a process worker
starts one per run) changes into the service's folder and starts its reading processes while
Prefect still loads the flow, instead of on the first input (I/O: processes)."""

from __future__ import annotations

import os

from ews.runtime import workers
from ews.runtime.settings import Settings

#: the module of the jobs a pass gives its workers (reading, rendering)
JOBS = "ews.intake.stages"
#: the step as ``prefect.yaml`` names it
STEP = "flows.early_workers.start_workers"


def start_workers(directory: str | None = None) -> dict[str, str]:
    """Change into ``directory`` (as Prefect's ``set_working_directory``), then start this
    process's worker pool with the settings the flow will read there. One step, not two:
    Prefect 3.8.8 opens a connection for the events of each pull step (some 0.1 s a step,
    before every run of ``posteingang``). Deployments made before take no ``directory``."""
    if directory is not None:
        os.chdir(directory)
    settings = Settings()
    workers.start(settings.worker_count, settings.intake.read_memory_mb, JOBS)
    return {"directory": directory} if directory is not None else {}
