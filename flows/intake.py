"""The intake flow ``posteingang``: one pass over the inbox as Prefect tasks."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.cache_policies import NONE
from prefect.context import AsyncClientContext, SyncClientContext

from ews.core.models import OUTCOME_LABELS
from ews.intake import mailbox as mail_intake
from ews.intake import passes as intake
from ews.intake.failures import is_infrastructure
from ews.intake.pipeline import InputResult
from ews.outbox.conversion import convert_pending_letters
from ews.runtime import heap
from ews.runtime.settings import Settings
from flows import redacted, service_settings

T = TypeVar("T")


@task(name="eingänge-übernehmen", retries=2, retry_delay_seconds=[2, 10], cache_policy=NONE)
@redacted
def claim_inputs(settings: Settings) -> list[int]:
    intake.prepare(settings)
    intake.claim_new_inputs(settings)
    return intake.open_input_ids(settings)


@task(name="postfach-abholen", retries=2, retry_delay_seconds=[5, 30], cache_policy=NONE)
@redacted
def take_mails(settings: Settings) -> list[int]:
    """New mails of the office mailbox into the register (their PDFs become inputs)."""
    taken = mail_intake.take_mails(settings, datetime.now(UTC))
    if taken:
        get_run_logger().info("%d Eingänge aus dem Postfach übernommen", len(taken))
    return taken


@task(name="antworten-und-nachbearbeiten", retries=2, retry_delay_seconds=[10, 60],
      cache_policy=NONE)
@redacted
def answer_mails(settings: Settings) -> mail_intake.MailReport:
    """Post-actions in the mailbox, answers queued and sent."""
    report = mail_intake.answer_and_finish(settings, datetime.now(UTC))
    get_run_logger().info(
        "Postfach: %d E-Mails abgeschlossen, %d Antworten vorbereitet, %d gesendet, "
        "%d warten auf erneuten Versuch, %d endgültig gescheitert", report.finished,
        report.queued, report.sent, report.retrying, report.failed)
    return report


@task(name="eingänge-takt", cache_policy=NONE)
@redacted
def beat_task(beat: Callable[[], Any]) -> Any:
    """A beat of the pass's pipeline (``intake.beat``: read chunk k+1, decide and render
    chunk k, file chunk k-1) as a task run, shown in the flow run. No retries: a beat works
    on what the beats before it left (locks, queued jobs, counted attempts), so it runs
    once; an input it did not finish is taken up by the next pass."""
    return beat()


def run_beat(beat: Callable[..., T], /, *args: Any) -> T:
    """``intake.StepRunner``: each beat a task run. The beat gets its arguments bound
    (``partial``): Prefect copies the collections it is given as parameters, and a beat
    works on the pass's own (``read_next`` takes from ``waiting``)."""
    return cast(T, beat_task(functools.partial(beat, *args)))


@task(name="eingänge-verarbeiten", cache_policy=NONE)
@redacted
def process_inputs(settings: Settings, input_ids: list[int]) -> list[InputResult]:
    logger = get_run_logger()
    done: list[InputResult] = []

    def report(result: InputResult) -> None:
        done.append(result)  # one log line per 25 inputs: the artifact lists every one
        if len(done) % 25 == 0 or len(done) == len(input_ids):
            logger.info("%d von %d Eingängen verarbeitet", len(done), len(input_ids))

    return intake.process_inputs(input_ids, settings, progress=report, run=run_beat)


# no tag: a tag makes Prefect acquire a concurrency lease (~2 s) even without a limit
@task(name="briefe-als-pdf", retries=2, retry_delay_seconds=[5, 30], cache_policy=NONE)
@redacted
def convert_letters(settings: Settings) -> list[str]:
    return convert_pending_letters(settings)


# no parameters to validate: Prefect would build a pydantic model for them each run
@flow(name="posteingang", log_prints=True, validate_parameters=False)
@redacted
async def posteingang() -> list[InputResult]:
    """Take every stable file in the inbox and every new mail of the office mailbox,
    register them, write their letters, answer the mails."""
    # passes on several workers at once share the work (ews.register.locks). async only
    # for Prefect's engine: the sync engine holds every finished run for up to a second (it
    # joins its heartbeat thread); the tasks are sync and run one after another
    settings = service_settings()
    input_ids = claim_inputs(settings)
    taking = take_mails(settings, return_state=True) if settings.imap.host else None
    if taking is not None and taking.is_completed():  # a mailbox outage stops no files
        input_ids += [i for i in await taking.aresult() if i not in set(input_ids)]
    processing = process_inputs(settings, input_ids, return_state=True) if input_ids else None
    results: list[InputResult] = []
    if processing is not None:
        outcome = await processing.aresult(raise_on_failure=False)
        if isinstance(outcome, BaseException) and is_infrastructure(outcome):
            raise outcome  # the register or the disk: nothing else can work now
        if isinstance(outcome, list):
            results = outcome
    convert_letters(settings)  # an input that waits (e.g. its letters) holds back no answers
    if settings.imap.host or settings.smtp.host:
        answer_mails(settings)
    if taking is not None and not taking.is_completed():
        await taking.aresult()  # raises the mailbox's error: the run is marked failed
    if processing is not None and not processing.is_completed():
        await processing.aresult()  # raises: the run is marked failed
    if results:
        await publish_artifacts(results)
    return results


def run_posteingang() -> list[InputResult]:
    """One intake pass as a Prefect flow run, from synchronous code, with the settings of
    this process's environment and ``config/ews.env``."""
    return asyncio.run(posteingang())


class WarmPasses:
    """Intake passes one after another from one thread (``ews serve``'s pass runner), each
    a flow run as ``run_posteingang``'s, all on one event loop with one Prefect client, sync
    and async: Prefect makes a client for each flow and task run otherwise, and each new
    client reads the CA bundle into a TLS context (some 30 ms, seven times a pass)."""

    def __init__(self) -> None:
        self._loop = asyncio.Runner()  # its context, and so the clients, outlives each run
        self._clients: contextlib.AsyncExitStack | None = None
        self._frozen = False

    def run(self) -> list[InputResult]:
        try:
            return self._loop.run(self._pass())
        finally:
            if not self._frozen:  # the first pass loaded what the process keeps
                self._frozen = True
                heap.freeze()

    async def _pass(self) -> list[InputResult]:
        if self._clients is None:  # once the API answers (a pass before that fails)
            async with contextlib.AsyncExitStack() as clients:
                await clients.enter_async_context(AsyncClientContext.get_or_create())
                clients.enter_context(SyncClientContext.get_or_create())
                self._clients = clients.pop_all()
        return await posteingang()

    def close(self) -> None:
        if self._clients is not None:
            self._loop.run(self._clients.aclose())
            self._clients = None
        self._loop.close()


async def publish_artifacts(results: list[InputResult]) -> None:
    rows = [{"Datei": r.source_name, "Ergebnis": OUTCOME_LABELS[r.outcome.value],
             "Aktenzeichen": r.az or "", "Kommune": r.kommune_name or "",
             "Gründe": "; ".join(r.reasons)} for r in results]
    await acreate_table_artifact(key="posteingang", table=rows,
                                 description="Ergebnis des letzten Posteingangslaufs")
    counts = Counter(OUTCOME_LABELS[r.outcome.value] for r in results)
    summary = ", ".join(f"{n} {label}" for label, n in sorted(counts.items()))
    await acreate_markdown_artifact(
        key="posteingang-zusammenfassung",
        markdown=f"**Posteingang:** {len(results)} Eingänge – {summary}")
