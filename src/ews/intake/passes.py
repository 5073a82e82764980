"""A pass over the inbox: claim stable files, process every open input on the worker pool,
have the new letters converted to PDF/A (I/O: files, database, processes). Prefect flows and the CLI
call these steps; they hold no Prefect code."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pebble

from ews.core.errors import LettersNotWritten
from ews.core.models import Assessment
from ews.core.names import readable
from ews.intake import mailbox as mail_intake
from ews.intake.failures import failure_reason, gave_up_reason, is_infrastructure
from ews.intake.pipeline import (
    InputResult,
    RenderFailure,
    assess_file,
    decide_all,
    finish,
    render_inputs,
)
from ews.mail.imap import MailboxError
from ews.outbox.conversion import LETTER_LOCKS, convert_pending_letters
from ews.outbox.letters import PlannedLetter, planned_letters
from ews.register import cases as register
from ews.register.database import migrate, session_factory
from ews.register.heartbeats import inbox_name
from ews.register.locks import Locks, locks_for
from ews.runtime import folders, workers
from ews.runtime.settings import Settings

log = logging.getLogger(__name__)

Progress = Callable[[InputResult], None]
INPUT_LOCKS = "eingang"
T = TypeVar("T")


def prepare(settings: Settings) -> None:
    """Create the folders and bring the register's schema up to date."""
    for folder in (settings.inbox_dir, settings.outbox_dir, settings.archive_dir,
                   settings.quarantine_dir):
        folder.mkdir(parents=True, exist_ok=True)
    migrate(settings.db_url)


def claim_new_inputs(settings: Settings, now: Callable[[], datetime] | None = None
                     ) -> list[int]:
    """Adopt files a crashed run left in the work folder, then claim every stable file. One
    process at a time per inbox, over every machine that watches it (a shared folder)."""
    clock = now or (lambda: datetime.now(UTC))
    sessions = session_factory(settings.db_url)
    inbox = settings.inbox_dir.resolve()
    with locks_for(settings) as locks, locks.named(inbox_name(settings), wait=CLAIM_WAIT):
        # no other process is between its renames and its commit now: what lies in the
        # work folder without an input is a crashed run's
        folders.set_aside_refused(inbox)  # links, FIFOs, devices: never read, moved aside
        adopted = [_adopt(path, settings, clock()) for path in _orphans(settings)]
        seen_at = clock()  # everything found in one scan was first seen at the same moment
        with sessions.begin() as session:
            register.record_sightings(session, [(readable(str(obs.path)), obs.size, obs.mtime_ns)
                                                for obs in folders.observe_inbox(inbox).values()],
                                      seen_at)
        moved = [(target, obs) for obs in folders.stable_files(inbox,
                                                               settings.intake.stable_seconds)
                 if (target := _claimed(obs, inbox)) is not None]
        # a crash between the renames and this commit leaves orphans, adopted by the next pass
        return adopted + _open_all([(target, readable(str(obs.path))) for target, obs in moved],
                                   settings, clock())


def _claimed(observation: folders.Observation, inbox: Path) -> Path | None:
    """``folders.claim_file`` (its name fits 255 bytes, ``ews.core.names``); a file whose claim
    fails otherwise is left where it lies, so that the other files go on."""
    try:
        return folders.claim_file(observation, inbox)
    except OSError as exc:
        if is_infrastructure(exc):
            raise
        log.warning("Datei %s nicht übernommen: %s", observation.path, failure_reason(exc))
        return None


def _orphans(settings: Settings) -> list[Path]:
    sessions = session_factory(settings.db_url)
    with sessions.begin() as session:
        return [path for path in folders.claimed_files(settings.inbox_dir)
                if register.input_by_claim(session, str(path)) is None]


def _adopt(path: Path, settings: Settings, now: datetime) -> int:
    name = folders.original_name(path)
    return _open_all([(path, str(settings.inbox_dir.resolve() / name))], settings, now)[0]


def _open_all(claims: list[tuple[Path, str]], settings: Settings, now: datetime) -> list[int]:
    """Record claimed files as inputs, in one transaction."""
    if not claims:
        return []
    digests = [(folders.sha256_of(claim), claim.stat().st_size) for claim, _ in claims]
    with session_factory(settings.db_url).begin() as session:
        rows = []
        sightings = register.record_sightings(
            session, [(path, size, 0) for (_, path), (_, size) in zip(claims, digests,
                                                                      strict=True)], now)
        for (claim, inbox_path), (digest, size) in zip(claims, digests, strict=True):
            seen = sightings[inbox_path]
            rows.append(register.open_input(
                session, claim_path=str(claim), source_name=_source_name(inbox_path),
                sha256=digest, size=size, received_at=seen.first_seen_at,
                stamped_at=seen.stamped_at))
            register.forget_sighting(session, seen)
        session.flush()
        return [row.id for row in rows]


