"""The steps of a pass (``ews.intake.passes``) over chunks of inputs: read on the worker
pool, decide in one transaction, render on the pool, file in one transaction
(I/O: database, files, processes). One class: the stages share what the pass took (locks,
claims, attempts)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import pebble

from ews.core.errors import LettersNotWritten
from ews.core.models import Assessment, FormReading, InputState
from ews.core.outcomes import rejection
from ews.intake.early_readings import EARLY_READINGS
from ews.intake.failures import failure_reason, gave_up_reason, is_infrastructure
from ews.intake.pipeline import InputResult, decide_all, finish
from ews.intake.reading import assess_file
from ews.intake.rendering import RenderFailure, render_inputs
from ews.intake.sharing import CHUNK, INPUT_LOCKS
from ews.outbox.letters import PlannedLetter, planned_letters
from ews.register import cases as register
from ews.register import inputs
from ews.register.database import transaction
from ews.register.locks import Locks
from ews.runtime import workers
from ews.runtime.settings import Settings

log = logging.getLogger(__name__)

Progress = Callable[[InputResult], None]
T = TypeVar("T")

Reading = tuple[int, "pebble.ProcessFuture[Assessment] | None"]
# a group of inputs whose letters one job renders: the job (None: no letters) and the
# planned letters by input
Rendering = tuple["pebble.ProcessFuture[dict[int, RenderFailure]] | None",
                   dict[int, list[PlannedLetter]]]
# an input ready to be filed: its id, its rendered letters, a reason to add (letters given up)
Ready = tuple[int, list[int], str | None]


class Batches:
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
        self.db_url = settings.db_url
        self.done: list[InputResult] = []
        self.error: Exception | None = None

    def _submit(self, function: Callable[..., T], *args: object) -> pebble.ProcessFuture[T]:
        return workers.submit_limited(self.settings, function, *args)

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
        with transaction(self.db_url) as session:
            states = register.input_states(session, chunk)
            failed = register.failed_attempts(session, chunk)
        finished = [i for i in chunk if states.get(i, (InputState.DONE, ""))[0] == InputState.DONE]
        self.locks.release_items(INPUT_LOCKS, finished)  # another pass was quicker
        self.claims.update({i: path for i, (state, path) in states.items()
                            if state == InputState.CLAIMED})
        self.given_up.update({
            i: rejection(gave_up_reason(attempts, error))
            for i, (attempts, error) in failed.items()
            if i in self.claims and attempts >= self.settings.intake.max_attempts})
        return [i for i in chunk if i not in set(finished)]

    def read_next(self, waiting: list[int]) -> list[Reading]:
        """Step 1: lock the next chunk (``take``) and queue its reading (``read``)."""
        return self.read(self.take(waiting))

    def read(self, chunk: list[int]) -> list[Reading]:
        """Queue reading + validation of the chunk's undecided inputs."""
        return [(input_id, self._submit(_assess_file, self.claims[input_id], self.settings,
                                        EARLY_READINGS.take(self.claims[input_id]))
                 if input_id in self.claims and input_id not in self.given_up else None)
                for input_id in chunk]

    def decide(self, reading: list[Reading]) -> dict[int, list[PlannedLetter]]:
        """Step 2: decide the chunk in one transaction; returns its letters to render."""
        if not reading:
            return {}
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
            with transaction(self.db_url) as session:
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
        return letters

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
                return rejection(gave_up_reason(attempts, reason))
            self.error = self.error or exc
            return None
        return (rejection(result.reason)
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
                letters[input_id] = self._decide_alone(input_id, rejection(reason),
                                                       now)
            except Exception as exc:
                if is_infrastructure(exc):
                    raise
                self._note_failure(input_id, failure_reason(exc))
        return letters

    def _decide_alone(self, input_id: int, assessment: Assessment | None, now: datetime
                      ) -> list[PlannedLetter]:
        with transaction(self.db_url) as session:
            if assessment is not None:
                decide_all(session, {input_id: assessment}, self.settings, now)
            return planned_letters(register.letters_of(session, input_id))

    def _note_failure(self, input_id: int, reason: str) -> int:
        """Count a failed attempt at the input in the register; returns the attempts."""
        with transaction(self.db_url) as session:
            attempts = register.note_failure(session, input_id, reason)
        log.warning("Eingang %s, Versuch %d von %d gescheitert: %s", input_id, attempts,
                    self.settings.intake.max_attempts, reason)
        return attempts

    def render(self, letters: dict[int, list[PlannedLetter]]) -> list[Rendering]:
        """Step 3: queue the rendering of the letters: the chunk split in order over the
        workers, a job per part, not per input (each job costs this process time)."""
        inputs = list(letters.items())
        size = max(1, -(-len(inputs) // self.settings.worker_count))  # ceiling
        groups: list[Rendering] = []
        for start in range(0, len(inputs), size):
            group = dict(inputs[start:start + size])
            job = (self._submit(render_inputs, group, self.settings)
                   if any(group.values()) else None)
            groups.append((job, group))
        return groups

    def file(self, rendering: list[Rendering]) -> None:
        """Step 4: archive or quarantine the chunk's originals in one transaction."""
        ready: list[Ready] = []
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

    def _file_ready(self, ready: list[Ready]) -> None:
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

    def _finish_alone(self, item: Ready, now: datetime) -> list[InputResult]:
        """File one input; a failure is counted, and the last attempt ends the input with
        its file where it lies (``filing.file_input`` says so in its reasons)."""
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

    def _finish(self, ready: list[Ready], now: datetime) -> list[InputResult]:
        with transaction(self.db_url) as session:
            loaded = register.load_inputs(session, [input_id for input_id, _, _ in ready])
            for input_id, _, reason in ready:
                if reason is not None:
                    inputs.add_reasons(loaded.inputs[input_id], reason)
            return [finish(session, input_id, letter_ids, loaded.letters[input_id],
                           self.settings, now) for input_id, letter_ids, _ in ready]


def _assess_file(claim_path: str, settings: Settings, reading: FormReading | None = None
                 ) -> Assessment:
    return assess_file(Path(claim_path), settings, reading)  # a worker job: module and name
