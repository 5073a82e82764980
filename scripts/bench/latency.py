"""The folder's latency (``make bench``; only the latencies: ``python -m scripts.bench latenz``):
a file dropped into ``inbox/`` under ``ews serve``'s inbox watcher and pass runner until its
letter lies on disk as PDF/A, one file at a time (p50, p95), for the stability window the
service ships with and a short one. Writes under the bench's folder; starts LibreOffice."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from rich.console import Console
from scripts.bench.common import bench_settings, use_settings

from ews.core.names import safe_name
from ews.intake.pipeline import preload
from ews.outbox.conversion import stop_warm_listener
from ews.runtime import workers
from ews.runtime.settings import IntakeSettings, LetterSettings

COUNT = 20
#: the default of ``EWS_INTAKE__STABLE_SECONDS`` and a short one: the window is part of the wait
WINDOWS = (IntakeSettings().stable_seconds, 0.25)
WAIT = 60.0  # seconds for one letter at most


def folder_latency(files: list[tuple[str, bytes]], root: Path, window: float,
                   count: int = COUNT) -> list[float]:
    """Seconds from the file's last byte in the inbox to its letter's PDF, per file; the
    first (LibreOffice's and the workers' first start) is reported, not counted."""
    from flows.server import InboxWatcher, PassRunner

    settings = bench_settings(root)
    settings.intake = IntakeSettings(stable_seconds=window)
    settings.letters = LetterSettings(pdf=True, timeout_seconds=120)
    settings.inbox_dir.mkdir(parents=True, exist_ok=True)
    workers.warm_up(settings.worker_count, settings.intake.read_memory_mb, preload)
    use_settings(settings)  # the runner's flow runs build theirs from the environment
    runner = PassRunner(settings, Console(quiet=True))
    watcher = InboxWatcher(settings, runner)
    runner.start()
    watcher.start()
    seconds: list[float] = []
    try:
        time.sleep(3)  # the first (empty) pass done, the inotify watch set up
        for name, data in files[:count + 1]:
            before = _pdfs(settings.outbox_dir)
            (settings.inbox_dir / safe_name(name)).write_bytes(data)
            started = time.perf_counter()
            deadline = time.monotonic() + WAIT
            while _pdfs(settings.outbox_dir) == before:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"kein PDF-Brief zu {name} nach {WAIT:g} s")
                time.sleep(0.01)
            seconds.append(time.perf_counter() - started)
            time.sleep(0.3)  # the pass ends and the runner waits again
    finally:
        watcher.stop()
        runner.stopping.set()
        watcher.join(10)
        runner.join(120)
        stop_warm_listener()
    return seconds


def _pdfs(outbox: Path) -> int:
    """Letters in place (not the converter's output in its hidden scratch folder)."""
    if not outbox.is_dir():
        return 0
    return sum(1 for pdf in outbox.rglob("*.pdf")
               if not any(part.startswith(".") for part in pdf.relative_to(outbox).parts))


def main(files: list[tuple[str, bytes]], root: Path) -> None:
    print("Ordner: Zeit von der abgelegten Datei bis zum PDF/A-Brief auf der Platte "
          f"(Last {os.getloadavg()[0]:.1f})")
    for window in WINDOWS:
        seconds = folder_latency(files, root / f"ordner-{window:g}", window)
        first, seconds = seconds[0], seconds[1:]
        quantiles = statistics.quantiles(seconds, n=20)
        print(f"  Stabilitätsfenster {window:g} s: erste Datei nach dem Start {first:.1f} s; "
              f"{len(seconds)} Dateien nacheinander: p50 {statistics.median(seconds):.2f} s, "
              f"p95 {quantiles[18]:.2f} s (Ziel p50 ≤ 1 s)")
