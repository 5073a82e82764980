"""A pass over the inbox: claim stable files, process every open input on the worker pool,
convert the new letters to PDF/A (I/O: files, database, processes). Prefect flows and the CLI
call these steps; they hold no Prefect code."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ews import folders, register, workers
from ews.database import migrate, session_factory
from ews.errors import ConversionError
from ews.models import Assessment
from ews.pdfa import convert_to_pdfa
from ews.pipeline import InputResult, process_input
from ews.schema import LetterRow
from ews.settings import Settings

Progress = Callable[[InputResult], None]


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
        for obs in folders.observe_inbox(inbox).values():
            register.sighting(session, str(obs.path), obs.size, obs.mtime_ns, seen_at)
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
        for (claim, inbox_path), (digest, size) in zip(claims, digests, strict=True):
            seen = register.sighting(session, inbox_path, size, 0, now)
            rows.append(register.open_input(
                session, claim_path=str(claim), source_name=folders.original_name(claim),
                sha256=digest, size=size, received_at=seen.first_seen_at,
                stamped_at=seen.stamped_at))
            register.forget_sighting(session, inbox_path)
        return [row.id for row in rows]


def open_input_ids(settings: Settings) -> list[int]:
    with session_factory(settings.db_url).begin() as session:
        return [row.id for row in register.unfinished_inputs(session)]


def _undecided_claims(settings: Settings, input_ids: list[int]) -> dict[int, str]:
    with session_factory(settings.db_url).begin() as session:
        return {row.id: row.claim_path for row in register.unfinished_inputs(session)
                if row.state == "claimed" and row.id in set(input_ids)}


def process_inputs(input_ids: list[int], settings: Settings, *,
                   now: Callable[[], datetime] | None = None,
                   progress: Progress | None = None) -> list[InputResult]:
    """Process inputs on the worker pool; an input whose worker failed is decided as invalid
    with the failure as its German reason."""
    clock = now or (lambda: datetime.now(UTC))
    claims = _undecided_claims(settings, input_ids)
    jobs = [(input_id, settings, clock(), None, claims.get(input_id))
            for input_id in input_ids]
    done: list[InputResult] = []

    def collect(index: int, result: InputResult | workers.WorkerFailed) -> None:
        if isinstance(result, workers.WorkerFailed):
            result = process_input(input_ids[index], settings, clock(),
                                   Assessment(reasons=[result.reason]))
        done.append(result)
        if progress is not None:
            progress(result)

    workers.run_all(_process_job, jobs, workers=settings.worker_count,
                    memory_mb=settings.intake.read_memory_mb,
                    timeout=settings.intake.read_timeout_seconds, on_done=collect)
    return done


def _process_job(input_id: int, settings: Settings, now: datetime, assessment: None,
                 claim_path: str | None) -> InputResult:
    return process_input(input_id, settings, now, assessment, claim_path=claim_path)


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
        convert_to_pdfa(list(pending.values()), soffice=settings.letters.soffice,
                        profile_dir=settings.data_dir / "libreoffice" / "profil-1",
                        timeout=settings.letters.timeout_seconds,
                        batch_size=settings.letters.batch_size)
    except ConversionError as exc:
        failure = exc  # the others were converted; record them before reporting it
    made = _record_pdfs(settings, pending)
    if failure is not None:
        raise failure
    return made


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
    """One complete pass: claim, process, convert. Returns the results of this pass."""
    prepare(settings)
    claim_new_inputs(settings)
    results = process_inputs(open_input_ids(settings), settings, progress=progress)
    convert_pending_letters(settings)
    return results
