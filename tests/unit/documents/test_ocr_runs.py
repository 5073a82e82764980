"""How the OCR adapter calls pdftoppm and tesseract and translates their failures (no real
programs: ``run_contained`` is replaced; the real ones run in tests/integration/documents)."""

from __future__ import annotations

import signal
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from ews.core.errors import ConfigurationError, UnreadablePdf
from ews.documents import ocr
from ews.runtime.child_processes import ChildLimits, ChildResult, ChildTimeout

TSV_HEADER = "\t".join(
    "level page_num block_num par_num line_num word_num left top width height conf text".split()
)

Runner = Callable[..., ChildResult]


def _word(line: int, word: int, left: int, text: str) -> str:
    return f"5\t1\t1\t1\t{line}\t{word}\t{left}\t{100 * line}\t80\t30\t95\t{text}"


def _replace_runner(monkeypatch: pytest.MonkeyPatch, runner: Runner) -> list[list[str]]:
    calls: list[list[str]] = []

    def fake(command: Sequence[str], *, limits: ChildLimits, timeout: float) -> ChildResult:
        calls.append(list(command))
        assert limits.address_space_mb == 1536 and limits.file_mb == 64
        return runner(list(command), timeout=timeout)

    monkeypatch.setattr(ocr, "run_contained", fake)
    return calls


def _result(returncode: int = 0, stdout: bytes = b"", stderr: bytes = b"") -> Runner:
    return lambda command, timeout: ChildResult(returncode, stdout, stderr)