def _source_name(inbox_path: str) -> str:
    """The name as it lay in the inbox: whole, where the claim's name may be cut to fit."""
    return folders.safe_name(Path(inbox_path).name)


def free_work(settings: Settings, locks: Locks, *, limit: int = 500) -> int:
    """Work that no running pass holds and a new pass would take up: unfinished inputs and
    letters waiting for their PDF that nobody has locked (a killed worker's), and files a
    crashed claim left in the work folder without an input."""
    with session_factory(settings.db_url).begin() as session:
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
    with session_factory(settings.db_url).begin() as session:
        return [row.id for row in register.unfinished_inputs(session)]


CHUNK = 32  # inputs per database transaction; small enough to keep progress visible
PASS_LOCK, PASS_SLOTS = "durchlauf", 16  # a slot per pass in progress, over every worker
REFILLS = 5  # times a pass looks again for inputs another pass held (and maybe left)
CLAIM_WAIT = 600.0  # seconds a pass waits while another process claims from the same inbox


def process_inputs(input_ids: list[int], settings: Settings, *,
                   now: Callable[[], datetime] | None = None,
                   progress: Progress | None = None) -> list[InputResult]:
    """Process inputs in chunks, pipelined: while the workers read chunk k+1 and render the
    letters of chunk k, this process decides chunk k (one transaction) and files chunk k-1
    (one transaction). An input whose reading failed is decided as invalid with the failure
    as its German reason; one whose letters could not be rendered stays decided for the next
    pass, and the first such error is raised once everything else is done.

    Each chunk is locked before it is read (``ews.register.locks``): passes running at once on
    several workers take turns chunk by chunk and never work on the same input; the inputs
    of a worker that died are free again at once. Inputs another pass holds are left to it."""
    with locks_for(settings) as locks, locks.slot(PASS_LOCK, PASS_SLOTS, wait=CLAIM_WAIT):
        batches = _Batches(settings, now or (lambda: datetime.now(UTC)), progress, locks)
        waiting = list(input_ids)
        for _round in range(REFILLS):
            taken = len(batches.taken)
            _pipeline(batches, waiting)
            if len(batches.taken) == taken:
                break
            # what other passes held may be free by now (their worker died): take it up too
            waiting = [i for i in open_input_ids(settings) if i not in batches.taken]
    if batches.error is not None:
        raise batches.error
    return batches.done


def _pipeline(batches: _Batches, waiting: list[int]) -> None:
    reading: list[_Reading] = []
    rendering: list[_Rendering] = []
    while waiting or reading or rendering:
        next_reading = batches.read(batches.take(waiting))
        next_rendering = batches.decide(reading)
        batches.file(rendering)
        reading, rendering = next_reading, next_rendering


_Reading = tuple[int, "pebble.ProcessFuture[Assessment] | None"]
# a group of inputs whose letters one job renders: the job (None: no letters) and the
# planned letters by input
_Rendering = tuple["pebble.ProcessFuture[dict[int, RenderFailure]] | None",
                   dict[int, list[PlannedLetter]]]
# an input ready to be filed: its id, its rendered letters, a reason to add (letters given up)
_Ready = tuple[int, list[int], str | None]


