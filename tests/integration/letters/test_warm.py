"""The warm LibreOffice listener with the real LibreOffice and Debian's python3-uno: letters
come out as PDF/A through it, it is restarted after N documents and after being killed, the
cold path takes over when it cannot start, and nothing of it outlives ``stop``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ews.core.errors import ConversionError
from ews.letters.pdfa import convert_to_pdfa
from ews.letters.warm import WarmListener
from tests.integration.letters.test_pdfa import SOFFICE, render_letters, soffice_processes_using

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(subprocess.run(["/usr/bin/python3", "-c", "import uno"],
                                      capture_output=True).returncode != 0,
                       reason="Debian's python3-uno is not installed"),
]


def left_running(profile: Path) -> list[int]:
    """Live processes of a listener with this profile, within a bounded wait."""
    deadline = time.monotonic() + 10
    while (found := soffice_processes_using(profile)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[WarmListener]:
    warm = WarmListener(soffice=SOFFICE, python="/usr/bin/python3",
                        profile_dir=tmp_path / "warm", timeout=120, restart_after=100,
                        batch_size=50)
    yield warm
    warm.stop()


def convert(docx: list[Path], cold_profile: Path, warm: WarmListener | None,
            timeout: float = 120) -> list[Path]:
    return convert_to_pdfa(docx, soffice=SOFFICE, profile_dir=cold_profile, timeout=timeout,
                           warm=warm)


def pdfa_part(pdf: Path) -> str:
    meta = subprocess.run(["pdfinfo", "-meta", str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    return " ".join(meta.split())


def test_letters_come_out_as_pdf_a_through_the_warm_listener(
        tmp_path: Path, listener: WarmListener) -> None:
    docx = render_letters(tmp_path / "briefe", 3)

    pdfs = convert(docx[:1], tmp_path / "kalt", listener) + convert(docx[1:], tmp_path / "kalt",
                                                                      listener)

    assert all("<pdfaid:part>2</pdfaid:part>" in pdfa_part(pdf) for pdf in pdfs)
    assert listener.starts == 1
    assert not (tmp_path / "kalt").exists()  # the cold path never ran


def test_a_killed_listener_is_replaced_and_the_letter_still_comes_out(
        tmp_path: Path, listener: WarmListener) -> None:
    docx = render_letters(tmp_path / "briefe", 2)
    convert(docx[:1], tmp_path / "kalt", listener)
    first = listener.pid()
    assert first is not None

    os.killpg(first, signal.SIGKILL)
    pdfs = convert(docx[1:], tmp_path / "kalt", listener)

    assert "<pdfaid:part>2</pdfaid:part>" in pdfa_part(pdfs[0])
    convert(docx[:1], tmp_path / "kalt", listener)
    assert listener.pid() not in (None, first)


def test_the_listener_is_restarted_after_n_documents(tmp_path: Path) -> None:
    warm = WarmListener(soffice=SOFFICE, python="/usr/bin/python3",
                        profile_dir=tmp_path / "warm", timeout=120, restart_after=2,
                        batch_size=50)
    docx = render_letters(tmp_path / "briefe", 3)
    try:
        for document in docx:
            convert([document], tmp_path / "kalt", warm)
    finally:
        warm.stop()

    assert warm.starts == 2
    assert all(document.with_suffix(".pdf").is_file() for document in docx)


def test_without_python_uno_the_cold_path_converts(tmp_path: Path) -> None:
    warm = WarmListener(soffice=SOFFICE, python=str(tmp_path / "kein-python"),
                        profile_dir=tmp_path / "warm", timeout=120, restart_after=100,
                        batch_size=50)
    docx = render_letters(tmp_path / "briefe", 1)

    pdfs = convert(docx, tmp_path / "kalt", warm)

    assert "<pdfaid:part>2</pdfaid:part>" in pdfa_part(pdfs[0])
    assert (tmp_path / "kalt").is_dir() and warm.pid() is None


def test_a_timeout_kills_the_listener_and_fails_the_letter_without_a_second_try(
        tmp_path: Path, listener: WarmListener) -> None:
    docx = render_letters(tmp_path / "briefe", 1)
    convert(render_letters(tmp_path / "vorher", 1), tmp_path / "kalt", listener)  # warm
    first = listener.pid()
    assert first is not None
    listener.timeout = 0.01

    with pytest.raises(ConversionError, match="Zeitlimit von 0.01 s"):
        convert(docx, tmp_path / "kalt", listener)

    assert listener.pid() is None and left_running(tmp_path / "warm") == []
    assert not (tmp_path / "kalt").exists()  # the same limit is not spent again, cold


def test_stop_leaves_no_process_and_no_profile(tmp_path: Path, listener: WarmListener) -> None:
    convert(render_letters(tmp_path / "briefe", 1), tmp_path / "kalt", listener)
    assert listener.pid() is not None and (tmp_path / "warm").is_dir()
    assert left_running(tmp_path / "warm")

    started = time.monotonic()
    listener.stop()

    assert time.monotonic() - started < 15
    assert left_running(tmp_path / "warm") == []
    assert not (tmp_path / "warm").exists()


WORKER = """
import sys, time
from pathlib import Path
from ews.letters.pdfa import convert_to_pdfa
from ews.letters.warm import WarmListener
warm = WarmListener(soffice="soffice", python="/usr/bin/python3", profile_dir=Path(sys.argv[1]),
                    timeout=120, restart_after=100, batch_size=50)
convert_to_pdfa([Path(sys.argv[2])], soffice="soffice", profile_dir=Path(sys.argv[3]),
                timeout=120, warm=warm)
print("bereit", flush=True)
time.sleep(120)
"""


def test_a_killed_worker_takes_its_listener_with_it(tmp_path: Path) -> None:
    docx = render_letters(tmp_path / "briefe", 1)[0]
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path / "warm"), str(docx),
                               str(tmp_path / "kalt")], stdout=subprocess.PIPE)
    try:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == b"bereit"
        assert soffice_processes_using(tmp_path / "warm")
    finally:
        worker.kill()
        worker.wait(10)

    assert left_running(tmp_path / "warm") == []
    assert docx.with_suffix(".pdf").is_file()
