"""Programs on untrusted input run contained: real pdftoppm, tesseract, sleep and dd, real
pool workers; every wait is bounded and the processes are found in /proc."""

from __future__ import annotations

import os
import resource
import signal
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from docx import Document
from PIL import Image

from ews.core.errors import UnreadablePdf
from ews.documents import ocr
from ews.letters.pdfa import convert_to_pdfa
from ews.runtime import workers
from ews.runtime.child_processes import ChildLimits, ChildTimeout, run_contained
from tests.support import pdfgen

pytestmark = pytest.mark.slow

SECRETS = {
    "EWS_IMAP__PASSWORD": "imap-geheim",
    "EWS_SMTP__PASSWORD": "smtp-geheim",
    "EWS_DATABASE_URL": "postgresql://ews:db-geheim@localhost/ews",
    "EWS_STORAGE__OPTIONS": '{"key": "s3-geheim"}',
    "PREFECT_API_KEY": "prefect-geheim",
    "BACKUP_PASSWORD": "backup-geheim",
}
T = TypeVar("T")
MINIMAL_NAMES = {"PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "OMP_THREAD_LIMIT"}


def living_processes(marker: str) -> dict[int, tuple[str, int]]:
    """pid -> program name and process group of every living process whose command line
    holds ``marker`` (a zombie has no command line any more)."""
    found = {}
    for pid, cmdline, pgid in _proc_table():
        if marker.encode() in cmdline:
            found[pid] = (Path(cmdline.split(b"\0")[0].decode()).name, pgid)
    return found


def running_tool(marker: str, tool: str) -> set[int]:
    """The process groups of the living ``tool`` processes working on ``marker``."""
    return {pgid for name, pgid in living_processes(marker).values() if name == tool}


def living_members(pgid: int) -> list[int]:
    return [pid for pid, _, group in _proc_table() if group == pgid]


def _proc_table() -> list[tuple[int, bytes, int]]:
    table = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # ended while we looked
            continue
        if fields[0] not in ("Z", "X"):
            table.append((int(entry.name), cmdline, int(fields[2])))
    return table


def wait_for(condition: Callable[[], T], seconds: float) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    return condition()


def run_in_thread(call: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def target() -> None:
        try:
            call()
        except BaseException as exc:  # handed to the test
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, errors


def test_pdftoppm_killed_on_timeout_leaves_no_process_of_its_group(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    source = tmp_path / f"{marker}.pdf"
    source.write_bytes(pdfgen.long_form(3000, with_fields=False))
    thread, errors = run_in_thread(lambda: ocr.rasterised_pages(
        source, tmp_path, max_pages=3000, timeout=3.0))

    groups = wait_for(lambda: running_tool(marker, "pdftoppm"), 20)
    thread.join(30)

    assert groups, "pdftoppm never started"
    assert not thread.is_alive()
    assert [type(error) for error in errors] == [UnreadablePdf]
    assert "länger als 3 Sekunden" in str(errors[0])
    [group] = groups
    assert group != os.getpgrp()
    wait_for(lambda: not living_members(group), 5)
    assert living_members(group) == []


def test_tesseract_killed_on_timeout_leaves_no_process_of_its_group(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    image = tmp_path / f"{marker}.pgm"
    Image.effect_noise((5000, 5000), 120).convert("L").save(image)  # ~9 s of work for tesseract
    thread, errors = run_in_thread(lambda: ocr.page_text(image, timeout=2.0))

    groups = wait_for(lambda: running_tool(marker, "tesseract"), 20)
    thread.join(30)

    assert groups, "tesseract never started"
    assert not thread.is_alive()
    assert [type(error) for error in errors] == [UnreadablePdf]
    [group] = groups
    assert group != os.getpgrp()
    wait_for(lambda: not living_members(group), 5)
    assert living_members(group) == []


def test_group_is_killed_as_a_whole_on_timeout_grandchildren_included() -> None:
    marker = f"1000.{uuid.uuid4().int % 10**9}"
    started = time.monotonic()

    with pytest.raises(ChildTimeout) as raised:
        run_contained(["sh", "-c", f"sleep {marker} & sleep {marker}; wait"],
                      limits=ChildLimits(), timeout=1.0)

    assert time.monotonic() - started < 15
    assert raised.value.reason == "Das Programm sh lief länger als 1 s und wurde abgebrochen."
    wait_for(lambda: not living_processes(marker), 5)
    assert living_processes(marker) == {}


def test_child_environment_holds_no_secrets_of_the_parent(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)

    result = run_contained(["printenv"], limits=ChildLimits(), timeout=30)

    environment = dict(line.split("=", 1) for line in result.stdout.decode().splitlines())
    assert set(environment) == MINIMAL_NAMES
    assert environment["LC_ALL"] == "C.UTF-8" and environment["OMP_THREAD_LIMIT"] == "1"
    assert environment["HOME"] == environment["TMPDIR"]
    assert not Path(environment["HOME"]).exists()  # private, and removed afterwards
    assert "geheim" not in result.stdout.decode()


def test_child_writing_past_the_file_size_limit_is_stopped_with_a_german_reason(
        tmp_path: Path) -> None:
    target = tmp_path / "gross.bin"

    result = run_contained(["dd", "if=/dev/zero", f"of={target}", "bs=1M", "count=20"],
                           limits=ChildLimits(file_mb=2), timeout=30)

    assert result.returncode == -signal.SIGXFSZ
    assert result.limit_reason == ("Das Programm wollte eine Datei über der erlaubten Größe "
                                   "schreiben.")
    assert target.stat().st_size <= 2 * 1024 * 1024


def test_cpu_limit_stops_a_busy_loop_with_a_german_reason() -> None:
    started = time.monotonic()

    result = run_contained(["sh", "-c", "while :; do :; done"],
                           limits=ChildLimits(cpu_seconds=1), timeout=60)

    assert time.monotonic() - started < 30  # CPU time, not the wall-clock timeout
    assert result.returncode in (-signal.SIGXCPU, -signal.SIGKILL)
    assert result.limit_reason is not None and "Rechenzeit" in result.limit_reason


def test_child_gets_its_limits() -> None:
    limits = ChildLimits(address_space_mb=512, file_mb=8, open_files=64, cpu_seconds=7)

    result = run_contained(["sh", "-c", "ulimit -v; ulimit -f; ulimit -n; ulimit -t; ulimit -c"],
                           limits=limits, timeout=30)

    # sh reports kB, 512-byte blocks, files, seconds, blocks
    assert result.stdout.decode().split() == ["524288", "16384", "64", "7", "0"]


# -- pool workers -----------------------------------------------------------------------------
# Each test uses its own pool (workers.pool is cached per (workers, memory_mb)).


def _sleep_in_child(marker: str) -> None:
    """A job: starts a shell with a child of its own, like soffice's oosplash and soffice.bin,
    and blocks until the pool kills this worker."""
    run_contained(["sh", "-c", f"sleep {marker} & sleep {marker}; wait"],
                  limits=ChildLimits(), timeout=1000)


def _environment_here_and_in_a_child() -> tuple[dict[str, str], str]:
    child = run_contained(["printenv"], limits=ChildLimits(), timeout=30)
    return dict(os.environ), child.stdout.decode()


def _write_past_own_file_limit(path: str) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024 * 1024, hard))
    with open(path, "wb") as file:
        file.write(b"\0" * (3 * 1024 * 1024))


def _nothing() -> None:
    return None


def _busy_forever() -> None:
    while True:
        pass


def _convert_letter(docx: str, profile: str) -> None:
    convert_to_pdfa([Path(docx)], soffice="soffice", profile_dir=Path(profile), timeout=300)


def test_worker_killed_on_timeout_takes_its_child_along() -> None:
    marker = f"1000.{uuid.uuid4().int % 10**9}"
    workers.outcome(workers.submit(_nothing, (), workers=1, memory_mb=700, timeout=60), 60)

    future = workers.submit(_sleep_in_child, (marker,), workers=1, memory_mb=700, timeout=3)
    # the launcher, the shell and its two sleeps
    started = wait_for(lambda: len(living_processes(marker)) == 4, 20)
    failed = workers.outcome(future, 3)

    assert started, "the worker's children never started"
    assert isinstance(failed, workers.WorkerFailed)
    assert "länger als 3 Sekunden" in failed.reason
    # the pool ends the worker with SIGKILL after a 3 s grace; its children follow at once
    wait_for(lambda: not living_processes(marker), 15)
    assert living_processes(marker) == {}


def test_worker_and_its_children_hold_none_of_the_service_secrets(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)

    future = workers.submit(_environment_here_and_in_a_child, (), workers=1, memory_mb=710,
                            timeout=60)
    result = workers.outcome(future, 60)

    assert not isinstance(result, workers.WorkerFailed)
    worker_environment, child_environment = result
    assert not set(SECRETS) & set(worker_environment)
    assert "geheim" not in child_environment


def test_worker_writing_past_its_file_size_limit_fails_with_a_german_reason(
        tmp_path: Path) -> None:
    future = workers.submit(_write_past_own_file_limit, (str(tmp_path / "gross.bin"),),
                            workers=1, memory_mb=720, timeout=60)

    failed = workers.outcome(future, 60)

    assert isinstance(failed, workers.WorkerFailed)
    assert "über der erlaubten Größe" in failed.reason


@pytest.mark.libreoffice
def test_worker_killed_while_soffice_converts_leaves_no_soffice_behind(tmp_path: Path) -> None:
    # soffice.bin is oosplash's child: the case where a death signal alone was not enough
    marker = uuid.uuid4().hex
    document = Document()
    for number in range(3000):
        document.add_paragraph(f"Absatz {number}: " + "Text " * 400)  # ~13 s to convert
    document.save(tmp_path / "lang.docx")
    workers.outcome(workers.submit(_nothing, (), workers=1, memory_mb=730, timeout=60), 60)

    future = workers.submit(_convert_letter, (str(tmp_path / "lang.docx"),
                                              str(tmp_path / f"profil-{marker}")),
                            workers=1, memory_mb=730, timeout=4)
    started = wait_for(lambda: running_tool(marker, "soffice.bin"), 20)
    failed = workers.outcome(future, 4)

    assert started, "soffice.bin never started"
    assert isinstance(failed, workers.WorkerFailed)
    wait_for(lambda: not living_processes(marker), 15)
    assert living_processes(marker) == {}
    assert not (tmp_path / "lang.pdf").exists()


def test_worker_over_its_cpu_time_fails_with_a_german_reason() -> None:
    workers.outcome(workers.submit(_nothing, (), workers=1, memory_mb=740, timeout=60), 60)
    # the job's CPU time is what submit() derives from the timeout; 1 s here, with a
    # wall-clock timeout that cannot come first
    future = workers.pool(1, 740).schedule(workers._limited_job, args=(_busy_forever, 1, ()),
                                           timeout=120)

    failed = workers.outcome(future, 120)

    assert isinstance(failed, workers.WorkerFailed)
    assert failed.reason.startswith("Die Verarbeitung brauchte mehr Rechenzeit als erlaubt")
