"""The library against the Prefect flow (``make bench``, parts 1 to 4): raw throughput in
one process, the intake flow on the same files, letters to PDF/A batched against one start
per letter, and the peak memory of reading a 3,000-page PDF. Writes under the bench's folder."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from scripts.bench.common import bench_settings, flow_throughput

from ews.core.models import Outcome
from ews.intake.decision import letter_data_for
from ews.intake.reading import assess_document
from ews.letters.pdfa import convert_to_pdfa
from ews.letters.render import letter_bytes, render_letter
from ews.outbox.letters import letter_path
from ews.runtime.settings import Settings
from ews.runtime.storage import output_store

COUNT = 500
WARM_UP = 20  # untimed files before each throughput measurement
ROUNDS = 5  # the median of paired rounds: these machines are shared and noisy
LETTERS = 200


def raw_throughput(files: list[tuple[str, bytes]], root: Path,
                   warm_up: list[tuple[str, bytes]]) -> float:
    settings = bench_settings(root / "raw")
    now = datetime.now(UTC)
    _raw_pass(warm_up, settings, now)  # caches filled, as in the flow's warm workers
    started = time.perf_counter()
    _raw_pass(files, settings, now)
    return len(files) / (time.perf_counter() - started)


def _raw_pass(files: list[tuple[str, bytes]], settings: Settings, now: datetime) -> None:
    for index, (name, data) in enumerate(files):
        assessment = assess_document(data, settings)
        outcome = Outcome.REGISTERED if assessment.is_valid else Outcome.INVALID
        letter = letter_data_for(outcome, assessment, reference=f"13.0.70-{index:03d}/2026",
                                 source_name=name, received=now, settings=settings, now=now)
        if letter is not None:
            output_store(settings).put(letter_path(letter, settings), letter_bytes(
                letter, settings.office, settings.templates_dir))


def conversion_times(files: list[tuple[str, bytes]], root: Path) -> tuple[float, float]:
    settings = bench_settings(root / "pdf")
    now = datetime.now(UTC)
    batched: list[Path] = []
    single: list[Path] = []
    for index, (name, data) in enumerate(files[:LETTERS]):
        assessment = assess_document(data, settings)
        letter = letter_data_for(Outcome.REGISTERED, assessment,
                                 reference=f"13.0.70-{index:03d}/2026", source_name=name,
                                 received=now, settings=settings, now=now)
        if letter is None:
            continue
        for target, folder in ((batched, "gebuendelt"), (single, "einzeln")):
            path = root / "pdf" / folder / f"brief-{index:03d}.docx"
            target.append(render_letter(letter, settings.office, settings.templates_dir, path))
    timings = []
    for paths, batch_size in ((batched, 50), (single, 1)):
        started = time.perf_counter()
        convert_to_pdfa(paths, soffice="soffice", profile_dir=root / f"lo-{batch_size}",
                        timeout=600, batch_size=batch_size)
        timings.append((time.perf_counter() - started, len(paths)))
    (batched_s, n), (single_s, _) = timings
    print(f"  {n} Briefe")
    return batched_s, single_s


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
}
