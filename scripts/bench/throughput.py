"""The library against the Prefect flow (``make bench``, parts 1, 2, 4, 5): raw throughput in
one process, the intake flow on the same files, the peak memory of reading a 3,000-page PDF,
and the CPU per application with the letter templates prepared against docxtpl opening them
anew (with its cProfile). Writes under the bench's folder."""

from __future__ import annotations

import cProfile
import multiprocessing
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scripts.bench.common import bench_settings, flow_throughput, paired_order

from ews.core.models import Outcome
from ews.intake.decision import letter_data_for
from ews.intake.reading import assess_document
from ews.letters.context import LetterData, letter_context
from ews.letters.render import (
    letter_bytes,
    render_letter_docx_unprepared,
    template_path,
)
from ews.outbox.letters import letter_path
from ews.runtime.settings import Settings
from ews.runtime.storage import output_store

COUNT = 500
WARM_UP = 20  # untimed files before each throughput measurement
ROUNDS = 5  # the median of paired rounds: these machines are shared and noisy
CPU_FILES = 200  # applications per side and round of the CPU measurement


def raw_throughput(files: list[tuple[str, bytes]], root: Path,
                   warm_up: list[tuple[str, bytes]]) -> float:
    settings = bench_settings(root / "raw")
    now = datetime.now(UTC)
    _raw_pass(warm_up, settings, now)  # caches filled, as in the flow's warm workers
    started = time.perf_counter()
    _raw_pass(files, settings, now)
    return len(files) / (time.perf_counter() - started)


def parallel_throughput(files: list[tuple[str, bytes]], root: Path,
                        warm_up: list[tuple[str, bytes]]) -> float:
    """The library path in as many processes as the flow has workers (the cores this process
    may use), each on its share of ``files``, started together once each has warmed up: what
    the cores give with no orchestration at all, the ceiling of the flow's ratio here."""
    count = bench_settings(root).worker_count
    context = multiprocessing.get_context("spawn")
    start, ended = context.Barrier(count + 1), context.Queue()
    shares = [context.Process(target=_share_pass, args=(files[index::count],
                                                        root / f"teil-{index}", warm_up,
                                                        start, ended))
              for index in range(count)]
    for share in shares:
        share.start()
    try:
        start.wait(timeout=300)  # every share warm: the clock starts for all at once
        started = time.perf_counter()
        last = max(ended.get(timeout=600) for _ in shares)  # a share that died: raises
    finally:
        for share in shares:
            share.join(timeout=600)
    if any(share.exitcode != 0 for share in shares):
        raise RuntimeError("ein Bibliotheksprozess ist gescheitert")
    return len(files) / (last - started)


def _share_pass(files: list[tuple[str, bytes]], root: Path, warm_up: list[tuple[str, bytes]],
                start: Any, ended: Any) -> None:
    """In a process of its own: warm up, wait for the others, pass over ``files``, and say
    when it ended (``perf_counter`` is one clock for every process of the machine)."""
    settings = bench_settings(root)
    now = datetime.now(UTC)
    _raw_pass(warm_up, settings, now)
    start.wait(timeout=300)
    _raw_pass(files, settings, now)
    ended.put(time.perf_counter())


#: how a letter becomes .docx bytes: the service's path, and docxtpl opening the template anew
#: for every letter (the path before templates were prepared, issue 20)
Render = Callable[[LetterData, Settings], bytes]


def _prepared(letter: LetterData, settings: Settings) -> bytes:
    return letter_bytes(letter, settings.office, settings.templates_dir)


def _unprepared(letter: LetterData, settings: Settings) -> bytes:
    return render_letter_docx_unprepared(template_path(settings.templates_dir, letter.kind),
                                         letter_context(letter, settings.office))


PATHS: dict[str, Render] = {"vorher": _unprepared, "nachher": _prepared}


def _raw_pass(files: list[tuple[str, bytes]], settings: Settings, now: datetime,
              render: Render = _prepared) -> None:
    for index, (name, data) in enumerate(files):
        assessment = assess_document(data, settings)
        outcome = Outcome.REGISTERED if assessment.is_valid else Outcome.INVALID
        letter = letter_data_for(outcome, assessment, reference=f"13.0.70-{index:03d}/2026",
                                 source_name=name, received=now, settings=settings, now=now)
        if letter is not None:
            output_store(settings).put(letter_path(letter, settings), render(letter, settings))


