"""The folder's latency (``make bench``; only the latencies: ``python -m scripts.bench latenz``):
a file dropped into ``inbox/`` under ``ews serve``'s inbox watcher and pass runner until its
letter lies on disk as PDF/A, one file at a time into an idle service (p50, p95), with the
stability windows the service ships with. Writes under the bench's folder; starts
LibreOffice."""

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
#: the default of ``EWS_INTAKE__STABLE_SECONDS``: the window is part of the wait
WINDOWS = (IntakeSettings().stable_seconds,)
WAIT = 60.0  # seconds for one letter at most
#: seconds after a letter before the next file: a pass asked for meanwhile (the poll, the
#: first file's slow pass) has ended, so that each file meets an idle service
SETTLE = 1.5


def folder_latency(files: list[tuple[str, bytes]], root: Path, window: float,
                   count: int = COUNT, marks: list[tuple[float, float]] | None = None
                   ) -> list[float]:
    """Seconds from the file's last byte in the inbox to its letter's PDF, per file; the
    first (LibreOffice's and the workers' first start) is reported, not counted. ``marks``
    gets each file's ``perf_counter`` at its last byte and at its PDF."""
    from flows.server import InboxWatcher, console_runner

    settings = bench_settings(root)
    settings.intake = IntakeSettings(stable_seconds=window)
    settings.letters = LetterSettings(pdf=True, timeout_seconds=120)
    settings.inbox_dir.mkdir(parents=True, exist_ok=True)
    workers.warm_up(settings.worker_count, settings.intake.read_memory_mb, preload)
    use_settings(settings)  # the runner's flow runs build theirs from the environment
    runner = console_runner(settings, Console(quiet=True))
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
            if marks is not None:
                marks.append((started, started + seconds[-1]))
            time.sleep(SETTLE)  # the pass ends and the runner waits again
    finally:
        watcher.stop()
        runner.stopping.set()
        watcher.join(10)
        runner.join(120)
        stop_warm_listener()
    return seconds


def _pdfs(outbox: Path) -> int:
    """Letters in place (not the converter's output in its hidden scratch folder)."""
    found = 0
    for _folder, subfolders, names in os.walk(outbox):  # a scratch folder may vanish meanwhile
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        found += sum(1 for name in names if name.endswith(".pdf") and not name.startswith("."))
    return found


def main(files: list[tuple[str, bytes]], root: Path) -> None:
    print("Ordner: Zeit vom letzten Byte der abgelegten Datei bis zum PDF/A-Brief auf der "
          f"Platte (Last {os.getloadavg()[0]:.1f})")
    after_close = IntakeSettings().stable_after_close_seconds
    for window in WINDOWS:
        seconds = folder_latency(files, root / f"ordner-{window:g}", window)
        first, seconds = seconds[0], seconds[1:]
        quantiles = statistics.quantiles(seconds, n=20)
        print(f"  Stabilitätsfenster {window:g} s, nach dem Schließen durch den Schreiber "
              f"{after_close:g} s: erste Datei nach dem Start {first:.1f} s; "
              f"{len(seconds)} Dateien nacheinander: p50 {statistics.median(seconds):.2f} s, "
              f"p95 {quantiles[18]:.2f} s (Ziel p50 ≤ 1 s)")
