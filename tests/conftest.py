"""Shared fixtures: settings built explicitly over temporary folders, sample PDFs."""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path

import pytest

# Prefect reads its settings on import: keep test runs out of the user's Prefect home.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="ews-prefect-")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.pop("PREFECT_API_URL", None)

from ews.settings import IntakeSettings, LetterSettings, RoundSettings, Settings  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def make_settings(root: Path, **changes: object) -> Settings:
    values: dict[str, object] = {
        "inbox_dir": root / "inbox",
        "outbox_dir": root / "outbox",
        "data_dir": root / "data",
        "templates_dir": REPO / "templates",
        "round": RoundSettings(name="EWS 6", deadline=date(2027, 3, 1)),
        "intake": IntakeSettings(stable_seconds=0.05, workers=2, ocr=True),
        "letters": LetterSettings(pdf=False),
    }
    values.update(changes)
    settings = Settings(_env_file=None, **values)  # type: ignore[arg-type]
    settings.inbox_dir.mkdir(parents=True, exist_ok=True)
    return settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)
