"""PDF/A conversion with the real LibreOffice; results checked with poppler's tools.

LibreOffice starts cost about a second each, so the module shares one profile and one batch.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ews.core.errors import ConfigurationError, ConversionError
from ews.core.models import LetterKind
from ews.letters.context import LetterData, sample_letter_data
from ews.letters.pdfa import convert_to_pdfa
from ews.letters.render import render_letter
from ews.runtime.settings import OfficeSettings

pytestmark = pytest.mark.libreoffice

TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
SOFFICE = shutil.which("soffice") or "soffice"


def letter(kind: LetterKind, reference: str) -> LetterData:
    return sample_letter_data(kind).model_copy(
        update={
            "reference": reference,
            "received_at": datetime(2024, 3, 1, 13, 3, tzinfo=UTC),
            "deadline_day": date(2024, 3, 1),
        }
    )


def render_letters(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    kinds = list(LetterKind)
    return [
        render_letter(
            letter(kinds[n % len(kinds)], f"13.0.70-{n + 1:03d}/2024"),
            OfficeSettings(),
            TEMPLATES,
            folder / f"brief {n + 1}.docx",
        )
        for n in range(count)
    ]


def corrupt_copy(source: Path, target: Path) -> Path:
    """A valid ZIP whose document.xml is cut in half: LibreOffice cannot load it."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as broken:
        for item in original.infolist():
            data = original.read(item.filename)
            if item.filename == "word/document.xml":
                data = data[: len(data) // 2]
            broken.writestr(item, data)
    return target


def poppler(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def soffice_processes_using(profile: Path) -> list[int]:
    """Live (not zombie) processes whose command line names the profile."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if profile.as_uri() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lo") / "profil"


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory, profile: Path) -> list[Path]:
    docx = render_letters(tmp_path_factory.mktemp("batch"), 3)
    return convert_to_pdfa(docx, soffice=SOFFICE, profile_dir=profile, timeout=120)


def test_batch_puts_one_pdf_beside_each_letter(converted: list[Path]) -> None:
    folder = converted[0].parent
    assert [pdf.name for pdf in converted] == ["brief 1.pdf", "brief 2.pdf", "brief 3.pdf"]
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        [f"brief {n}.{ext}" for n in (1, 2, 3) for ext in ("docx", "pdf")]
    )


def test_batch_results_are_pdf_a_2b_with_embedded_fonts(converted: list[Path]) -> None:
    for pdf in converted:
        xmp = " ".join(poppler("pdfinfo", "-meta", str(pdf)).split())
        assert "<pdfaid:part>2</pdfaid:part>" in xmp
        assert "<pdfaid:conformance>B</pdfaid:conformance>" in xmp
        fonts = poppler("pdffonts", str(pdf)).splitlines()[2:]
        assert fonts and all(" yes " in line for line in fonts), fonts


def test_batch_results_show_the_az_on_their_first_page(converted: list[Path]) -> None:
    for number, pdf in enumerate(converted, start=1):
        text = poppler("pdftotext", "-l", "1", str(pdf), "-")
        assert f"13.0.70-{number:03d}/2024" in text
        assert "Mit freundlichen Grüßen" in text


def test_corrupt_letter_fails_alone_and_the_rest_of_the_batch_converts(
    tmp_path: Path, profile: Path
) -> None:
    good = render_letters(tmp_path, 2)
    broken = corrupt_copy(good[0], tmp_path / "kaputt.docx")
    not_zip = tmp_path / "kein zip.docx"
    not_zip.write_text("Nur Text, kein Word-Dokument")

    with pytest.raises(ConversionError) as caught:
        convert_to_pdfa(
            [good[0], broken, not_zip, good[1]], soffice=SOFFICE, profile_dir=profile, timeout=120
        )

    message = str(caught.value)
    assert "2 Dateien" in message
    assert f"„{broken}“: LibreOffice hat keine PDF-Datei erzeugt" in message
    assert f"„{not_zip}“: keine lesbare Word-Datei" in message
    assert all(path.with_suffix(".pdf").is_file() for path in good)
    assert not broken.with_suffix(".pdf").exists() and not not_zip.with_suffix(".pdf").exists()
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]


def test_one_soffice_start_per_file_converts_every_file(tmp_path: Path, profile: Path) -> None:
    docx = render_letters(tmp_path, 2)

    pdfs = convert_to_pdfa(docx, soffice=SOFFICE, profile_dir=profile, timeout=120, batch_size=1)

    assert [poppler("pdfinfo", str(pdf)).count("PDF version") for pdf in pdfs] == [1, 1]


def test_timeout_kills_soffice_and_the_profile_stays_usable(tmp_path: Path, profile: Path) -> None:
    docx = render_letters(tmp_path, 1)

    with pytest.raises(ConversionError, match="Zeitlimit von 0.05 s überschritten"):
        convert_to_pdfa(docx, soffice=SOFFICE, profile_dir=profile, timeout=0.05)

    assert soffice_processes_using(profile) == []
    assert not docx[0].with_suffix(".pdf").exists()
    assert convert_to_pdfa(docx, soffice=SOFFICE, profile_dir=profile, timeout=120)[0].is_file()


def test_missing_soffice_is_reported_as_configuration_problem(tmp_path: Path) -> None:
    docx = render_letters(tmp_path, 1)

    with pytest.raises(ConfigurationError, match="LibreOffice lässt sich nicht starten"):
        convert_to_pdfa(
            docx, soffice=str(tmp_path / "kein-soffice"), profile_dir=tmp_path, timeout=5
        )
