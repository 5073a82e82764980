"""A pass over the inbox: claim stable files and take new mails, process every open input on
the worker pool (``ews.intake.stages``), have the new letters converted to PDF/A, answer the
mails (I/O: files, database, processes). Prefect flows and the CLI call these steps; they hold
no Prefect code."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from ews.core.errors import MailboxError
from ews.intake import mailbox as mail_intake
from ews.intake.claim import CLAIM_WAIT, claim_new_inputs
from ews.intake.failures import is_infrastructure
from ews.intake.pipeline import InputResult
from ews.intake.sharing import PASS_LOCK, PASS_SLOTS, open_input_ids
from ews.intake.stages import Batches, Progress, Reading, Rendering
from ews.outbox.conversion import convert_pending_letters
from ews.register.database import migrate
from ews.register.locks import locks_for
from ews.runtime.settings import Settings

T = TypeVar("T")
REFILLS = 5  # times a pass looks again for inputs another pass held (and maybe left)


def prepare(settings: Settings) -> None:
    """Create the folders and bring the register's schema up to date."""
    for folder in (settings.inbox_dir, settings.outbox_dir, settings.archive_dir,
                   settings.quarantine_dir):
        folder.mkdir(parents=True, exist_ok=True)
    migrate(settings.db_url)


class StepRunner(Protocol):
    """Runs one step of a chunk (``STEPS`` names it): directly, or e.g. as a Prefect task."""

    def __call__(self, name: str, step: Callable[..., T], /, *args: Any) -> T: ...


#: the steps of a chunk, in their order: read (on the workers), decide (one transaction),
#: render (on the workers), file (one transaction)
STEPS = ("lesen", "entscheiden", "schreiben", "ablegen")


def _directly(name: str, step: Callable[..., T], /, *args: Any) -> T:
    return step(*args)


def process_inputs(input_ids: list[int], settings: Settings, *,
                   now: Callable[[], datetime] | None = None,
                   progress: Progress | None = None, run: StepRunner = _directly
                   ) -> list[InputResult]:
    """Process inputs in chunks, pipelined: while the workers read chunk k+1 and render the
    letters of chunk k, this process decides chunk k (one transaction) and files chunk k-1
    (one transaction). An input whose reading failed is decided as invalid with the failure
    as its German reason; one whose letters could not be rendered stays decided for the next
    pass, and the first such error is raised once everything else is done.

    Each chunk is locked before it is read (``ews.register.locks``): passes running at once on
    several workers take turns chunk by chunk and never work on the same input; the inputs
    of a worker that died are free again at once. Inputs another pass holds are left to it.
    ``run`` runs each step of a chunk (``STEPS``); the flow makes each a Prefect task."""
    with locks_for(settings) as locks, locks.slot(PASS_LOCK, PASS_SLOTS, wait=CLAIM_WAIT):
        batches = Batches(settings, now or (lambda: datetime.now(UTC)), progress, locks)
        waiting = list(input_ids)
        for _round in range(REFILLS):
            taken = len(batches.taken)
            _pipeline(batches, waiting, run)
            if len(batches.taken) == taken:
                break
            # what other passes held may be free by now (their worker died): take it up too
            waiting = [i for i in open_input_ids(settings) if i not in batches.taken]
    if batches.error is not None:
        raise batches.error
    return batches.done


def _pipeline(batches: Batches, waiting: list[int], run: StepRunner) -> None:
    """The chunks' steps, staggered; a step with nothing to work on is not run (as a task
    it would cost the pass Prefect's bookkeeping and nothing else: a single file's pass runs
    four steps, not twelve)."""
    reading: list[Reading] = []
    rendering: list[Rendering] = []
    while waiting or reading or rendering:
        next_reading = run("lesen", batches.read_next, waiting) if waiting else []
        letters = run("entscheiden", batches.decide, reading) if reading else {}
        next_rendering = run("schreiben", batches.render, letters) if letters else []
        if rendering:
            run("ablegen", batches.file, rendering)
        reading, rendering = next_reading, next_rendering


def run_pass(settings: Settings, *, progress: Progress | None = None) -> list[InputResult]:
    """One complete pass: claim files and take mails, process, convert, answer the mails.
    Returns the results of this pass."""
    prepare(settings)
    claim_new_inputs(settings)
    mailbox_failure: MailboxError | None = None
    try:
        mail_intake.take_mails(settings, datetime.now(UTC))
    except MailboxError as exc:  # the folder's files are processed all the same
        mailbox_failure = exc
    try:
        results = process_inputs(open_input_ids(settings), settings, progress=progress)
    except Exception as exc:
        if is_infrastructure(exc):
            raise
        # an input that waits (e.g. its letters' template is broken) holds back no answers
        processing_failure: Exception | None = exc
        results = []
    else:
        processing_failure = None
    convert_pending_letters(settings)
    if settings.imap.host or settings.smtp.host:
        mail_intake.answer_and_finish(settings, datetime.now(UTC))
    if mailbox_failure is not None:
        raise mailbox_failure
    if processing_failure is not None:
        raise processing_failure
    return results
