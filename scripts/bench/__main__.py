"""``make bench`` (``python -m scripts.bench``): measured side by side in one run on this
machine.

1. Raw library throughput, one process: read + validate + render the letter (no Prefect,
   no register).
2. The Prefect intake flow on the same 500 files: claim, read, validate, register, render,
   archive, on the worker pool (warm service: Prefect and the pool started beforehand); and
   beside both, the library path in one process per core, each on its share of the files:
   the ceiling of the flow's ratio on this machine, with no orchestration at all.
3. Letters to PDF/A: the warm LibreOffice batched (50 a call) against one start per letter,
   and a single letter through the warm listener (``scripts.bench.conversion``; only this
   part: ``python -m scripts.bench pdfa [N]``, N letters a side, 40 by default).
   The folder's latency, file dropped to PDF/A letter, under ``ews serve``'s watcher
   (``scripts.bench.latency``); with the mail latency (``scripts.bench.mail``) alone:
   ``python -m scripts.bench latenz``; where their time goes, step by step:
   ``python -m scripts.bench latenz-schritte`` (``scripts.bench.steps``).
4. Peak RSS of reading the 3,000-page PDF in a fresh process, beside a one-page baseline.
5. CPU per application of the library path before and after the letter templates were
   prepared once per process (issue 20), side by side; ``python -m scripts.bench cpu`` runs
   only this part, ``python -m scripts.bench profil`` prints the cProfile of both paths.
6. The hostile inbox corpus against an ordinary batch of the same size: seconds and peak
   memory per pass as ratios, and each hostile input against the workers' limits
   (``scripts.bench.hostile``; only this part: ``python -m scripts.bench feindlich``).
6. The median time to read one form per PDF program that filled, saved or printed it
   (``scripts.bench.programs``; only this part: ``python -m scripts.bench programme``).
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import tempfile
from pathlib import Path

from scripts.bench import (
    circulars,
    cluster,
    cluster_profile,
    conversion,
    hostile,
    latency,
    mail,
    programs,
    steps,
)
from scripts.bench.common import paired_order
from scripts.bench.throughput import (
    COUNT,
    ROUNDS,
    SIDES,
    WARM_UP,
    cpu_per_application,
    peak_rss_mb,
    profile,
)

from ews.letters.samples import sample_applications
from ews.runtime import heap
from ews.runtime.settings import Settings
from flows import prepare_prefect_environment
from tests.support import pdfgen


def main() -> None:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    prepare_prefect_environment(Settings())  # before Prefect is imported, as `ews` does
    only_throughput = sys.argv[1:] == ["durchsatz"]
    if sys.argv[1:2] == ["postfach"]:  # only the mail part; optional: number of mails
        with tempfile.TemporaryDirectory(prefix="ews-bench-") as tmp:
            count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
            mail.main(sample_applications(40, seed=3), Path(tmp), count)
        return

    if sys.argv[1:2] == ["rundschreiben"]:  # only the circulars
        with tempfile.TemporaryDirectory(prefix="ews-bench-") as tmp:
            circulars.main(Path(tmp))
        return

    if sys.argv[1:2] == ["pdfa"]:  # only letters to PDF/A; optional: letters a side
        with tempfile.TemporaryDirectory(prefix="ews-bench-") as tmp:
            count = int(sys.argv[2]) if len(sys.argv) > 2 else conversion.LETTERS
            conversion.main(sample_applications(2 * count, seed=2026), Path(tmp), count)
        return

    if sys.argv[1:2] == ["latenz"]:  # only the folder's and the mailbox's latency
        with tempfile.TemporaryDirectory(prefix="ews-bench-") as tmp:
            latency.main(sample_applications(30, seed=4), Path(tmp))
            mail.print_latency(sample_applications(40, seed=3), Path(tmp))
        return

    if sys.argv[1:2] == ["latenz-schritte"]:  # where the latency goes; optional: the window
        with tempfile.TemporaryDirectory(prefix="ews-bench-") as tmp:
            window = float(sys.argv[2]) if len(sys.argv) > 2 else latency.WINDOWS[0]
            steps.main(sample_applications(30, seed=4), Path(tmp), window)
        return

    if sys.argv[1:2] == ["feindlich"]:  # only the hostile corpus against an ordinary batch
        hostile.run()
        return

    if sys.argv[1:2] == ["programme"]:  # only reading the forms of the PDF programs
        programs.main()
        return

    files = sample_applications(COUNT, seed=2026)
    warm_up = sample_applications(WARM_UP, seed=1)
    if sys.argv[1:2] in (["cpu"], ["profil"]):  # only the CPU per application / its profile
        with tempfile.TemporaryDirectory(prefix="ews-bench-") as tmp:
            if sys.argv[1] == "profil":
                for name, table in profile(files, Path(tmp), warm_up).items():
                    print(f"cProfile, Bibliothek {name}:\n{table}")
            print_cpu(files, Path(tmp), warm_up)
        return
    if sys.argv[1:2] == ["cluster-profil"]:  # statements and locks per input, no Prefect
        with tempfile.TemporaryDirectory(prefix="ews-bench-") as tmp:
            cluster_profile.main(sample_applications(int(sys.argv[2]) if len(sys.argv) > 2
                                                     else 100, seed=2026),
                                 sample_applications(WARM_UP, seed=1), Path(tmp))
        return
    if sys.argv[1:2] == ["cluster"]:  # only the distributed setup; optional: applications
        if len(sys.argv) > 2:
            files = sample_applications(int(sys.argv[2]), seed=2026)
        with tempfile.TemporaryDirectory(prefix="ews-bench-") as tmp:
            cluster.main(files, warm_up, Path(tmp))
        return
    with tempfile.TemporaryDirectory(prefix="ews-bench-") as tmp:
        root = Path(tmp)
        print(f"Benchmark auf {os.cpu_count()} Kernen, {COUNT} Bewerbungen")
        ratios: dict[str, list[float]] = {"flow": [], "parallel": []}
        # the flow's passes (WarmPasses) freeze this process's heap after their first pass, and
        # the library side runs in this process too: frozen from the start, the library side
        # of the first round runs as that of every later one
        heap.freeze()
        for round_ in range(1, ROUNDS + 1):
            # paired rounds: a noisy neighbour hits every side of a round alike; the order
            # alternates, so that a drift over the run favours no side
            print(f"Runde {round_} von {ROUNDS}")
            folder = root / f"runde-{round_}"
            measured = {}
            for side in paired_order(("raw", "flow", "parallel"), round_):
                measure, label = SIDES[side]
                measured[side] = measure(files, folder, warm_up)
                print(f"{label}: {measured[side]:7.1f} Bewerbungen/s")
            for side, values in ratios.items():
                values.append(measured[side] / measured["raw"])
            print(f"Verhältnis Flow/Bibliothek: {ratios['flow'][-1]:.2f}x; je Kern ein "
                  f"Prozess/Bibliothek: {ratios['parallel'][-1]:.2f}x")
        flow, ceiling = ratios["flow"], ratios["parallel"]
        print(f"Verhältnis Flow/Bibliothek, Median aus {ROUNDS} Runden: "
              f"{statistics.median(flow):.2f}x (kleinste {min(flow):.2f}x, größte "
              f"{max(flow):.2f}x; Ziel ≥ 1.6x)")
        print(f"Obergrenze auf diesem Rechner, je Kern ein Bibliotheksprozess ohne Flow, "
              f"Median: {statistics.median(ceiling):.2f}x (kleinste {min(ceiling):.2f}x, "
              f"größte {max(ceiling):.2f}x); der Flow erreicht davon "
              f"{statistics.median(f / c for f, c in zip(flow, ceiling, strict=True)):.0%}")
        print_cpu(files, root, warm_up)
        if only_throughput:
            return
        conversion.main(files, root / "pdfa")
        latency.main(sample_applications(30, seed=4), root / "latenz")
        mail.main(sample_applications(40, seed=3), root)
        circulars.main(root / "rundschreiben")
        cluster.main(files, warm_up, root / "cluster")
        hostile.main(root / "feindlich")
        programs.main()
        big = peak_rss_mb(pdfgen.long_form(3000), root, "3000.pdf")
        small = peak_rss_mb(pdfgen.filled_form(), root, "1.pdf")
        print(f"Speicherspitze 3.000-Seiten-PDF: {big} MB (1 Seite: {small} MB; Ziel ≤ 300 MB)")
    print(f"Benchmark-Prozess gesamt: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB Spitze")


def print_cpu(files: list[tuple[str, bytes]], root: Path,
              warm_up: list[tuple[str, bytes]]) -> None:
    cpu = cpu_per_application(files, root, warm_up)
    print(f"CPU je Bewerbung (lesen+prüfen+Brief), Median aus {ROUNDS} Runden: vorher "
          f"{cpu['vorher']:.1f} ms, nachher {cpu['nachher']:.1f} ms (Ziel ≤ 25 ms); "
          f"vorher/nachher {cpu['verhaeltnis']:.2f}x")


if __name__ == "__main__":
    main()
