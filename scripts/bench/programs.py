"""``python -m scripts.bench programme``: the median time to read one form per PDF program, side
by side in one run on this machine (the corpus of ``tests.support.programs``: the office's form
filled, saved or printed by pdftk, Ghostscript, Poppler, qpdf, MuPDF, LibreOffice Draw,
Chromium). Runs those programs in temporary folders; reads in this process.

Each file is read ``REPEATS`` times after one warm-up read; the figure is the median, beside the
target (≤ 50 ms for any path that reads fields or the text layer, issue 21) and how exactly the
fields came back (fields read exactly / fields). Then, for the flattened pdftk form (one Form
XObject per field, all with one font), its time beside the printed one's as a ratio, and the
text layer's walk side by side: pypdf's ``extract_text``, which parses the fonts again in every
XObject, against ``ews.documents.text_walk``, which parses each font once per document.
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable

from pypdf import PdfReader

from ews.core.models import ReadMethod
from ews.documents.pdf import read_form
from ews.documents.text_walk import DocumentFonts, Visitors, walk_page
from tests.support import programs

REPEATS = 21
TARGET_MS = 50.0
THEME = "türkisch"
FLATTENED, PRINTED = "pdftk-flatten", "gs-gedruckt"


def median_ms(action: Callable[[], object]) -> float:
    """The median of ``REPEATS`` runs of ``action`` after one warm-up run, in milliseconds."""
    action()
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def paired_ms(first: Callable[[], object],
              second: Callable[[], object]) -> tuple[float, float, float]:
    """Both actions ``REPEATS`` times, alternating, so that a noisy neighbour hits both alike:
    the median of each in milliseconds and the median of the pairs' ratios first/second."""
    first(), second()
    pairs = []
    for _ in range(REPEATS):
        pair = []
        for action in (first, second):
            started = time.perf_counter()
            action()
            pair.append((time.perf_counter() - started) * 1000)
        pairs.append(pair)
    return (statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs),
            statistics.median(a / b for a, b in pairs))


def main() -> None:
    values = programs.value_set(THEME, 0)
    print(f"Formular je Programm lesen (Werte „{THEME}“, Median aus {REPEATS} Lesungen):")
    medians: dict[str, float] = {}
    files: dict[str, bytes] = {}
    for program in programs.PROGRAMS:
        try:
            data = files[program.name] = programs.produced(program, values)
        except (programs.ProgramMissing, programs.ProgramCannot) as reason:
            print(f"  {program.name:24} übersprungen: {reason}")
            continue
        reading = read_form(data)
        median = medians[program.name] = median_ms(lambda: read_form(data))  # noqa: B023
        wanted = programs.expected(values, program)
        exact = sum(reading.fields.get(name) == value for name, value in wanted.items())
        target = "Ziel ≤ 50 ms" if reading.method != ReadMethod.OCR else "Texterkennung"
        print(f"  {program.name:24} {reading.method.value:9} {median:7.1f} ms ({target}: "
              f"{_verdict(median)}), Felder exakt {exact}/{len(wanted)}")
    if FLATTENED in files and PRINTED in files:
        print_flattened(files[FLATTENED], files[PRINTED])


def print_flattened(flattened: bytes, printed: bytes) -> None:
    """The flattened pdftk form beside the printed one, and its text layer's walk before and
    after fonts were parsed once per document; each pair measured alternating."""
    mine, theirs, ratio = paired_ms(lambda: read_form(flattened), lambda: read_form(printed))
    print(f"  {FLATTENED} neben {PRINTED}, abwechselnd: {mine:.1f} gegen {theirs:.1f} ms, "
          f"Verhältnis {ratio:.2f}x; {FLATTENED} Ziel ≤ 50 ms: {_verdict(mine)}")
    ignore = Visitors(before=_ignored, after=_ignored, text=_ignored)
    before, after, ratio = paired_ms(lambda: _extracted(flattened),
                                     lambda: _walked(flattened, ignore))
    print(f"  Textschicht {FLATTENED}, abwechselnd: Schriften je XObject geparst (pypdf "
          f"extract_text) {before:.1f} ms, je Dokument einmal (text_walk) {after:.1f} ms; "
          f"vorher/nachher {ratio:.2f}x")


def _extracted(data: bytes) -> list[str]:
    return [page.extract_text(visitor_operand_before=_ignored, visitor_operand_after=_ignored,
                              visitor_text=_ignored) for page in PdfReader(io.BytesIO(data)).pages]


def _walked(data: bytes, visitors: Visitors) -> list[str]:
    fonts = DocumentFonts()
    return [walk_page(page, fonts, visitors) for page in PdfReader(io.BytesIO(data)).pages]


def _ignored(*_: object) -> None:
    return None


def _verdict(median: float) -> str:
    return "erfüllt" if median <= TARGET_MS else "verfehlt"
