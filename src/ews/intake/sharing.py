"""How passes on several workers share the work: the lock spaces and slots they take, and
the work no running pass holds (I/O: database, locks, the work folder)."""

from __future__ import annotations

from ews.outbox.conversion import LETTER_LOCKS
from ews.register import cases as register
from ews.register.database import transaction
from ews.register.locks import Locks
from ews.runtime import folders
from ews.runtime.settings import Settings

INPUT_LOCKS = "eingang"  # lock space of the inputs a pass works on
CHUNK = 32  # inputs per database transaction; small enough to keep progress visible
PASS_LOCK, PASS_SLOTS = "durchlauf", 16  # a slot per pass in progress, over every worker


def free_work(settings: Settings, locks: Locks, *, limit: int = 500) -> int:
    """Work that no running pass holds and a new pass would take up: unfinished inputs and
    letters waiting for their PDF that nobody has locked (a killed worker's), and files a
    crashed claim left in the work folder without an input."""
    with transaction(settings.db_url) as session:
        inputs = [row.id for row in register.unfinished_inputs(session)][:limit]
        letters = [row.id for row in register.letters_waiting_for_pdf(session)][:limit] \
            if settings.letters.pdf else []
        claimed = [str(path) for path in folders.claimed_files(settings.inbox_dir)]
        orphans = len(claimed) - register.known_claims(session, claimed)
    if _pass_running(locks):  # it takes up what is free when it has done its own share
        return orphans
    free = 0
    for space, ids in ((INPUT_LOCKS, inputs), (LETTER_LOCKS, letters)):
        taken = locks.try_items(space, ids)
        locks.release_items(space, taken)
        free += len(taken)
    return free + orphans


def _pass_running(locks: Locks) -> bool:
    """Whether any process is in ``process_inputs`` now (each holds a ``durchlauf`` slot)."""
    for number in range(1, PASS_SLOTS + 1):
        if not locks.try_named(f"{PASS_LOCK}#{number}"):
            return True
        locks.release_named(f"{PASS_LOCK}#{number}")
    return False


def open_input_ids(settings: Settings) -> list[int]:
    with transaction(settings.db_url) as session:
        return [row.id for row in register.unfinished_inputs(session)]