class _Batches:
    """The three stages of ``process_inputs``; the workers never touch the register.

    Whatever goes wrong with one input ends that input, never the pass: a reader that fails
    makes it invalid with the failure as its reason; values the register refuses make the
    chunk's transaction be repeated input by input, the culprit decided invalid; a failure
    the input may not cause every time (its letters, its filing, its claimed file) is counted
    in the register, and after ``intake.max_attempts`` counted passes the input is ended with
    it as its reason. Only failures of the service itself (``is_infrastructure``) stop."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime],
                 progress: Progress | None, locks: Locks) -> None:
        self.settings, self.clock, self.progress, self.locks = settings, clock, progress, locks
        self.claims: dict[int, str] = {}  # claim paths of the undecided inputs taken
        self.given_up: dict[int, Assessment] = {}  # undecided inputs out of attempts
        self.taken: set[int] = set()  # every input this pass locked
        self.sessions = session_factory(settings.db_url)
        self.done: list[InputResult] = []
        self.error: Exception | None = None

    def _submit(self, function: Callable[..., T], *args: object) -> pebble.ProcessFuture[T]:
        intake = self.settings.intake
        return workers.submit(function, args, workers=self.settings.worker_count,
                              memory_mb=intake.read_memory_mb,
                              timeout=intake.read_timeout_seconds)

    def take(self, waiting: list[int]) -> list[int]:
        """Lock the next chunk of inputs that no other pass holds and that are unfinished
        (removes the ids it looked at from ``waiting``)."""
        chunk: list[int] = []
        while waiting and len(chunk) < CHUNK:
            candidates = waiting[:CHUNK - len(chunk)]
            del waiting[:len(candidates)]
            chunk += self.locks.try_items(INPUT_LOCKS, candidates)
        if not chunk:
            return []
        self.taken.update(chunk)
        with self.sessions.begin() as session:
            states = register.input_states(session, chunk)
            failed = register.failed_attempts(session, chunk)
        finished = [i for i in chunk if states.get(i, ("done", ""))[0] == "done"]
        self.locks.release_items(INPUT_LOCKS, finished)  # another pass was quicker
        self.claims.update({i: path for i, (state, path) in states.items()
                            if state == "claimed"})
        self.given_up.update({
            i: Assessment(reasons=[gave_up_reason(attempts, error)])
            for i, (attempts, error) in failed.items()
            if i in self.claims and attempts >= self.settings.intake.max_attempts})
        return [i for i in chunk if i not in set(finished)]

    def read(self, chunk: list[int]) -> list[_Reading]:
        """Queue reading + validation of the chunk's undecided inputs."""
        return [(input_id, self._submit(_assess_file, self.claims[input_id], self.settings)
                 if input_id in self.claims and input_id not in self.given_up else None)
                for input_id in chunk]

    def decide(self, reading: list[_Reading]) -> list[_Rendering]:
        """Decide the chunk in one transaction, then queue the rendering of its letters."""
        if not reading:
            return []
        assessments = {}
        undecidable = set()
        for input_id, future in reading:
            if input_id in self.given_up:
                assessments[input_id] = self.given_up.pop(input_id)
                continue
            if future is None:
                continue
            assessment = self._assessment(input_id, future)
            if assessment is None:
                undecidable.add(input_id)
            else:
                assessments[input_id] = assessment
        now = self.clock()
        chunk = [input_id for input_id, _ in reading if input_id not in undecidable]
        try:
            with self.sessions.begin() as session:
                decide_all(session, assessments, self.settings, now)
                letters = {input_id: planned_letters(rows) for input_id, rows
                           in register.letters_by_input(session, chunk).items()}
        except Exception as exc:
            if is_infrastructure(exc):
                raise
            # one input's values (e.g. one the database refuses) must not hold back the rest
            log.warning("Entscheidung über %d Eingänge gescheitert (%s); einzeln neu",
                        len(chunk), failure_reason(exc))
            letters = self._decide_one_by_one(assessments, chunk, now)
        return self._render(letters)

    def _assessment(self, input_id: int, future: pebble.ProcessFuture[Assessment]
                    ) -> Assessment | None:
        """The reading's result; None when the input cannot be decided in this pass."""
        try:
            result = workers.outcome(future, self.settings.intake.read_timeout_seconds)
        except Exception as exc:
            if is_infrastructure(exc):
                self.error = self.error or exc
                return None
            # e.g. its claimed file was removed by hand: it waits, counted, until the last
            reason = failure_reason(exc)
            attempts = self._note_failure(input_id, reason)
            if attempts >= self.settings.intake.max_attempts:
                return Assessment(reasons=[gave_up_reason(attempts, reason)])
            self.error = self.error or exc
            return None
        return (Assessment(reasons=[result.reason])
                if isinstance(result, workers.WorkerFailed) else result)

    def _decide_one_by_one(self, assessments: dict[int, Assessment], chunk: list[int],
                           now: datetime) -> dict[int, list[PlannedLetter]]:
        letters: dict[int, list[PlannedLetter]] = {}
        for input_id in chunk:
            try:
                letters[input_id] = self._decide_alone(input_id, assessments.get(input_id),
                                                       now)
                continue
            except Exception as exc:
                if is_infrastructure(exc):
                    raise
                reason = failure_reason(exc)
            try:  # its values are lost, the input is not: invalid, with the reason
                letters[input_id] = self._decide_alone(input_id, Assessment(reasons=[reason]),
                                                       now)
            except Exception as exc:
                if is_infrastructure(exc):
                    raise
                self._note_failure(input_id, failure_reason(exc))
        return letters

    def _decide_alone(self, input_id: int, assessment: Assessment | None, now: datetime
                      ) -> list[PlannedLetter]:
        with self.sessions.begin() as session:
            if assessment is not None:
                decide_all(session, {input_id: assessment}, self.settings, now)
            return planned_letters(register.letters_of(session, input_id))

    def _note_failure(self, input_id: int, reason: str) -> int:
        """Count a failed attempt at the input in the register; returns the attempts."""
        with self.sessions.begin() as session:
            attempts = register.note_failure(session, input_id, reason)
        log.warning("Eingang %s, Versuch %d von %d gescheitert: %s", input_id, attempts,
                    self.settings.intake.max_attempts, reason)
        return attempts

    def _render(self, letters: dict[int, list[PlannedLetter]]) -> list[_Rendering]:
        """Queue the rendering of the letters: the chunk split in order over the workers, a
        job per part, not per input (each job costs this process time)."""
        inputs = list(letters.items())
        size = max(1, -(-len(inputs) // self.settings.worker_count))  # ceiling
        groups: list[_Rendering] = []
        for start in range(0, len(inputs), size):
            group = dict(inputs[start:start + size])
            job = (self._submit(render_inputs, group, self.settings)
                   if any(group.values()) else None)
            groups.append((job, group))
        return groups

    def file(self, rendering: list[_Rendering]) -> None:
        """Archive or quarantine the chunk's originals in one transaction."""
        ready: list[_Ready] = []
        limit = self.settings.intake.max_attempts
        for future, group in rendering:
            failures = self._render_failures(future, group)
            for input_id, planned in group.items():
                failure = failures.get(input_id)
                if failure is None:
                    ready.append((input_id, [letter_id for letter_id, _, _ in planned], None))
                elif failure.counted and self._note_failure(input_id, failure.reason) >= limit:
                    ready.append((input_id, [], "Die Briefe zu diesem Eingang konnten nicht "
                                                f"geschrieben werden: {failure.reason}"))
                elif not failure.counted:
                    self.error = self.error or LettersNotWritten(
                        f"Briefe zu Eingang {input_id} nicht geschrieben: {failure.reason}")
        if ready:
            self._file_ready(ready)

    def _render_failures(self, future: pebble.ProcessFuture[dict[int, RenderFailure]] | None,
                         group: dict[int, list[PlannedLetter]]) -> dict[int, RenderFailure]:
        """Why the group's letters were not written, by input. A job that ended without a
        result is run again for each of its inputs alone (once), so that an input whose
        letters crash the worker is not counted against the others of its group."""
        if future is None:
            return {}
        timeout = self.settings.intake.read_timeout_seconds
        try:
            rendered = workers.outcome(future, timeout)
        except Exception as exc:
            if not is_infrastructure(exc):  # e.g. a result that cannot be sent back
                return {input_id: RenderFailure(failure_reason(exc), True)
                        for input_id in group}
            self.error = self.error or exc  # its inputs wait for the next pass
            return {input_id: RenderFailure(str(exc), False) for input_id in group}
        if not isinstance(rendered, workers.WorkerFailed):
            return rendered
        if len(group) == 1:
            return {input_id: RenderFailure(rendered.reason, True) for input_id in group}
        failures: dict[int, RenderFailure] = {}
        jobs = {input_id: self._submit(render_inputs, {input_id: planned}, self.settings)
                for input_id, planned in group.items() if planned}
        for input_id, job in jobs.items():
            failures.update(self._render_failures(job, {input_id: group[input_id]}))
        return failures

    def _file_ready(self, ready: list[_Ready]) -> None:
        now = self.clock()
        try:
            results = self._finish(ready, now)
        except Exception as exc:
            if is_infrastructure(exc):
                raise
            log.warning("Ablage von %d Eingängen gescheitert (%s); einzeln neu", len(ready),
                        failure_reason(exc))
            results = [result for item in ready for result in self._finish_alone(item, now)]
        self.locks.release_items(INPUT_LOCKS, [result.input_id for result in results])
        for result in results:
            self.done.append(result)
            if self.progress is not None:
                self.progress(result)

    def _finish_alone(self, item: _Ready, now: datetime) -> list[InputResult]:
        """File one input; a failure is counted, and the last attempt ends the input with
        its file where it lies (``pipeline._file_input`` says so in its reasons)."""
        for _attempt in range(2):
            try:
                return self._finish([item], now)
            except Exception as exc:
                if is_infrastructure(exc):
                    raise
                reason = failure_reason(exc)
            if self._note_failure(item[0], reason) < self.settings.intake.max_attempts:
                break
        return []

    def _finish(self, ready: list[_Ready], now: datetime) -> list[InputResult]:
        with self.sessions.begin() as session:
            loaded = register.load_inputs(session, [input_id for input_id, _, _ in ready])
            for input_id, _, reason in ready:
                if reason is not None:
                    row = loaded.inputs[input_id]
                    row.reasons = [*row.reasons, reason]
            return [finish(session, input_id, letter_ids, loaded.letters[input_id],
                           self.settings, now) for input_id, letter_ids, _ in ready]


def _assess_file(claim_path: str, settings: Settings) -> Assessment:
    return assess_file(Path(claim_path), settings)  # a worker job: by module and name


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
