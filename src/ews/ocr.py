"""Text of scanned PDF pages: pdftoppm rasterises, tesseract reads German (adapter: subprocesses).

Both tools run with a timeout and an address-space limit, in a private temporary folder.
tesseract runs with ``OMP_THREAD_LIMIT=1`` (OpenMP makes it about three times slower on small
machines). A missing tool or language pack is an installation fault and raises
``ConfigurationError``; a page the tools cannot handle raises ``UnreadablePdf``.
"""

from __future__ import annotations

import os
import resource
import subprocess
import tempfile
from functools import partial
from pathlib import Path
from subprocess import CompletedProcess

from PIL import Image

from ews.errors import ConfigurationError, UnreadablePdf
from ews.ocr_layout import lines_from_tsv, text_with_ticks

#: the long side of A4 at 300 dpi; also caps the raster size of oversized pages
_LONG_SIDE_PX = 3508
_MEMORY_LIMIT_BYTES = 1536 * 1024 * 1024


def ocr_text(data: bytes, *, max_pages: int, first_page: int = 1, timeout: float = 90.0) -> str:
    """The recognised text of ``max_pages`` pages from ``first_page`` on, joined by form feeds.

    Lines that start with a checkbox label get a ``[x]`` when the box beside them is ticked.
    """
    with tempfile.TemporaryDirectory(prefix="ews-ocr-") as folder:
        workdir = Path(folder)
        source = workdir / "eingang.pdf"
        source.write_bytes(data)
        images = rasterised_pages(
            source, workdir, first_page=first_page, max_pages=max_pages, timeout=timeout
        )
        return "\f".join(page_text(image, timeout=timeout) for image in images)


def rasterised_pages(
    source: Path, workdir: Path, *, first_page: int = 1, max_pages: int, timeout: float
) -> list[Path]:
    """Grayscale PGM images (300 dpi for A4) of the first pages, in page order.

    Uncompressed on purpose: encoding PNGs took longer than rendering the pages.
    """
    command = [
        "pdftoppm", "-gray", "-r", "300", "-scale-to", str(_LONG_SIDE_PX),
        "-f", str(first_page), "-l", str(first_page + max(1, max_pages) - 1),
        str(source), str(workdir / "seite"),
    ]  # fmt: skip
    _run(command, timeout=timeout, tool="pdftoppm")
    return sorted(workdir.glob("seite*.pgm"))


def page_text(image: Path, *, timeout: float) -> str:
    """What tesseract reads on one page image (German, lines kept in order, ticks marked)."""
    # --psm 4: one column of lines, so a label and the value printed beside it stay together
    command = ["tesseract", str(image), "stdout", "-l", "deu", "--psm", "4", "tsv"]
    tsv = _run(command, timeout=timeout, tool="tesseract")
    with Image.open(image) as picture:
        return text_with_ticks(lines_from_tsv(tsv), picture)


def _run(command: list[str], *, timeout: float, tool: str) -> str:
    """The tool's standard output; its failures as ConfigurationError or UnreadablePdf."""
    result = _completed(command, timeout=timeout, tool=tool)
    stderr = result.stderr.decode("utf-8", errors="replace")
    if "Failed loading language" in stderr:
        raise ConfigurationError(
            "Für die Texterkennung fehlt das deutsche Sprachpaket (tesseract-ocr-deu)."
        )
    if result.returncode != 0:
        raise UnreadablePdf(
            "Die Seiten des Dokuments konnten für die Texterkennung nicht gelesen werden "
            f"({tool}, Fehlercode {result.returncode})."
        )
    return result.stdout.decode("utf-8", errors="replace")


def _completed(command: list[str], *, timeout: float, tool: str) -> CompletedProcess[bytes]:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        return subprocess.run(
            command,
            capture_output=True,
            timeout=timeout,
            env=env,
            check=False,
            preexec_fn=partial(_limit_memory, *_memory_limit()),
        )
    except FileNotFoundError as exc:
        raise ConfigurationError(
            f"Das Programm {tool} ist nicht installiert; ohne es können gescannte Bewerbungen "
            "nicht gelesen werden."
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise UnreadablePdf(
            f"Die Texterkennung des gescannten Dokuments hat länger als {timeout:.0f} Sekunden "
            "gedauert und wurde abgebrochen."
        ) from exc


def _memory_limit() -> tuple[int, int]:
    """The child's address-space limit: ours, but never above a limit the caller already set."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limits = [value for value in (soft, hard) if value != resource.RLIM_INFINITY]
    return min([_MEMORY_LIMIT_BYTES, *limits]), hard


def _limit_memory(limit: int, hard: int) -> None:
    """Runs in the child before exec: a damaged page must not take the machine's memory."""
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
