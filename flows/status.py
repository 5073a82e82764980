"""The deployments' side of ``ews betrieb status``: per deployment its last run, its last
failure and the runs waiting, read from the Prefect API (I/O: HTTP; a few seconds at most, no
retries, never a temporary server)."""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import BaseModel

from ews.runtime.redaction import redact_url
from flows.server import server_answers

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.objects import FlowRun

#: seconds one request may take before the server counts as not reachable
TIMEOUT = 5.0
WAITING_TYPES = ("SCHEDULED", "PENDING")  # a "Late" run is of type SCHEDULED
FAILED_TYPES = ("FAILED", "CRASHED")


class PrefectUnreachable(Exception):
    """No Prefect server answers at the address; the message says which, in German."""


class RunInfo(BaseModel):
    name: str
    state: str  # the state's name as Prefect shows it, e.g. "Completed", "Late"
    state_type: str  # COMPLETED, FAILED, CRASHED, RUNNING, …
    start: datetime | None
    end: datetime | None


class DeploymentRun(BaseModel):
    name: str  # "flow/deployment"
    work_pool: str | None  # None: served by ``ews betrieb starten`` itself
    paused: bool
    schedules_active: int
    concurrency_limit: int | None
    last_run: RunInfo | None
    last_failure: RunInfo | None
    waiting: int  # Scheduled, Pending and Late runs
    late: int


def prefect_api_url(default: str) -> str:
    """The API the CLI reports on: ``PREFECT_API_URL`` when set, else ``default``."""
    return os.environ.get("PREFECT_API_URL") or default


def deployment_runs(api_url: str | None) -> list[DeploymentRun]:
    """Every deployment with its runs; raises ``PrefectUnreachable`` when no server answers
    at ``api_url`` (None: Prefect's configured API) – the caller shows an empty list and the
    message."""
    url = api_url or _configured_api_url()
    if not url:
        raise PrefectUnreachable("keine Adresse eingestellt (PREFECT_API_URL)")
    if not server_answers(url):  # before importing Prefect: an answer in two seconds
        raise PrefectUnreachable(f"{redact_url(url)} antwortet nicht")
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    try:
        with temporary_settings({PREFECT_API_URL: url, PREFECT_CLIENT_MAX_RETRIES: 0}):
            return _read_deployments()
    except httpx.HTTPError as exc:  # PrefectHTTPStatusError is one too
        raise PrefectUnreachable(redact_url(f"{url}: {exc}")) from exc


def _configured_api_url() -> str | None:
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


def _read_deployments() -> list[DeploymentRun]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterId

    with get_client(httpx_settings={"timeout": TIMEOUT}, sync_client=True) as client:
        deployments = client.read_deployments()
        flow_ids = list({d.flow_id for d in deployments})
        flows = {f.id: f.name for f in client.read_flows(
            flow_filter=FlowFilter(id=FlowFilterId(any_=flow_ids)))} if flow_ids else {}
        runs = [_deployment_run(client, d, flows.get(d.flow_id, "?")) for d in deployments]
    return sorted(runs, key=lambda run: run.name)


def _deployment_run(client: SyncPrefectClient, deployment: Any, flow_name: str
                    ) -> DeploymentRun:
    finished = _latest(client, deployment, not_types=WAITING_TYPES)
    failed = _latest(client, deployment, types=FAILED_TYPES)
    waiting = Counter(run.state_name for run in _runs(client, deployment.id,
                                                      types=WAITING_TYPES, limit=200))
    limit = deployment.global_concurrency_limit
    return DeploymentRun(
        name=f"{flow_name}/{deployment.name}", work_pool=deployment.work_pool_name,
        paused=deployment.paused,
        schedules_active=sum(1 for schedule in deployment.schedules if schedule.active),
        concurrency_limit=limit.limit if limit is not None else None,
        last_run=_info(finished[0]) if finished else None,
        last_failure=_info(failed[0]) if failed else None,
        waiting=sum(waiting.values()), late=waiting["Late"])


def _latest(client: SyncPrefectClient, deployment: Any, *, types: tuple[str, ...] = (),
            not_types: tuple[str, ...] = ()) -> list[FlowRun]:
    """The newest run of the deployment or of its flow started without one (``ews betrieb starten``
    runs the intake flow directly when its watcher sees a file); empty when there is none."""
    runs = [*_runs(client, deployment.id, limit=1, types=types, not_types=not_types),
            *_runs(client, None, limit=1, types=types, not_types=not_types,
                   flow_id=deployment.flow_id)]
    newest = max(runs, key=lambda run: run.start_time or run.expected_start_time or _EPOCH,
                 default=None)
    return [newest] if newest is not None else []


def _runs(client: SyncPrefectClient, deployment_id: Any, *, limit: int,
          types: tuple[str, ...] = (), not_types: tuple[str, ...] = (),
          flow_id: Any = None) -> list[FlowRun]:
    """Runs of one deployment (or, with ``deployment_id`` None, the runs of ``flow_id``
    without a deployment), newest start (or expected start) first."""
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterId,
        FlowRunFilter,
        FlowRunFilterDeploymentId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    state_type = FlowRunFilterStateType(any_=[StateType(t) for t in types] or None,
                                        not_any_=[StateType(t) for t in not_types] or None)
    by_deployment = (FlowRunFilterDeploymentId(any_=[deployment_id]) if deployment_id
                     else FlowRunFilterDeploymentId(is_null_=True))
    return client.read_flow_runs(
        flow_filter=FlowFilter(id=FlowFilterId(any_=[flow_id])) if flow_id else None,
        flow_run_filter=FlowRunFilter(deployment_id=by_deployment,
                                      state=FlowRunFilterState(type=state_type)),
        sort=FlowRunSort.START_TIME_DESC, limit=limit)


def _info(run: FlowRun) -> RunInfo:
    return RunInfo(name=run.name, state=run.state_name or "–",
                   state_type=run.state_type.value if run.state_type else "–",
                   start=_plain(run.start_time), end=_plain(run.end_time))


def _plain(value: datetime | None) -> datetime | None:
    """Prefect's own datetime type as a plain aware datetime."""
    return None if value is None else datetime.fromisoformat(value.isoformat())


def deployment_problems(runs: list[DeploymentRun]) -> list[str]:
    """What needs a person in the deployments, one German sentence each."""
    problems = []
    for run in runs:
        if run.last_run is not None and run.last_run.state_type in FAILED_TYPES:
            problems.append(f"Letzter Lauf von {run.name} ist gescheitert "
                            f"({run.last_run.state})")
        if run.late:
            runs_are = "1 Lauf ist" if run.late == 1 else f"{run.late} Läufe sind"
            problems.append(f"{runs_are} für {run.name} verspätet – läuft „ews betrieb starten“?")
    return problems
