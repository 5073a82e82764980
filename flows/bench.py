"""``make bench``: measured side by side in one run on this machine.

1. Raw library throughput, one process: read + validate + render the letter (no Prefect,
   no register).
2. The Prefect intake flow on the same 500 files: claim, read, validate, register, render,
   archive, on the worker pool (warm service: Prefect and the pool started beforehand).
3. 200 letters to PDF/A: one batched LibreOffice call per 50 against one start per letter.
4. Peak RSS of reading the 3,000-page PDF in a fresh process, beside a one-page baseline.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from ews.folders import safe_name
from ews.letters import render_letter
from ews.models import Outcome
from ews.pdfa import convert_to_pdfa
from ews.pipeline import assess_document, letter_data_for, letter_path
from ews.samples import sample_applications
from ews.settings import IntakeSettings, LetterSettings, Settings

COUNT = 500
LETTERS = 200
REPO = Path(__file__).resolve().parent.parent


def bench_settings(root: Path) -> Settings:
    return Settings(_env_file=None, inbox_dir=root / "inbox", outbox_dir=root / "outbox",
                    data_dir=root / "data", templates_dir=REPO / "templates",
                    intake=IntakeSettings(stable_seconds=0.0),
                    letters=LetterSettings(pdf=False))


def raw_throughput(files: list[tuple[str, bytes]], root: Path) -> float:
    settings = bench_settings(root / "raw")
    now = datetime.now(UTC)
    started = time.perf_counter()
    for index, (name, data) in enumerate(files):
        assessment = assess_document(data, settings)
        outcome = Outcome.REGISTERED if assessment.is_valid else Outcome.INVALID
        letter = letter_data_for(outcome, assessment, reference=f"13.0.70-{index:03d}/2026",
                                 source_name=name, received=now, settings=settings, now=now)
        if letter is not None:
            render_letter(letter, settings.office, settings.templates_dir,
                          letter_path(letter, settings))
    return len(files) / (time.perf_counter() - started)


def flow_throughput(files: list[tuple[str, bytes]], root: Path) -> float:
    from ews import workers
    from flows.intake import posteingang

    settings = bench_settings(root / "flow")
    settings.inbox_dir.mkdir(parents=True)
    workers.warm_up(settings.worker_count, settings.intake.read_memory_mb)
    posteingang(settings)  # warm: Prefect's server and client are up, as under `ews serve`
    for name, data in files:
        (settings.inbox_dir / safe_name(name)).write_bytes(data)
    started = time.perf_counter()
    results = posteingang(settings)
    elapsed = time.perf_counter() - started
    assert len(results) == len(files), f"{len(results)} of {len(files)} processed"
    return len(files) / elapsed


def conversion_times(files: list[tuple[str, bytes]], root: Path) -> tuple[float, float]:
    settings = bench_settings(root / "pdf")
    now = datetime.now(UTC)
    batched, single = [], []
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
from ews.pipeline import assess_document
from ews.settings import Settings
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


def main() -> None:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    from tests import pdfgen

    only_throughput = sys.argv[1:] == ["durchsatz"]

    files = sample_applications(COUNT, seed=2026)
    with tempfile.TemporaryDirectory(prefix="ews-bench-") as tmp:
        root = Path(tmp)
        print(f"Benchmark auf {os.cpu_count()} Kernen, {COUNT} Bewerbungen")
        raw = raw_throughput(files, root)
        print(f"Bibliothek, ein Prozess (lesen+prüfen+Brief): {raw:7.1f} Bewerbungen/s")
        flow = flow_throughput(files, root)
        print(f"Prefect-Flow posteingang (mit Register+Archiv): {flow:7.1f} Bewerbungen/s")
        print(f"Verhältnis Flow/Bibliothek: {flow / raw:.2f}x (Ziel ≥ 1.6x)")
        if only_throughput:
            return
        batched, single = conversion_times(files, root)
        print(f"PDF/A gebündelt (50 je Aufruf): {batched:6.1f} s")
        print(f"PDF/A einzeln (ein soffice je Brief): {single:6.1f} s")
        print(f"Verhältnis einzeln/gebündelt: {single / batched:.1f}x (Ziel ≥ 10x)")
        big = peak_rss_mb(pdfgen.long_form(3000), root, "3000.pdf")
        small = peak_rss_mb(pdfgen.filled_form(), root, "1.pdf")
        print(f"Speicherspitze 3.000-Seiten-PDF: {big} MB (1 Seite: {small} MB; Ziel ≤ 300 MB)")
    print(f"Benchmark-Prozess gesamt: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB Spitze")


if __name__ == "__main__":
    main()
