"""A pass over the inbox: claim stable files, process every open input on the worker pool,
convert the new letters to PDF/A (I/O: files, database, processes). Prefect flows and the CLI
call these steps; they hold no Prefect code."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pebble

from ews import folders, mail_intake, register, workers
from ews.database import migrate, session_factory
from ews.errors import ConversionError, LettersNotWritten
from ews.imap import MailboxError
from ews.models import Assessment
from ews.pdfa import convert_to_pdfa
from ews.pipeline import (
    InputResult,
    assess_document,
    decide,
    finish,
    planned_letters,
    render_planned,
)
from ews.schema import LetterRow
from ews.settings import Settings

Progress = Callable[[InputResult], None]
T = TypeVar("T")


def prepare(settings: Settings) -> None:
    """Create the folders and bring the register's schema up to date."""
    for folder in (settings.inbox_dir, settings.outbox_dir, settings.archive_dir,
                   settings.quarantine_dir):
        folder.mkdir(parents=True, exist_ok=True)
    migrate(settings.db_url)


def claim_new_inputs(settings: Settings, now: Callable[[], datetime] | None = None
                     ) -> list[int]:
    """Adopt files a crashed run left in the work folder, then claim every stable file."""
    clock = now or (lambda: datetime.now(UTC))
    sessions = session_factory(settings.db_url)
    adopted = [_adopt(path, settings, clock()) for path in _orphans(settings)]
    inbox = settings.inbox_dir.resolve()
    seen_at = clock()  # everything found in one scan was first seen at the same moment
    with sessions.begin() as session:
        register.record_sightings(session, [(str(obs.path), obs.size, obs.mtime_ns) for obs
                                            in folders.observe_inbox(inbox).values()], seen_at)
    moved = [(target, obs) for obs in folders.stable_files(inbox, settings.intake.stable_seconds)
             if (target := folders.claim_file(obs, inbox)) is not None]
    # a crash between the renames and this commit leaves orphans, adopted by the next pass
    return adopted + _open_all([(target, str(obs.path)) for target, obs in moved], settings,
                               clock())


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
                session, claim_path=str(claim), source_name=folders.original_name(claim),
                sha256=digest, size=size, received_at=seen.first_seen_at,
                stamped_at=seen.stamped_at))
            register.forget_sighting(session, seen)
        session.flush()
        return [row.id for row in rows]


def open_input_ids(settings: Settings) -> list[int]:
    with session_factory(settings.db_url).begin() as session:
        return [row.id for row in register.unfinished_inputs(session)]


def _undecided_claims(settings: Settings, input_ids: list[int]) -> dict[int, str]:
    wanted = set(input_ids)
    with session_factory(settings.db_url).begin() as session:
        return {row.id: row.claim_path for row in register.unfinished_inputs(session)
                if row.state == "claimed" and row.id in wanted}


CHUNK = 32  # inputs per database transaction; small enough to keep progress visible


def process_inputs(input_ids: list[int], settings: Settings, *,
                   now: Callable[[], datetime] | None = None,
                   progress: Progress | None = None) -> list[InputResult]:
    """Process inputs in chunks, pipelined: while the workers read chunk k+1 and render the
    letters of chunk k, this process decides chunk k (one transaction) and files chunk k-1
    (one transaction). An input whose reading failed is decided as invalid with the failure
    as its German reason; one whose letters could not be rendered stays decided for the next
    pass, and the first such error is raised once everything else is done."""
    batches = _Batches(settings, now or (lambda: datetime.now(UTC)), progress,
                       _undecided_claims(settings, input_ids))
    chunks = [input_ids[i:i + CHUNK] for i in range(0, len(input_ids), CHUNK)]
    reading: list[_Reading] = []
    rendering: list[_Rendering] = []
    for chunk in [*chunks, [], []]:
        next_reading = batches.read(chunk)
        next_rendering = batches.decide(reading)
        batches.file(rendering)
        reading, rendering = next_reading, next_rendering
    if batches.error is not None:
        raise batches.error
    return batches.done


_Reading = tuple[int, "pebble.ProcessFuture[Assessment] | None"]
_Rendering = tuple[int, "pebble.ProcessFuture[None] | None", list[int]]


