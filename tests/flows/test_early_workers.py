"""The pull step that starts a ``posteingang`` run's reading processes before Prefect loads
the flow (flows.early_workers): only that deployment has it, after the working directory."""

from __future__ import annotations

from pathlib import Path

import yaml

from flows.early_workers import STEP, start_workers

REPO = Path(__file__).resolve().parents[2]


def test_only_the_intake_deployment_starts_its_workers_early_after_changing_directory(
) -> None:
    document = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    pulls = {d["name"]: d.get("pull") for d in document["deployments"]}

    assert pulls.pop("posteingang") == [*document["pull"], {STEP: {}}]
    assert set(pulls.values()) == {None}  # the others use the project's steps


def test_the_step_names_a_function_prefect_can_import() -> None:
    module, _, name = STEP.rpartition(".")
    assert f"{start_workers.__module__}.{start_workers.__name__}" == STEP
    assert module == "flows.early_workers" and name == "start_workers"