def test_rasterised_pages_asks_for_the_page_range_and_returns_the_images_in_order(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def pdftoppm(command: list[str], timeout: float) -> ChildResult:
        for number in ("3", "1", "2"):
            (tmp_path / f"seite-{number}.pgm").write_bytes(b"P5")
        return ChildResult(0, b"", b"")

    calls = _replace_runner(monkeypatch, pdftoppm)
    images = ocr.rasterised_pages(tmp_path / "in.pdf", tmp_path, first_page=2, max_pages=3,
                                  timeout=10)
    assert [image.name for image in images] == ["seite-1.pgm", "seite-2.pgm", "seite-3.pgm"]
    command = calls[0]
    assert command[0] == "pdftoppm"
    assert command[command.index("-f") + 1] == "2" and command[command.index("-l") + 1] == "4"
    assert command[command.index("-r") + 1] == "300"
    assert command[command.index("-scale-to") + 1] == "3508"
    assert "-gray" in command
    assert command[-2:] == [str(tmp_path / "in.pdf"), str(tmp_path / "seite")]


def test_at_least_one_page_is_rasterised(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = _replace_runner(monkeypatch, _result())
    assert ocr.rasterised_pages(tmp_path / "in.pdf", tmp_path, max_pages=0, timeout=10) == []
    assert calls[0][calls[0].index("-l") + 1] == "1"


def test_page_text_reads_german_lines_and_marks_a_ticked_box(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    image = tmp_path / "seite-1.pgm"
    page = Image.new("L", (1000, 400), 255)
    draw = ImageDraw.Draw(page)
    draw.rectangle((100, 195, 130, 225), outline=0, width=2)  # the box left of the label …
    draw.line((100, 195, 130, 225), fill=0, width=3)  # … with a cross in it
    draw.line((100, 225, 130, 195), fill=0, width=3)
    page.save(image)
    tsv = "\n".join([
        TSV_HEADER,
        _word(1, 1, 200, "Name"), _word(1, 2, 290, "der"), _word(1, 3, 380, "Kommune:"),
        _word(1, 4, 480, "Stadt"), _word(1, 5, 570, "Olpe"),
        _word(2, 1, 150, "Freistellung"), _word(2, 2, 250, "des"), _word(2, 3, 340, "Teams"),
        _word(2, 4, 430, "bestätigt"),
    ])  # fmt: skip
    calls = _replace_runner(monkeypatch, _result(stdout=tsv.encode()))
    text = ocr.page_text(image, timeout=10)
    assert calls == [["tesseract", str(image), "stdout", "-l", "deu", "--psm", "4", "tsv"]]
    lines = text.split("\n")
    assert lines[0] == "Name der Kommune: Stadt Olpe"
    assert lines[1].startswith("[x]") and lines[1].endswith("Freistellung des Teams bestätigt")


def test_missing_program_is_an_installation_fault(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def missing(command: list[str], timeout: float) -> ChildResult:
        raise FileNotFoundError(command[0])

    _replace_runner(monkeypatch, missing)
    with pytest.raises(ConfigurationError, match="Das Programm tesseract ist nicht installiert"):
        ocr.page_text(tmp_path / "seite.pgm", timeout=10)


def test_a_name_value_is_read_again_with_the_script_packs_of_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    image = tmp_path / "seite-1.pgm"
    Image.new("L", (1000, 300), 255).save(image)
    tsv = "\n".join([
        TSV_HEADER,
        _word(1, 1, 100, "Name"), _word(1, 2, 190, "der"), _word(1, 3, 280, "Kommune:"),
        _word(1, 4, 380, "Stadt"), _word(1, 5, 470, "Hagen"),
        _word(2, 1, 100, "Teammitglied"), _word(2, 2, 190, "1"), _word(2, 3, 280, "–"),
        _word(2, 4, 370, "Name:"), _word(2, 5, 480, "Sukru"), _word(2, 6, 570, "Yilmaz"),
    ])  # fmt: skip

    def tesseract(command: list[str], timeout: float) -> ChildResult:
        if "--psm" in command and command[command.index("--psm") + 1] == "7":
            return ChildResult(0, "Şükrü Yılmaz\n\f".encode(), b"")
        return ChildResult(0, tsv.encode(), b"")

    calls = _replace_runner(monkeypatch, tesseract)
    lines = ocr.page_text(image, timeout=10).split("\n")

    assert lines == ["Name der Kommune: Stadt Hagen", "Teammitglied 1 – Name:    Şükrü Yılmaz"]
    [again] = calls[1:]
    assert again[again.index("-l") + 1] == "pol+tur+ces+deu" == ocr.NAME_LANGUAGES
    crop = Image.open(again[1])
    assert crop.size[0] < 400  # only the value, right of the label (words at 480..650 px)


def test_a_name_read_again_without_letters_german_lacks_keeps_the_german_reading(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    image = tmp_path / "seite-1.pgm"
    Image.new("L", (1000, 200), 255).save(image)
    tsv = "\n".join([
        TSV_HEADER, _word(1, 1, 100, "Unterzeichnet"), _word(1, 2, 250, "von:"),
        _word(1, 3, 380, "Jürgen"), _word(1, 4, 470, "Weiß"),
    ])  # fmt: skip

    def tesseract(command: list[str], timeout: float) -> ChildResult:
        if command[command.index("--psm") + 1] == "7":
            return ChildResult(0, b"J\xc3\xbcrgen WeiB\n", b"")  # the packs read ß as B
        return ChildResult(0, tsv.encode(), b"")

    _replace_runner(monkeypatch, tesseract)
    assert ocr.page_text(image, timeout=10) == "Unterzeichnet von: Jürgen Weiß"


def test_missing_german_language_pack_is_an_installation_fault(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stderr = b"Error opening data file deu.traineddata\nFailed loading language 'deu'\n"
    _replace_runner(monkeypatch, _result(returncode=1, stderr=stderr))
    with pytest.raises(ConfigurationError, match=r"Sprachpaket \(tesseract-ocr-deu\)"):
        ocr.page_text(tmp_path / "seite.pgm", timeout=10)


def test_timeout_makes_the_document_unreadable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def slow(command: list[str], timeout: float) -> ChildResult:
        raise ChildTimeout(command[0], timeout)

    _replace_runner(monkeypatch, slow)
    with pytest.raises(UnreadablePdf, match="länger als 42 Sekunden gedauert"):
        ocr.rasterised_pages(tmp_path / "in.pdf", tmp_path, max_pages=1, timeout=42)


@pytest.mark.parametrize("sig", [signal.SIGXCPU, signal.SIGXFSZ, signal.SIGKILL])
def test_a_limit_hit_makes_the_document_unreadable_with_the_limit_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sig: signal.Signals
) -> None:
    result = ChildResult(-sig, b"", b"")
    _replace_runner(monkeypatch, _result(returncode=-sig))
    with pytest.raises(UnreadablePdf) as raised:
        ocr.rasterised_pages(tmp_path / "in.pdf", tmp_path, max_pages=1, timeout=10)
    assert str(raised.value) == (
        f"Die Texterkennung des gescannten Dokuments wurde abgebrochen (pdftoppm): "
        f"{result.limit_reason}"
    )


def test_a_failing_program_makes_the_document_unreadable_with_its_exit_code(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _replace_runner(monkeypatch, _result(returncode=99, stderr=b"Syntax Error"))
    with pytest.raises(UnreadablePdf, match=r"\(pdftoppm, Fehlercode 99\)"):
        ocr.rasterised_pages(tmp_path / "in.pdf", tmp_path, max_pages=1, timeout=10)


def test_ocr_text_joins_the_pages_with_form_feeds(monkeypatch: pytest.MonkeyPatch) -> None:
    def tools(command: list[str], timeout: float) -> ChildResult:
        if command[0] == "pdftoppm":
            prefix = Path(command[-1])
            assert (prefix.parent / "eingang.pdf").read_bytes() == b"%PDF-1.7 ..."
            for number in (1, 2):
                Image.new("L", (100, 100), 255).save(prefix.parent / f"seite-{number}.pgm")
            return ChildResult(0, b"", b"")
        word = "eins" if command[1].endswith("seite-1.pgm") else "zwei"
        return ChildResult(0, f"{TSV_HEADER}\n{_word(1, 1, 10, word)}".encode(), b"")

    calls = _replace_runner(monkeypatch, tools)
    assert ocr.ocr_text(b"%PDF-1.7 ...", max_pages=2) == "eins\fzwei"
    assert [call[0] for call in calls] == ["pdftoppm", "tesseract", "tesseract"]
