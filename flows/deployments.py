"""Every deployment of the service, in one table: ``ews betrieb starten`` serves them on one
machine, ``ews betrieb cluster prefect-yaml`` writes them to ``prefect.yaml`` for ``prefect
deploy --all`` and workers on any number of machines. The scheduled mailings come from the
Versandplan, the daily check of the follow-ups from ``EWS_FOLLOW_UPS__CRON``."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ews.circulars.schedule import TIMEZONE, Mailing, read_plan
from ews.operations.backup_plan import BackupPlan
from ews.runtime.settings import FollowUpSettings
from flows import early_workers

WORK_POOL = "ews"
#: the nightly deletion run (Europe/Berlin), when nothing else runs
DELETION_CRON = "30 2 * * *"
#: a watcher run lasts this long; its schedule starts the next one right after
WATCH_EVERY = 300
WATCH_SECONDS = 290
#: one watcher per inbox and per mailbox: a lock in the register, not a Prefect limit —
#: Prefect keeps a dead run's slot until its lease expires, the database frees the lock the
#: moment the worker's connection ends, so the next scheduled run takes over
WATCHER_NOTE = ("{} beobachten und Posteingangsläufe starten (immer nur einer: ein weiterer "
                "Lauf endet sofort)")


@dataclass(frozen=True)
class Deployment:
    name: str
    entrypoint: str  # "flows/module.py:function"
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)
    cron: str | None = None
    active: bool = True
    interval: int | None = None
    #: at most this many runs at once (a run that finds the limit full waits its turn)
    limit: int | None = None
    served: bool = True  # also by ``ews betrieb starten`` (which has its own watcher threads)
    #: in the cluster, start the run's reading processes before the flow is loaded
    early_workers: bool = False

    def flow(self) -> Any:
        path, function = self.entrypoint.split(":")
        module = path.removesuffix(".py").replace("/", ".")
        return getattr(importlib.import_module(module), function)


def office_deployments(plan: list[Mailing], *, follow_up_cron: str = FollowUpSettings().cron,
                       backup: BackupPlan | None = None) -> list[Deployment]:
    """The table; ``follow_up_cron`` (``EWS_FOLLOW_UPS__CRON``) schedules the daily check of
    the follow-ups, ``backup`` (config/sicherung.toml) the daily backup."""
    backup = backup or BackupPlan()
    deployments = [
        Deployment("posteingang", "flows/intake.py:posteingang",
                   "Posteingang verarbeiten (auch manuell startbar)", early_workers=True),
        Deployment("ordner", "flows/watchers.py:ordner_beobachten",
                   WATCHER_NOTE.format("Posteingangsordner"),
                   parameters={"laufzeit": WATCH_SECONDS}, interval=WATCH_EVERY, served=False),
        Deployment("postfach", "flows/watchers.py:postfach_beobachten",
                   WATCHER_NOTE.format("Postfach (IDLE)"),
                   parameters={"laufzeit": WATCH_SECONDS}, interval=WATCH_EVERY, served=False),
        Deployment("auswahl", "flows/selection.py:auswahl_entscheiden",
                   "Entscheidungen zur Auswahl im Formular eingeben", limit=1),
        Deployment("bescheide", "flows/selection.py:bescheide_versenden",
                   "Ausstehende Bescheide schreiben und versenden", limit=1),
        Deployment("rundschreiben", "flows/circulars.py:rundschreiben_versenden",
                   "Ausgegebene Rundschreiben versenden", limit=1),
        Deployment("wiedervorlagen", "flows/follow_ups.py:wiedervorlagen_pruefen",
                   "Überfällige Wiedervorlagen prüfen und die Kommunen erinnern (täglich)",
                   cron=follow_up_cron, limit=1),
        Deployment("sicherung", "flows/sicherung.py:sicherung",
                   f"Tägliche Sicherung um {backup.uhrzeit} (behält {backup.behalten})",
                   cron=backup.cron, active=backup.aktiv, limit=1),
        Deployment("loeschlauf", "flows/retention.py:loeschlauf",
                   "Fällige Daten nach dem Löschkonzept löschen (jede Nacht)",
                   cron=DELETION_CRON, limit=1),
    ]
    deployments += [Deployment(
        mailing.deployment_name, "flows/circulars.py:geplanter_versand",
        f"Geplanter Versand „{mailing.name}“ (Entwurf {mailing.entwurf})",
        parameters={"name": mailing.name}, cron=mailing.cron, active=mailing.aktiv, limit=1)
        for mailing in plan]
    return deployments


def runner_deployments(deployments: list[Deployment]) -> list[Any]:
    """The deployments ``ews betrieb starten`` serves in its process."""
    from prefect.schedules import Cron

    return [spec.flow().to_deployment(
        name=spec.name, description=spec.description, parameters=spec.parameters or None,
        schedules=[Cron(spec.cron, timezone=TIMEZONE, day_or=False, active=spec.active)]
        if spec.cron else None)
        for spec in deployments if spec.served]


#: every machine has the service at the path in EWS_HOME when `prefect deploy` runs
HOME = "{{ $EWS_HOME }}"
#: how a worker starts a run: warm through this machine's warm start process when it runs,
#: else as ``python -m prefect.engine`` (ews.runtime.warm_runs: the standard library only,
#: started in milliseconds); the Python of the installation
RUN_COMMAND = f"{HOME}/.venv/bin/python -m ews.runtime.warm_runs"


def _pull() -> list[dict[str, Any]]:
    return [{"prefect.deployments.steps.set_working_directory": {"directory": HOME}}]


def prefect_yaml(deployments: list[Deployment]) -> str:
    """``prefect.yaml`` for the distributed setup (work pool ``ews``)."""
    document = {
        "name": "ews",
        "prefect-version": "3.8.8",
        "build": None,
        "push": None,
        "pull": _pull(),
        "deployments": [_entry(spec) for spec in deployments],
    }
    header = ("# Erzeugt von `ews betrieb cluster prefect-yaml` aus flows/deployments.py und dem "
              "Versandplan.\n# Nicht von Hand ändern: nach einer Änderung des Versandplans "
              "neu erzeugen und\n# `EWS_HOME=$PWD .venv/bin/prefect --no-prompt deploy --all` "
              "ausführen (siehe README, Betrieb).\n")
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def _entry(spec: Deployment) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": spec.name, "entrypoint": spec.entrypoint,
                             "description": spec.description,
                             "work_pool": {"name": WORK_POOL, "job_variables": {
                                 "command": RUN_COMMAND,
                                 # not a temporary folder of the worker's: the run may be
                                 # forked by the warm start, which has a /tmp of its own
                                 # (systemd's PrivateTmp=)
                                 "working_dir": HOME}}}
    if spec.early_workers:  # a deployment's own pull steps replace the project's
        entry["pull"] = [{early_workers.STEP: {"directory": HOME}}]
    if spec.parameters:
        entry["parameters"] = spec.parameters
    if spec.cron:
        entry["schedules"] = [{"cron": spec.cron, "timezone": TIMEZONE, "day_or": False,
                               "active": spec.active}]
    elif spec.interval:
        entry["schedules"] = [{"interval": spec.interval, "active": True}]
    if spec.limit:
        entry["concurrency_limit"] = {"limit": spec.limit, "collision_strategy": "ENQUEUE"}
    return entry


def example_plan(repo: Path) -> list[Mailing]:
    return read_plan(repo / "config" / "versandplan.toml.example")
