"""``python -m scripts.bench feindlich``: the hostile inbox corpus (tests/hostilegen.py, its
content and container batches) against an ordinary batch of the same size, side by side in
one run on this machine.

1. A whole pass (``intake.run_pass``, in a fresh process each) over either batch, in
   alternating order: seconds per pass and peak memory (the pass's process and its largest
   worker, sampled every 50 ms), printed as hostile/ordinary ratios.
2. Each hostile input alone, read as a worker reads it (``assess_document`` in a fresh process
   with the workers' address-space limit): its seconds and peak memory against the limits the
   workers set, ``intake.read_timeout_seconds`` and ``intake.read_memory_mb``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from scripts.bench.common import REPO, paired_order

from ews.runtime.settings import IntakeSettings

ROUNDS = 3
BATCHES = ("content", "containers")
INTAKE = IntakeSettings()

PASS_PROBE = r"""
import json, os, sys, threading, time
from pathlib import Path
from ews.intake import passes as intake
from ews.runtime.settings import IntakeSettings, LetterSettings, Settings

root = Path(sys.argv[1])
settings = Settings(_env_file=None, inbox_dir=root / "inbox", outbox_dir=root / "outbox",
                    data_dir=root / "data", templates_dir=Path(sys.argv[2]),
                    intake=IntakeSettings(stable_seconds=0.0, workers=2),
                    letters=LetterSettings(pdf=False))
peak = {"worker": 0}
done = threading.Event()

def descendants(pid):
    found = []
    for child in Path(f"/proc/{pid}/task").glob("*/children"):
        for number in child.read_text().split():
            found += [int(number), *descendants(int(number))]
    return found

