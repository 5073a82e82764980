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
    """Runs one beat of a pass (``beat``): directly, or e.g. as a Prefect task."""

    def __call__(self, beat: Callable[..., T], /, *args: Any) -> T: ...


def _directly(beat: Callable[..., T], /, *args: Any) -> T:
    return beat(*args)


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
    ``run`` runs each beat of the pipeline (``beat``); the flow makes each a Prefect task."""
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
    """The chunks' steps, staggered: each beat reads chunk k+1, decides and renders chunk k
    and files chunk k-1, and is one call of ``run``. As Prefect task runs, a beat costs the
    pass one, where each step its own cost four: each task run is several calls to
    Prefect's API and events its server stores (500 inputs: 17 task runs, not 64)."""
    reading: list[Reading] = []
    rendering: list[Rendering] = []
    while waiting or reading or rendering:
        reading, rendering = run(beat, batches, waiting, reading, rendering)


def beat(batches: Batches, waiting: list[int], reading: list[Reading],
         rendering: list[Rendering]) -> tuple[list[Reading], list[Rendering]]:
    """One beat of the pipeline: lock the next chunk and queue its reading (on the
    workers), decide the chunk read (one transaction), queue its letters' rendering (on
    the workers), file the chunk rendered (one transaction). A step with nothing to work on
    is skipped. Returns what the next beat decides and files."""
    next_reading = batches.read_next(waiting) if waiting else []
    letters = batches.decide(reading) if reading else {}
    next_rendering = batches.render(letters) if letters else []
    if rendering:
        batches.file(rendering)
    return next_reading, next_rendering


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
