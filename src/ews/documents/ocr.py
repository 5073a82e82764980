"""Text of scanned PDF pages: pdftoppm rasterises, tesseract reads them (adapter: subprocesses).

Tesseract reads a page in German (``LANGUAGES``); the values of the name fields are read again,
line by line, with the script packs of NRW's names in Latin script and German
(``NAME_LANGUAGES``), and that reading is taken when it has a letter German lacks (``Ş``, ``ğ``,
``ř``, ``ł``, ``ó`` …): the packs read German's own letters worse (``ß`` as ``B``, ``Ä`` as
``A``). Chosen by measurement (issue 21).

Both tools run contained (``ews.runtime.child_processes``): own process group killed on the timeout,
limits on address space, CPU time, file size and open files, a minimal environment without
the service's secrets, in a private temporary folder. A missing tool or language pack is an
installation fault and raises ``ConfigurationError``; a page the tools cannot handle, or one
that makes them hit a limit, raises ``UnreadablePdf``.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from PIL import Image

from ews.core.errors import ConfigurationError, UnreadablePdf
from ews.documents.ocr_layout import lines_from_tsv, name_value_boxes, text_with_ticks
from ews.runtime.child_processes import ChildLimits, ChildResult, ChildTimeout, run_contained

#: the language of a page, and of the name fields' values (Turkish, Polish, Czech letters)
LANGUAGES = "deu"
NAME_LANGUAGES = "pol+tur+ces+deu"
#: a letter German lacks: only then is the packs' reading of a name taken (they read German's
#: own letters worse: "Weiß" as "WeiB", "Änne" as "Anne")
_GERMAN_LACKS = re.compile(r"[^\W\dA-Za-zÄÖÜäöüß_]")
_MISSING_LANGUAGE = re.compile(r"Failed loading language '([a-z_]+)'")
#: the long side of A4 at 300 dpi; also caps the raster size of oversized pages
_LONG_SIDE_PX = 3508
#: a page image is at most 3508 x 3508 grey bytes (12 MB); inside a pool worker the address
#: space is capped lower by the worker's own limit
_LIMITS = ChildLimits(address_space_mb=1536, file_mb=64, open_files=256)


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


def page_text(image: Path, *, timeout: float, languages: str = LANGUAGES,
              name_languages: str | None = NAME_LANGUAGES) -> str:
    """What tesseract reads on one page image (lines kept in order, ticks marked); the values
    of name fields read again with ``name_languages`` (None: not)."""
    # --psm 4: one column of lines, so a label and the value printed beside it stay together
    command = ["tesseract", str(image), "stdout", "-l", languages, "--psm", "4", "tsv"]
    tsv = _run(command, timeout=timeout, tool="tesseract")
    lines = lines_from_tsv(tsv)
    with Image.open(image) as picture:
        texts = text_with_ticks(lines, picture).split("\n")
        if name_languages is None:
            return "\n".join(texts)
        for index, (label, box) in name_value_boxes(lines, picture.size).items():
            crop = image.with_name(f"{image.stem}-zeile{index}.pgm")
            _with_margin(picture.crop(box)).save(crop)
            value = _line_value(crop, name_languages, timeout)
            if _GERMAN_LACKS.search(value):
                texts[index] = f"{label}    {value}"
    return "\n".join(texts)


def _with_margin(line: Image.Image) -> Image.Image:
    """The line on white with a margin of one line height: tesseract reads letters at the
    image's edge badly (diacritics first)."""
    margin = line.height
    framed = Image.new(line.mode, (line.width + 2 * margin, line.height + 2 * margin), 255)
    framed.paste(line, (margin, margin))
    return framed


def _line_value(crop: Path, languages: str, timeout: float) -> str:
    """One line of text on a cropped image (--psm 7: a single line)."""
    command = ["tesseract", str(crop), "stdout", "-l", languages, "--psm", "7"]
    return " ".join(_run(command, timeout=timeout, tool="tesseract").split())


def _run(command: list[str], *, timeout: float, tool: str) -> str:
    """The tool's standard output; its failures as ConfigurationError or UnreadablePdf."""
    result = _completed(command, timeout=timeout, tool=tool)
    stderr = result.stderr.decode("utf-8", errors="replace")
    missing = _MISSING_LANGUAGE.search(stderr)
    if missing is not None:
        raise ConfigurationError(
            f"Für die Texterkennung fehlt ein Sprachpaket (tesseract-ocr-{missing.group(1)}); "
            f"benötigt werden {', '.join(NAME_LANGUAGES.split('+'))}."
        )
    if result.returncode != 0:
        raise UnreadablePdf(
            "Die Seiten des Dokuments konnten für die Texterkennung nicht gelesen werden "
            f"({tool}, Fehlercode {result.returncode})."
        )
    return result.stdout.decode("utf-8", errors="replace")


def _completed(command: list[str], *, timeout: float, tool: str) -> ChildResult:
    try:
        result = run_contained(command, limits=_LIMITS, timeout=timeout)
    except FileNotFoundError as exc:
        raise ConfigurationError(
            f"Das Programm {tool} ist nicht installiert; ohne es können gescannte Bewerbungen "
            "nicht gelesen werden."
        ) from exc
    except ChildTimeout as exc:
        raise UnreadablePdf(
            f"Die Texterkennung des gescannten Dokuments hat länger als {timeout:.0f} Sekunden "
            "gedauert und wurde abgebrochen."
        ) from exc
    if result.limit_reason is not None:
        raise UnreadablePdf(
            f"Die Texterkennung des gescannten Dokuments wurde abgebrochen ({tool}): "
            f"{result.limit_reason}"
        )
    return result
