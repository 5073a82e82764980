"""Prefect flows and the command line: the composition root of the service.

Prefect reads its settings when it is first imported, so the environment is prepared here,
before any module of this package imports it: a Prefect home inside the data folder (one
installation, one folder) and no analytics (there is no internet).
"""

from __future__ import annotations

import os
from pathlib import Path

from ews.settings import Settings


def prepare_prefect_environment(settings: Settings) -> None:
    home = Path(os.environ.setdefault("PREFECT_HOME",
                                      str((settings.data_dir / "prefect").resolve())))
    home.mkdir(parents=True, exist_ok=True)  # Prefect creates only the last level itself
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_UI_ENABLED", "true")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_BATCH_INTERVAL", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")


prepare_prefect_environment(Settings())
