"""The pull step that starts a ``posteingang`` run's reading processes before Prefect loads
the flow (flows.early_workers): only that deployment has it, and it changes into the same
working directory as the project's step."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from ews.runtime import workers
from flows.early_workers import JOBS, STEP, start_workers

REPO = Path(__file__).resolve().parents[2]


def test_only_the_intake_deployment_starts_its_workers_early_after_changing_directory(
) -> None:
    document = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    pulls = {d["name"]: d.get("pull") for d in document["deployments"]}
    [project_step] = document["pull"]
    [directory] = project_step.values()

    assert pulls.pop("posteingang") == [{STEP: directory}]  # one step: each costs 0.1 s
    assert set(pulls.values()) == {None}  # the others use the project's steps


def test_the_step_changes_into_the_directory_first(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[tuple[str, str]] = []
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(workers, "start", lambda _count, _memory, module: started.append(
        (os.getcwd(), module)))

    assert start_workers(str(tmp_path)) == {"directory": str(tmp_path)}
    assert started == [(str(tmp_path), JOBS)]  # the settings read where the flow runs


def test_a_deployment_made_before_starts_the_workers_where_it_is(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # its pull steps were: set_working_directory, then this step without a directory
    started: list[str] = []
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(workers, "start", lambda *_: started.append(os.getcwd()))

    assert start_workers() == {}
    assert started == [str(REPO)]


def test_the_step_names_a_function_prefect_can_import() -> None:
    module, _, name = STEP.rpartition(".")
    assert f"{start_workers.__module__}.{start_workers.__name__}" == STEP
    assert module == "flows.early_workers" and name == "start_workers"
