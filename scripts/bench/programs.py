"""``python -m scripts.bench programme``: the median time to read one form per PDF program, side
by side in one run on this machine (the corpus of ``tests.support.programs``: the office's form
filled, saved or printed by pdftk, Ghostscript, Poppler, qpdf, MuPDF, LibreOffice Draw,
Chromium). Runs those programs in temporary folders; reads in this process.

Each file is read ``REPEATS`` times after one warm-up read; the figure is the median, beside the
target (≤ 50 ms for any path that reads fields or the text layer) and how exactly the fields
came back (fields read exactly / fields).
"""

from __future__ import annotations

import statistics
import time

from ews.core.models import ReadMethod
from ews.documents.pdf import read_form
from tests.support import programs

REPEATS = 15
TARGET_MS = 50.0
THEME = "türkisch"


def main() -> None:
    values = programs.value_set(THEME, 0)
    print(f"Formular je Programm lesen (Werte „{THEME}“, Median aus {REPEATS} Lesungen):")
    for program in programs.PROGRAMS:
        try:
            data = programs.produced(program, values)
        except (programs.ProgramMissing, programs.ProgramCannot) as reason:
            print(f"  {program.name:24} übersprungen: {reason}")
            continue
        reading = read_form(data)
        times = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            read_form(data)
            times.append((time.perf_counter() - started) * 1000)
        wanted = programs.expected(values, program)
        exact = sum(reading.fields.get(name) == value for name, value in wanted.items())
        median = statistics.median(times)
        target = "Ziel ≤ 50 ms" if reading.method != ReadMethod.OCR else "Texterkennung"
        verdict = "erfüllt" if median <= TARGET_MS else "verfehlt"
        print(f"  {program.name:24} {reading.method.value:9} {median:7.1f} ms ({target}: "
              f"{verdict}), Felder exakt {exact}/{len(wanted)}")
