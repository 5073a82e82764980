"""Flows build their settings from the environment of their process, never from a
parameter: the flow tests set that environment, as an office's ``config/ews.env`` would."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from prefect import Task

from ews.runtime.settings import Settings, settings_environment


@pytest.fixture
def service_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[Settings], Settings]:
    """``service_env(settings)``: the ``EWS_`` variables of ``settings`` in this process's
    environment (every other ``EWS_`` variable removed), run from ``tmp_path`` so that the
    repository's own ``config/ews.env`` stays out of it. Returns ``settings``."""

    def apply(settings: Settings) -> Settings:
        wanted = settings_environment(settings)
        for name in [name for name in os.environ if name.startswith("EWS_")]:
            if name not in wanted:
                monkeypatch.delenv(name)
        for name, value in wanted.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        assert Settings() == settings  # what every flow of this process builds now
        return settings

    return apply


@pytest.fixture(autouse=True)
def retries_without_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The flows' tasks run in this process keep their retries, but not the production waits
    between them (a run with the mailbox down waited 5 + 30 s and 10 + 60 s): the number of
    attempts and the run's failure stay what the tests check."""
    import flows.circulars
    import flows.intake

    for module in (flows.intake, flows.circulars):
        for name, value in list(vars(module).items()):
            if isinstance(value, Task) and value.retries:
                monkeypatch.setattr(module, name, value.with_options(retry_delay_seconds=0))
