"""PDF/A-2b conversion of .docx files with LibreOffice headless (adapter: runs soffice, writes
files).

One soffice process converts a batch of files into a temporary folder beside them; every output
is checked (PDF header and trailer, XMP ``pdfaid:part`` 2, readable by pypdf, at least one page)
and only then moved beside its source with ``os.replace``. When a batch fails, its failed files
are retried one by one, so one bad file costs one extra soffice start, not the batch.
Given a ``warm`` listener (``ews.letters.warm``), batches go to it instead; while it is down,
each batch takes the cold path above. The output is checked the same way on both paths.
Give every concurrent converter its own ``profile_dir``: two soffice processes sharing a profile
silently drop files.

soffice runs contained (``ews.runtime.child_processes``): its own process group, killed as a whole
on
the timeout or when the calling worker dies, a minimal environment without the service's
secrets (a private ``HOME``; the profile is passed with ``-env:UserInstallation``).
Its memory is limited with ``RLIMIT_DATA`` (heap and private anonymous mappings), not
``RLIMIT_AS``: most of its address space is mapped libraries (measured with LibreOffice 7.4:
VmPeak about 500 MB for a 70-page letter, of which the data segment needed 130–190 MB), so an
address-space limit would either be far above the real need or break it.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from ews.core.errors import ConfigurationError, ConversionError
from ews.letters.warm import ListenerDown, ListenerTimeout, WarmListener
from ews.runtime.child_processes import ChildLimits, ChildTimeout, run_contained

#: The JSON filter syntax (LibreOffice >= 7.4); the older ``SelectPdfVersion=2`` is ignored.
PDFA_FILTER = 'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}'
_PDFA_PART_2 = re.compile(rb"pdfaid:part(?:>\s*|=[\"'])2\b")
#: generous: several times what a long letter needs (see above); soffice.bin and oosplash have
#: dozens of libraries and fonts open; letters are small, but a batch may hold 50 of them
_LIMITS = ChildLimits(data_mb=1024, file_mb=512, open_files=1024)


@dataclass(frozen=True)
class _Soffice:
    executable: str
    profile_dir: Path
    timeout: float

    def command(self, sources: Sequence[Path], out_dir: Path) -> list[str]:
        profile = f"-env:UserInstallation={self.profile_dir.absolute().as_uri()}"
        flags = ["--headless", "--norestore", "--nologo", "--nodefault"]
        return [
            self.executable,
            profile,
            *flags,
            "--convert-to",
            PDFA_FILTER,
            "--outdir",
            str(out_dir),
            *(str(source) for source in sources),
        ]

    def run(self, sources: Sequence[Path], out_dir: Path) -> str | None:
        """Converts ``sources`` into ``out_dir``; returns a German problem or ``None``."""
        command = self.command(sources, out_dir)
        try:
            result = run_contained(command, limits=_LIMITS, timeout=self.timeout)
        except OSError as exc:  # not installed, or not executable
            raise ConfigurationError(
                f"LibreOffice lässt sich nicht starten ({self.executable}): {exc}"
            ) from exc
        except ChildTimeout:
            return f"LibreOffice hat das Zeitlimit von {self.timeout:g} s überschritten"
        if result.limit_reason is not None:
            return f"LibreOffice wurde abgebrochen: {result.limit_reason}"
        stderr, returncode = result.stderr, result.returncode
        lines = stderr.decode(errors="replace").splitlines()
        errors = [line.strip() for line in lines if line.lstrip().startswith("Error")]
        if returncode != 0:
            return f"LibreOffice endete mit Code {returncode}: {' '.join(errors)}".strip()
        return f"LibreOffice meldet: {' '.join(errors)}" if errors else None


@dataclass(frozen=True)
class _WarmFirst:
    """The warm listener, and a cold soffice for a batch when the listener is down."""

    warm: WarmListener
    cold: _Soffice

    def run(self, sources: Sequence[Path], out_dir: Path) -> str | None:
        try:
            return self.warm.run(sources, out_dir)
        except ListenerTimeout as exc:  # the same limit again, cold, would double it
            return str(exc)
        except ListenerDown:
            return self.cold.run(sources, out_dir)


def convert_to_pdfa(
    docx_paths: Sequence[Path],
    *,
    soffice: str,
    profile_dir: Path,
    timeout: float,
    batch_size: int = 50,
    warm: WarmListener | None = None,
) -> list[Path]:
    """Converts each .docx to a PDF/A-2b beside it (same stem, ``.pdf``); returns the PDFs in
    the order of ``docx_paths``.

    Raises ``ConversionError`` naming every file that failed, after all others were converted.
    ``timeout`` applies to each soffice process (or request to the ``warm`` listener, which
    is used first when given).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    sources = list(dict.fromkeys(Path(path).absolute() for path in docx_paths))
    cold = _Soffice(soffice, profile_dir, timeout)
    runner: _Soffice | _WarmFirst = cold if warm is None else _WarmFirst(warm, cold)
    failures: dict[Path, str] = {}
    for batch in _batches(sources, batch_size):
        failures.update(_convert_isolating(batch, runner))
    if failures:
        raise ConversionError({str(path): reason for path, reason in failures.items()})
    return [Path(path).with_suffix(".pdf") for path in docx_paths]


