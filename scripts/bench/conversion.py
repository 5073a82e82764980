"""Letters to PDF/A (``make bench`` part 3; only this part: ``python -m scripts.bench pdfa
[N]``): the warm LibreOffice batched (50 a call) against one soffice start per letter, the
cold batch beside them, and a single letter through the warm listener, p50 and p95. Writes
under the bench's folder; starts LibreOffice."""

from __future__ import annotations

import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from scripts.bench.common import bench_settings

from ews.core.models import Outcome
from ews.intake.decision import letter_data_for
from ews.intake.reading import assess_document
from ews.letters.pdfa import convert_to_pdfa
from ews.letters.render import render_letter
from ews.letters.warm import WarmListener
from ews.runtime.settings import Settings

#: letters per side: one soffice start each costs about 1.4 s, so 40 rather than 200
LETTERS = 40
SINGLE = 20  # single letters through the warm listener, one call each
TIMEOUT = 600.0


def main(files: list[tuple[str, bytes]], root: Path, count: int = LETTERS) -> None:
    settings = bench_settings(root / "pdf")
    print(f"PDF/A: {count} Briefe je Seite, Last vorher {os.getloadavg()[0]:.1f}")
    sides = {name: _letters(files, settings, root / "pdf" / name, count)
             for name in ("warm", "kalt", "einzeln", "vorwaermen")}
    sides["einzelbriefe"] = _letters(files, settings, root / "pdf" / "einzelbriefe", SINGLE)
    listener = WarmListener(soffice=settings.letters.soffice,
                            python=settings.letters.uno_python, profile_dir=root / "lo-warm",
                            timeout=TIMEOUT, restart_after=10 * count, batch_size=50)
    try:
        started = time.perf_counter()
        _convert(sides["vorwaermen"][:1], root / "lo-x", listener)
        print(f"  Start des warmen LibreOffice mit dem ersten Brief: "
              f"{time.perf_counter() - started:.1f} s")
        _convert(sides["vorwaermen"][1:5], root / "lo-x", listener)  # each kind of letter once
        warm = _timed(sides["warm"], root / "lo-x", listener, 50)
        singles = [_timed([path], root / "lo-x", listener, 1) for path in sides["einzelbriefe"]]
        assert listener.starts == 1, "der warme LibreOffice musste neu starten"
        assert not (root / "lo-x").exists(), "der kalte Weg hat konvertiert"
    finally:
        listener.stop()
    cold = _timed(sides["kalt"], root / "lo-50", None, 50)
    one_each = _timed(sides["einzeln"], root / "lo-1", None, 1)
    p50, p95 = statistics.median(singles), statistics.quantiles(singles, n=20)[-1]
    print(f"PDF/A warm gebündelt (50 je Aufruf): {warm:6.1f} s, "
          f"{warm / count * 1000:.0f} ms je Brief")
    print(f"PDF/A kalt gebündelt (ein soffice je 50): {cold:6.1f} s")
    print(f"PDF/A einzeln (ein soffice je Brief): {one_each:6.1f} s")
    print(f"Verhältnis einzeln/warm gebündelt: {one_each / warm:.1f}x (Ziel ≥ 10x); "
          f"einzeln/kalt gebündelt {one_each / cold:.1f}x")
    print(f"Ein Brief warm, {SINGLE} einzeln: p50 {p50 * 1000:.0f} ms (Ziel ≤ 300 ms), "
          f"p95 {p95 * 1000:.0f} ms; Last nachher {os.getloadavg()[0]:.1f}")


def _letters(files: list[tuple[str, bytes]], settings: Settings, folder: Path,
             count: int) -> list[Path]:
    now = datetime.now(UTC)
    made: list[Path] = []
    for index, (name, data) in enumerate(files):
        if len(made) == count:
            break
        letter = letter_data_for(Outcome.REGISTERED, assess_document(data, settings),
                                 reference=f"13.0.70-{index:03d}/2026", source_name=name,
                                 received=now, settings=settings, now=now)
        if letter is not None:
            path = folder / f"brief-{index:03d}.docx"
            made.append(render_letter(letter, settings.office, settings.templates_dir, path))
    return made


def _convert(paths: list[Path], profile: Path, warm: WarmListener | None,
             batch_size: int = 50) -> None:
    convert_to_pdfa(paths, soffice="soffice", profile_dir=profile, timeout=TIMEOUT,
                    batch_size=batch_size, warm=warm)


def _timed(paths: list[Path], profile: Path, warm: WarmListener | None,
           batch_size: int) -> float:
    started = time.perf_counter()
    _convert(paths, profile, warm, batch_size)
    return time.perf_counter() - started