def cpu_per_application(files: list[tuple[str, bytes]], root: Path,
                        warm_up: list[tuple[str, bytes]]) -> dict[str, float]:
    """Process CPU ms per application (read + validate + letter), before and after the
    templates were prepared, side by side: the median of paired rounds, order alternating."""
    settings = bench_settings(root / "cpu")
    now = datetime.now(UTC)
    for render in PATHS.values():
        _raw_pass(warm_up, settings, now, render)
    sample = files[:CPU_FILES]
    measured: dict[str, list[float]] = {name: [] for name in PATHS}
    for round_ in range(ROUNDS):
        for name in paired_order(list(PATHS), round_ + 1):
            started = time.process_time()
            _raw_pass(sample, settings, now, PATHS[name])
            measured[name].append((time.process_time() - started) / len(sample) * 1000)
    ratios = [before / after for before, after in zip(*measured.values(), strict=True)]
    medians = {name: statistics.median(values) for name, values in measured.items()}
    return {**medians, "verhaeltnis": statistics.median(ratios)}


def profile(files: list[tuple[str, bytes]], root: Path, warm_up: list[tuple[str, bytes]],
            top: int = 10) -> dict[str, str]:
    """cProfile of the library path, before and after: the ``top`` functions by cumulative
    and by own time, ms per application (cProfile's own overhead included)."""
    settings = bench_settings(root / "profil")
    now = datetime.now(UTC)
    sample = files[:CPU_FILES]
    tables = {}
    for name, render in PATHS.items():
        _raw_pass(warm_up, settings, now, render)
        profiler = cProfile.Profile()
        profiler.runcall(_raw_pass, sample, settings, now, render)
        stats = pstats.Stats(profiler)
        tables[f"{name}, nach kumulierter Zeit"] = _top(stats, len(sample), top, column=3)
        tables[f"{name}, nach eigener Zeit"] = _top(stats, len(sample), top, column=2)
    return tables


def _top(stats: pstats.Stats, count: int, top: int, column: int) -> str:
    """The ``top`` rows by cumulative (``column`` 3) or own time (2)."""
    rows = sorted(stats.stats.items(),  # type: ignore[attr-defined]
                  key=lambda item: item[1][column], reverse=True)
    lines = [f"{'kumuliert':>10} {'eigen':>8}  ms je Bewerbung, Funktion"]
    for (filename, line, function), (_calls, _prim, own, total, _callers) in rows:
        if function == "_raw_pass" or len(lines) > top:
            continue
        where = filename.split("site-packages/")[-1].split("/src/")[-1]
        lines.append(f"{total / count * 1000:10.2f} {own / count * 1000:8.2f}  "
                     f"{where}:{line}({function})")
    return "\n".join(lines)


RSS_PROBE = """
import re, sys
from ews.intake.reading import assess_document
from ews.runtime.settings import Settings
data = open(sys.argv[1], "rb").read()
result = assess_document(data, Settings(_env_file=None))
# VmHWM starts anew at exec (ru_maxrss would carry the parent's peak over)
status = open("/proc/self/status").read()
print(int(re.search(r"VmHWM:\\s+(\\d+)", status).group(1)) // 1024, len(result.reasons))
"""


def peak_rss_mb(pdf: bytes, root: Path, name: str) -> int:
    path = root / name
    path.write_bytes(pdf)
    out = subprocess.run([sys.executable, "-c", RSS_PROBE, str(path)], check=True,
                         capture_output=True, text=True, timeout=600).stdout.split()
    return int(out[0])


#: the two sides of a throughput round: how each is measured and how it is printed
SIDES: dict[str, tuple[Callable[[list[tuple[str, bytes]], Path, list[tuple[str, bytes]]],
                             float], str]] = {
    "raw": (raw_throughput, "Bibliothek, ein Prozess (lesen+prüfen+Brief)"),
    "flow": (flow_throughput, "Prefect-Flow posteingang (mit Register+Archiv)"),
    "parallel": (parallel_throughput, "Bibliothek, je Kern ein Prozess (Obergrenze)"),
}
