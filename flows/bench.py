"""``make bench``: measured side by side in one run on this machine.

1. Raw library throughput, one process: read + validate + render the letter (no Prefect,
   no register).
2. The Prefect intake flow on the same 500 files: claim, read, validate, register, render,
   archive, on the worker pool (warm service: Prefect and the pool started beforehand).
3. 200 letters to PDF/A: one batched LibreOffice call per 50 against one start per letter.
4. Peak RSS of reading the 3,000-page PDF in a fresh process, beside a one-page baseline.
5. The hostile inbox corpus against an ordinary batch of the same size: seconds and peak
   memory per pass as ratios, and each hostile input against the workers' limits
   (``flows.bench_hostile``; only this part: ``python -m flows.bench feindlich``).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ews.core.models import Outcome
from ews.core.names import safe_name
from ews.intake.decision import letter_data_for
from ews.intake.pipeline import preload
from ews.intake.reading import assess_document
from ews.letters.pdfa import convert_to_pdfa
from ews.letters.render import letter_bytes, render_letter
from ews.letters.samples import sample_applications
from ews.outbox.letters import letter_path
from ews.runtime.settings import IntakeSettings, LetterSettings, Settings, settings_environment
from ews.runtime.storage import output_store

COUNT = 500
WARM_UP = 20  # untimed files before each throughput measurement
ROUNDS = 5  # the median of paired rounds: these machines are shared and noisy
LETTERS = 200
REPO = Path(__file__).resolve().parent.parent


def bench_settings(root: Path) -> Settings:
    return Settings(_env_file=None, inbox_dir=root / "inbox", outbox_dir=root / "outbox",
                    data_dir=root / "data", templates_dir=REPO / "templates",
                    intake=IntakeSettings(stable_seconds=0.0),
                    letters=LetterSettings(pdf=False))  # type: ignore[call-arg]


def use_settings(settings: Settings) -> None:
    """Make ``settings`` the settings of this process: flows build theirs from the
    environment (``flows.service_settings``), never from a parameter."""
    wanted = settings_environment(settings)
    for name in [name for name in os.environ if name.startswith("EWS_")]:
        if name not in wanted:
            del os.environ[name]
    os.environ.update(wanted)


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


def flow_throughput(files: list[tuple[str, bytes]], root: Path,
                    warm_up: list[tuple[str, bytes]]) -> float:
    from ews.runtime import workers
    from flows.intake import run_posteingang

    settings = bench_settings(root / "flow")
    settings.inbox_dir.mkdir(parents=True)
    workers.warm_up(settings.worker_count, settings.intake.read_memory_mb, preload)
    # warm, as under `ews serve`: Prefect's server and client are up, the workers have read
    # and written before (the same warm-up files as the single process)
    for name, data in warm_up:
        (settings.inbox_dir / safe_name(name)).write_bytes(data)
    use_settings(settings)
    run_posteingang()
    for name, data in files:
        (settings.inbox_dir / safe_name(name)).write_bytes(data)
    before = cpu_seconds()
    started = time.perf_counter()
    results = run_posteingang()
    elapsed = time.perf_counter() - started
    used = {name: seconds - before.get(name, 0.0) for name, seconds in cpu_seconds().items()}
    assert len(results) == len(files), f"{len(results)} of {len(files)} processed"
    print(f"  Wanduhr {elapsed:.1f} s; CPU-Sekunden: "
          + ", ".join(f"{name} {seconds:.1f}" for name, seconds in sorted(used.items())))
    return len(files) / elapsed


def cpu_seconds() -> dict[str, float]:
    """CPU time so far of this process and of its child processes, by role."""
    tick = os.sysconf("SC_CLK_TCK")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    totals = {"Flow-Prozess": usage.ru_utime + usage.ru_stime}
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if int(stat[1]) != os.getpid():
            continue
        role = ("Prefect-Server" if b"uvicorn" in command or b"prefect" in command
                else "Worker" if b"spawn_main" in command else "andere")
        totals[role] = totals.get(role, 0.0) + (int(stat[11]) + int(stat[12])) / tick
    return totals


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


def main() -> None:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    from flows import prepare_prefect_environment

    prepare_prefect_environment(Settings())  # before Prefect is imported, as `ews` does
    from tests.support import pdfgen

    only_throughput = sys.argv[1:] == ["durchsatz"]
    if sys.argv[1:2] == ["postfach"]:  # only the mail part; optional: number of mails
        from flows import bench_mail

        with tempfile.TemporaryDirectory(prefix="ews-bench-") as tmp:
            count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
            bench_mail.main(sample_applications(40, seed=3), Path(tmp), count)
        return

    if sys.argv[1:2] == ["rundschreiben"]:  # only the circulars
        from flows import bench_circulars

        with tempfile.TemporaryDirectory(prefix="ews-bench-") as tmp:
            bench_circulars.main(Path(tmp))
        return

    if sys.argv[1:2] == ["feindlich"]:  # only the hostile corpus against an ordinary batch
        from flows import bench_hostile

        bench_hostile.run()
        return

    files = sample_applications(COUNT, seed=2026)
    warm_up = sample_applications(WARM_UP, seed=1)
    if sys.argv[1:2] == ["cluster"]:  # only the distributed setup against the default
        from flows import bench_cluster

        with tempfile.TemporaryDirectory(prefix="ews-bench-") as tmp:
            bench_cluster.main(files, warm_up, Path(tmp))
        return
    with tempfile.TemporaryDirectory(prefix="ews-bench-") as tmp:
        root = Path(tmp)
        print(f"Benchmark auf {os.cpu_count()} Kernen, {COUNT} Bewerbungen")
        ratios = []
        for round_ in range(1, ROUNDS + 1):
            # paired rounds: a noisy neighbour hits both sides of a pair alike; the order
            # alternates, so that a drift over the run favours neither side
            print(f"Runde {round_} von {ROUNDS}")
            folder = root / f"runde-{round_}"
            measured = {}
            for side in (("raw", "flow") if round_ % 2 else ("flow", "raw")):
                measure, label = SIDES[side]
                measured[side] = measure(files, folder, warm_up)
                print(f"{label}: {measured[side]:7.1f} Bewerbungen/s")
            ratios.append(measured["flow"] / measured["raw"])
            print(f"Verhältnis Flow/Bibliothek: {ratios[-1]:.2f}x")
        print(f"Verhältnis Flow/Bibliothek, Median aus {ROUNDS} Runden: "
              f"{statistics.median(ratios):.2f}x (kleinste {min(ratios):.2f}x, größte "
              f"{max(ratios):.2f}x; Ziel ≥ 1.6x)")
        if only_throughput:
            return
        batched, single = conversion_times(files, root)
        print(f"PDF/A gebündelt (50 je Aufruf): {batched:6.1f} s")
        print(f"PDF/A einzeln (ein soffice je Brief): {single:6.1f} s")
        print(f"Verhältnis einzeln/gebündelt: {single / batched:.1f}x (Ziel ≥ 10x)")
        from flows import bench_mail

        bench_mail.main(sample_applications(40, seed=3), root)
        from flows import bench_circulars

        bench_circulars.main(root / "rundschreiben")
        from flows import bench_cluster

        bench_cluster.main(files, warm_up, root / "cluster")
        from flows import bench_hostile

        bench_hostile.main(root / "feindlich")
        big = peak_rss_mb(pdfgen.long_form(3000), root, "3000.pdf")
        small = peak_rss_mb(pdfgen.filled_form(), root, "1.pdf")
        print(f"Speicherspitze 3.000-Seiten-PDF: {big} MB (1 Seite: {small} MB; Ziel ≤ 300 MB)")
    print(f"Benchmark-Prozess gesamt: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB Spitze")


if __name__ == "__main__":
    main()