class _Batches:
    """The three stages of ``process_inputs``; the workers never touch the register."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime],
                 progress: Progress | None, claims: dict[int, str]) -> None:
        self.settings, self.clock, self.progress, self.claims = settings, clock, progress, claims
        self.sessions = session_factory(settings.db_url)
        self.done: list[InputResult] = []
        self.error: Exception | None = None

    def _submit(self, function: Callable[..., T], *args: object) -> pebble.ProcessFuture[T]:
        intake = self.settings.intake
        return workers.submit(function, args, workers=self.settings.worker_count,
                              memory_mb=intake.read_memory_mb,
                              timeout=intake.read_timeout_seconds)

    def read(self, chunk: list[int]) -> list[_Reading]:
        """Queue reading + validation of the chunk's undecided inputs."""
        return [(input_id, self._submit(_assess_file, self.claims[input_id], self.settings)
                 if input_id in self.claims else None) for input_id in chunk]

    def decide(self, reading: list[_Reading]) -> list[_Rendering]:
        """Decide the chunk in one transaction, then queue the rendering of its letters."""
        if not reading:
            return []
        timeout = self.settings.intake.read_timeout_seconds
        assessments = {}
        undecidable = set()
        for input_id, future in reading:
            if future is None:
                continue
            try:
                result = workers.outcome(future, timeout)
            except OSError as exc:  # e.g. its claimed file was removed by hand: stays claimed
                self.error = self.error or exc
                undecidable.add(input_id)
                continue
            assessments[input_id] = (Assessment(reasons=[result.reason])
                                     if isinstance(result, workers.WorkerFailed) else result)
        now = self.clock()
        chunk = [input_id for input_id, _ in reading if input_id not in undecidable]
        with self.sessions.begin() as session:
            _held = register.load_inputs(session, chunk)  # so that decide's gets need no query
            for input_id, assessment in assessments.items():
                decide(session, input_id, assessment, self.settings, now)
            session.flush()
            letters = {input_id: planned_letters(rows) for input_id, rows
                       in register.letters_by_input(session, chunk).items()}
        return [(input_id, self._submit(render_planned, planned, self.settings)
                 if planned else None, [letter_id for letter_id, _, _ in planned])
                for input_id, planned in letters.items()]

    def file(self, rendering: list[_Rendering]) -> None:
        """Archive or quarantine the chunk's originals in one transaction."""
        timeout = self.settings.intake.read_timeout_seconds
        ready = []
        for input_id, future, letter_ids in rendering:
            failure: workers.WorkerFailed | None = None
            try:
                if future is not None and isinstance(
                        rendered := workers.outcome(future, timeout), workers.WorkerFailed):
                    failure = rendered
            except Exception as exc:  # a broken template: the input waits for the next pass
                failure = workers.WorkerFailed(str(exc))
                self.error = self.error or exc
            if failure is not None:
                self.error = self.error or LettersNotWritten(
                    f"Briefe zu Eingang {input_id} nicht geschrieben: {failure.reason}")
                continue
            ready.append((input_id, letter_ids))
        if not ready:
            return
        now = self.clock()
        with self.sessions.begin() as session:
            loaded = register.load_inputs(session, [input_id for input_id, _ in ready])
            results = [finish(session, input_id, letter_ids, loaded.letters[input_id],
                              self.settings, now) for input_id, letter_ids in ready]
        for result in results:
            self.done.append(result)
            if self.progress is not None:
                self.progress(result)


def _assess_file(claim_path: str, settings: Settings) -> Assessment:
    return assess_document(Path(claim_path).read_bytes(), settings)


def convert_pending_letters(settings: Settings) -> list[str]:
    """Convert every rendered letter to PDF/A in batches; returns the PDF paths made."""
    if not settings.letters.pdf:
        return []
    sessions = session_factory(settings.db_url)
    with sessions.begin() as session:
        pending = {row.id: Path(row.docx_path)
                   for row in register.letters_waiting_for_pdf(session)}
    if not pending:
        return []
    failure: ConversionError | None = None
    try:
        convert_letters(list(pending.values()), settings)
    except ConversionError as exc:
        failure = exc  # the others were converted; record them before reporting it
    made = _record_pdfs(settings, pending)
    if failure is not None:
        raise failure
    return made


def convert_letters(docx_paths: list[Path], settings: Settings) -> None:
    """PDF/A beside each .docx, by LibreOffice with the service's profile and limits."""
    convert_to_pdfa(docx_paths, soffice=settings.letters.soffice,
                    profile_dir=settings.data_dir / "libreoffice" / "profil-1",
                    timeout=settings.letters.timeout_seconds,
                    batch_size=settings.letters.batch_size)


def _record_pdfs(settings: Settings, pending: dict[int, Path]) -> list[str]:
    made = []
    with session_factory(settings.db_url).begin() as session:
        for letter_id, docx in pending.items():
            pdf = docx.with_suffix(".pdf")
            if not pdf.is_file() or pdf.stat().st_mtime < docx.stat().st_mtime:
                continue  # not converted (or an old PDF of an earlier rendering)
            letter = session.get(LetterRow, letter_id)
            assert letter is not None
            letter.pdf_path, letter.state = str(pdf), "done"
            made.append(str(pdf))
    return made


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
    results = process_inputs(open_input_ids(settings), settings, progress=progress)
    convert_pending_letters(settings)
    if settings.imap.host or settings.smtp.host:
        mail_intake.answer_and_finish(settings, datetime.now(UTC))
    if mailbox_failure is not None:
        raise mailbox_failure
    return results