def _batches(sources: list[Path], size: int) -> Iterator[list[Path]]:
    """Batches of one folder each, so outputs move into place within one file system."""
    by_folder: dict[Path, list[Path]] = {}
    for source in sources:
        by_folder.setdefault(source.parent, []).append(source)
    for paths in by_folder.values():
        for start in range(0, len(paths), size):
            yield paths[start : start + size]


def _convert_isolating(batch: list[Path], runner: _Soffice | _WarmFirst) -> dict[Path, str]:
    failures = _convert_batch(batch, runner)
    if len(batch) == 1 or not failures:
        return failures
    remaining: dict[Path, str] = {}
    for source in failures:
        remaining.update(_convert_batch([source], runner))
    return remaining


def _convert_batch(batch: list[Path], runner: _Soffice | _WarmFirst) -> dict[Path, str]:
    """Converts one batch; returns the German reason for each file that failed."""
    failures = {source: reason for source in batch if (reason := _source_problem(source))}
    todo = [source for source in batch if source not in failures]
    if not todo:
        return failures
    with tempfile.TemporaryDirectory(prefix=".pdfa-", dir=todo[0].parent) as temp_dir:
        run_problem = runner.run(todo, Path(temp_dir))
        for source in todo:
            output = Path(temp_dir) / f"{source.stem}.pdf"
            problem = _pdf_problem(output)
            if problem is None:
                os.replace(output, source.with_suffix(".pdf"))
            else:
                failures[source] = f"{problem} ({run_problem})" if run_problem else problem
    return failures


def _source_problem(source: Path) -> str | None:
    if not source.is_file():
        return "Datei nicht gefunden"
    if not zipfile.is_zipfile(source):
        # LibreOffice would import such bytes as plain text and print them.
        return "keine lesbare Word-Datei (.docx), die Datei ist beschädigt"
    return None


def _pdf_problem(output: Path) -> str | None:
    """What is wrong with a converted file, or ``None`` when it is a PDF/A-2 with pages."""
    try:
        data = output.read_bytes()
    except FileNotFoundError:
        return "LibreOffice hat keine PDF-Datei erzeugt"
    if not data.startswith(b"%PDF-"):
        return "Ergebnis ist leer oder keine PDF-Datei"
    if b"%%EOF" not in data[-1024:]:
        return "PDF-Datei ist unvollständig"
    try:
        reader = PdfReader(io.BytesIO(data))
        metadata = reader.root_object.get("/Metadata")
        xmp = metadata.get_object().get_data() if metadata is not None else b""
        pages = len(reader.pages)
    except (PyPdfError, ValueError, KeyError, AttributeError) as exc:
        return f"PDF-Datei ist nicht lesbar ({exc})"
    if not _PDFA_PART_2.search(xmp):
        return "PDF-Datei ist nicht als PDF/A-2 gekennzeichnet"
    return None if pages >= 1 else "PDF-Datei hat keine Seiten"

