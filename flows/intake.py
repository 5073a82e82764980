"""The intake flow ``posteingang``: one pass over the inbox as Prefect tasks."""

from __future__ import annotations

import asyncio
import fcntl
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.cache_policies import NONE

from ews import intake
from ews.models import OUTCOME_LABELS
from ews.pipeline import InputResult
from ews.settings import Settings


@contextmanager
def exclusive_pass(settings: Settings) -> Iterator[None]:
    """One intake pass at a time per data folder (serve's watcher, UI runs, ews process)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with (settings.data_dir / ".posteingang.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@task(name="eingänge-übernehmen", retries=2, retry_delay_seconds=2, cache_policy=NONE)
def claim_inputs(settings: Settings) -> list[int]:
    intake.prepare(settings)
    intake.claim_new_inputs(settings)
    return intake.open_input_ids(settings)


@task(name="eingänge-verarbeiten", cache_policy=NONE)
def process_inputs(settings: Settings, input_ids: list[int]) -> list[InputResult]:
    logger = get_run_logger()
    done: list[InputResult] = []

    def report(result: InputResult) -> None:
        done.append(result)  # one log line per 25 inputs: the artifact lists every one
        if len(done) % 25 == 0 or len(done) == len(input_ids):
            logger.info("%d von %d Eingängen verarbeitet", len(done), len(input_ids))

    return intake.process_inputs(input_ids, settings, progress=report)


# no tag: a tag makes Prefect acquire a concurrency lease (~2 s) even without a limit
@task(name="briefe-als-pdf", retries=2, retry_delay_seconds=5, cache_policy=NONE)
def convert_letters(settings: Settings) -> list[str]:
    return intake.convert_pending_letters(settings)


@flow(name="posteingang", log_prints=True)
async def posteingang(settings: Settings | None = None) -> list[InputResult]:
    """Take every stable file in the inbox, register it, write its letters."""
    # async only for Prefect's engine: the sync engine holds every finished run for up to a
    # second (it joins its heartbeat thread); the tasks are sync and run one after another
    settings = settings or Settings()
    with exclusive_pass(settings):
        input_ids = claim_inputs(settings)
        results = process_inputs(settings, input_ids) if input_ids else []
        convert_letters(settings)
    if results:
        await publish_artifacts(results)
    return results


def run_posteingang(settings: Settings) -> list[InputResult]:
    """One intake pass as a Prefect flow run, from synchronous code."""
    return asyncio.run(posteingang(settings))


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