def sample():
    while not done.wait(0.05):
        for pid in descendants(os.getpid()):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    peak["worker"] = max(peak["worker"], int(line.split()[1]) // 1024)

threading.Thread(target=sample, daemon=True).start()
started = time.perf_counter()
error = None
try:
    results = intake.run_pass(settings)
except Exception as exc:
    results, error = [], f"{type(exc).__name__}: {exc}"[:300]
seconds = time.perf_counter() - started
done.set()
status = Path("/proc/self/status").read_text()
main = int(next(l for l in status.splitlines() if l.startswith("VmHWM:")).split()[1]) // 1024
print(json.dumps({"seconds": seconds, "main_mb": main, "worker_mb": peak["worker"],
                  "inputs": len(results), "error": error}))
"""

INPUT_PROBE = r"""
import json, resource, sys, time
from pathlib import Path
limit = int(sys.argv[2]) * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from ews.intake.reading import assess_document
from ews.runtime.settings import Settings
data = Path(sys.argv[1]).read_bytes()
started = time.perf_counter()
try:
    reasons = assess_document(data, Settings(_env_file=None)).reasons
    error = None
except MemoryError:
    reasons, error = [], "MemoryError"
seconds = time.perf_counter() - started
status = Path("/proc/self/status").read_text()
peak = int(next(l for l in status.splitlines() if l.startswith("VmHWM:")).split()[1]) // 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak, "error": error}))
"""


@dataclass(frozen=True)
class PassCost:
    seconds: float
    main_mb: int
    worker_mb: int
    inputs: int
    error: str | None

    @property
    def peak_mb(self) -> int:
        return max(self.main_mb, self.worker_mb)


@dataclass(frozen=True)
class InputCost:
    name: str
    seconds: float
    peak_mb: int
    error: str | None

    @property
    def over_a_limit(self) -> bool:
        return (self.seconds > INTAKE.read_timeout_seconds
                or self.peak_mb >= INTAKE.read_memory_mb or self.error is not None)


def _files(kind: str, count: int) -> list[tuple[bytes, bytes]]:
    from tests.support import hostilegen

    if kind == "feindlich":
        return [(case.file_name, case.data) for case in hostilegen.inbox_cases(2026)
                if case.batch in BATCHES and case.kind == "file"
                and case.expected != "skipped"][:count]
    return [(case.file_name, case.data) for case in hostilegen.ordinary_batch(count)]


def measure_pass(files: list[tuple[bytes, bytes]], root: Path) -> PassCost:
    inbox = root / "inbox"
    inbox.mkdir(parents=True)
    for name, data in files:
        Path(os.fsdecode(os.path.join(os.fsencode(inbox), name))).write_bytes(data)
    out = subprocess.run([sys.executable, "-c", PASS_PROBE, str(root), str(REPO / "templates")],
                         capture_output=True, text=True, timeout=3600, check=True).stdout
    return PassCost(**json.loads(out.strip().splitlines()[-1]))


def measure_input(name: str, data: bytes, root: Path) -> InputCost:
    path = root / "eingabe.pdf"
    path.write_bytes(data)
    started = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, "-c", INPUT_PROBE, str(path),
                              str(INTAKE.read_memory_mb)], capture_output=True, text=True,
                             timeout=INTAKE.read_timeout_seconds * 2 + 30).stdout
    except subprocess.TimeoutExpired:
        return InputCost(name, time.perf_counter() - started, 0,
                         "Zeitgrenze des Messprozesses überschritten")
    lines = out.strip().splitlines()
    if not lines:  # killed at the memory limit outside Python's reach
        return InputCost(name, time.perf_counter() - started, INTAKE.read_memory_mb,
                         "Prozess beendet")
    return InputCost(name=name, **json.loads(lines[-1]))


def main(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    hostile = _files("feindlich", 10_000)
    ordinary = _files("gewoehnlich", len(hostile))
    print(f"Feindliche Eingänge: {len(hostile)} Dateien gegen {len(ordinary)} gewöhnliche "
          f"Bewerbungen, je Durchlauf ein frischer Prozess, {ROUNDS} Runden")
    seconds: list[float] = []
    memory: list[float] = []
    for round_ in range(1, ROUNDS + 1):
        measured = {}
        for side in paired_order(("feindlich", "gewoehnlich"), round_):
            cost = measure_pass(hostile if side == "feindlich" else ordinary,
                                root / f"runde-{round_}" / side)
            measured[side] = cost
            print(f"  Runde {round_}, {side}: {cost.seconds:.1f} s, Prozess {cost.main_mb} MB, "
                  f"größter Worker {cost.worker_mb} MB, {cost.inputs} Eingänge"
                  + (f", gestört: {cost.error}" if cost.error else ""))
        hostile_cost, ordinary_cost = measured["feindlich"], measured["gewoehnlich"]
        seconds.append(hostile_cost.seconds / ordinary_cost.seconds)
        memory.append(hostile_cost.peak_mb / max(1, ordinary_cost.peak_mb))
    for label, values in (("Sekunden", seconds), ("Speicherspitze", memory)):
        print(f"Feindlich/gewöhnlich, {label} je Durchlauf: Median "
              f"{statistics.median(values):.2f}x (kleinste {min(values):.2f}x, größte "
              f"{max(values):.2f}x)")
    _print_inputs([measure_input(os.fsdecode(name)[:50], data, root) for name, data in hostile])


def _print_inputs(inputs: list[InputCost]) -> None:
    slowest = max(inputs, key=lambda cost: cost.seconds)
    largest = max(inputs, key=lambda cost: cost.peak_mb)
    over = [cost for cost in inputs if cost.over_a_limit]
    print(f"Teuerste feindliche Eingabe, Zeit: {slowest.name} {slowest.seconds:.1f} s "
          f"(Ziel ≤ {INTAKE.read_timeout_seconds:.0f} s = intake.read_timeout_seconds)")
    print(f"Teuerste feindliche Eingabe, Speicher: {largest.name} {largest.peak_mb} MB "
          f"(Ziel < {INTAKE.read_memory_mb} MB = intake.read_memory_mb)")
    print(f"Über einer Grenze: {len(over)} von {len(inputs)}"
          + "".join(f"\n  {cost.name}: {cost.seconds:.1f} s, {cost.peak_mb} MB"
                    + (f", {cost.error}" if cost.error else "") for cost in over))


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="ews-bench-") as tmp:
        main(Path(tmp))
