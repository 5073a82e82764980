"""What every part of ``make bench`` shares: the bench's settings, handing them to the flows,
and the Prefect intake flow's throughput with the CPU time of each process. Writes files
under the bench's temporary folder; runs the intake flow."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from ews.core.names import safe_name
from ews.intake.pipeline import preload
from ews.runtime import workers
from ews.runtime.settings import (
    ImapSettings,
    IntakeSettings,
    LetterSettings,
    Settings,
    SmtpSettings,
    settings_environment,
)

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def bench_settings(root: Path) -> Settings:
    """Settings of one part of the bench: no mailbox and no mail server, whatever an earlier
    part left in the environment (``use_settings``; ``Settings()`` reads it)."""
    return Settings(_env_file=None, inbox_dir=root / "inbox", outbox_dir=root / "outbox",
                    data_dir=root / "data", templates_dir=REPO / "templates",
                    intake=IntakeSettings(stable_seconds=0.0), imap=ImapSettings(),
                    smtp=SmtpSettings(),
                    letters=LetterSettings(pdf=False))  # type: ignore[call-arg]


def paired_order(sides: Sequence[T], number: int) -> list[T]:
    """The sides of paired round ``number`` (counted from 1): as given in odd rounds,
    reversed in even ones, so that a drift over the run (the machine's neighbours, a
    growing database) favours no side."""
    return list(sides) if number % 2 else list(sides)[::-1]


def write_inbox(inbox: Path, files: list[tuple[str, bytes]]) -> None:
    """Drop ``files`` into ``inbox`` under safe names, as staff would."""
    for name, data in files:
        (inbox / safe_name(name)).write_bytes(data)


def use_settings(settings: Settings) -> None:
    """Make ``settings`` the settings of this process: flows build theirs from the
    environment (``flows.service_settings``), never from a parameter."""
    wanted = settings_environment(settings)
    for name in [name for name in os.environ if name.startswith("EWS_")]:
        if name not in wanted:
            del os.environ[name]
    os.environ.update(wanted)


def flow_throughput(files: list[tuple[str, bytes]], root: Path,
                    warm_up: list[tuple[str, bytes]]) -> float:
    # Prefect reads its settings at import: imported only now, after the bench set them up
    from flows.intake import WarmPasses

    settings = bench_settings(root / "flow")
    settings.inbox_dir.mkdir(parents=True)
    workers.warm_up(settings.worker_count, settings.intake.read_memory_mb, preload)
    # warm, as under `ews serve`: Prefect's server and client are up, the passes run as its
    # pass runner runs them, the workers have read and written before (the same warm-up
    # files as the single process)
    write_inbox(settings.inbox_dir, warm_up)
    use_settings(settings)
    passes = WarmPasses()
    try:
        passes.run()
        write_inbox(settings.inbox_dir, files)
        before = cpu_seconds()
        started = time.perf_counter()
        results = passes.run()
        elapsed = time.perf_counter() - started
    finally:
        passes.close()
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
