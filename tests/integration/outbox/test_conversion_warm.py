"""``convert_letters`` with the service's settings: the process's warm LibreOffice converts
inside the global slot, one per process, stopped by ``stop_warm_listener``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ews.outbox.conversion import convert_letters, stop_warm_listener, warm_listener
from ews.runtime.settings import LetterSettings
from tests.conftest import make_settings
from tests.integration.letters.test_pdfa import render_letters, soffice_processes_using

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(subprocess.run(["/usr/bin/python3", "-c", "import uno"],
                                      capture_output=True).returncode != 0,
                       reason="Debian's python3-uno is not installed"),
]


def test_letters_of_the_service_go_through_one_warm_listener_per_process(
        tmp_path: Path) -> None:
    settings = make_settings(tmp_path, letters=LetterSettings(pdf=True))
    docx = render_letters(tmp_path / "briefe", 2)
    try:
        convert_letters(docx[:1], settings)
        convert_letters(docx[1:], settings)
        listener = warm_listener(settings)
        assert listener is not None and listener.starts == 1
        assert warm_listener(make_settings(tmp_path / "b")) is not listener  # replaced
        assert listener.pid() is None
    finally:
        stop_warm_listener()

    assert all(path.with_suffix(".pdf").is_file() for path in docx)
    assert not list((settings.data_dir / "libreoffice").glob("profil-*"))  # no cold start
    assert soffice_processes_using(settings.data_dir / "libreoffice") == []


def test_without_warm_the_cold_path_converts(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, letters=LetterSettings(pdf=True, warm=False))
    docx = render_letters(tmp_path / "briefe", 1)

    convert_letters(docx, settings)

    assert warm_listener(settings) is None and docx[0].with_suffix(".pdf").is_file()
