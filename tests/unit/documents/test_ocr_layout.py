"""Lines from tesseract TSV and tick detection beside checkbox labels (PIL images, no OCR)."""

from __future__ import annotations

from PIL import Image, ImageDraw

from ews.documents.ocr_layout import Word, is_ticked_left_of, lines_from_tsv, text_with_ticks

TSV_HEADER = (
    "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
)


def tsv_row(block: int, line: int, word: int, left: int, text: str) -> str:
    return f"5\t1\t{block}\t1\t{line}\t{word}\t{left}\t100\t80\t40\t95.0\t{text}"


def page_with_box(*, ticked: bool) -> Image.Image:
    image = Image.new("L", (1200, 300), 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle((200, 95, 254, 149), outline=0, width=3)
    if ticked:
        draw.line((206, 101, 248, 143), fill=0, width=4)
        draw.line((206, 143, 248, 101), fill=0, width=4)
    return image


def test_words_are_grouped_into_lines_in_order() -> None:
    tsv = "\n".join(
        [
            TSV_HEADER,
            "1\t1\t0\t0\t0\t0\t0\t0\t2480\t3508\t-1\t",
            tsv_row(1, 1, 1, 100, "PLZ:"),
            tsv_row(1, 1, 2, 300, "57462"),
            tsv_row(1, 2, 1, 100, "Ort:"),
            tsv_row(1, 2, 2, 300, " "),
            tsv_row(1, 2, 3, 300, "Olpe"),
        ]
    )
    lines = lines_from_tsv(tsv)
    assert [" ".join(word.text for word in line) for line in lines] == ["PLZ: 57462", "Ort: Olpe"]


def test_a_crossed_box_left_of_the_label_counts_as_ticked() -> None:
    word = Word("Einwilligung", 290, 100, 300, 40)
    assert is_ticked_left_of(page_with_box(ticked=True), word)
    assert not is_ticked_left_of(page_with_box(ticked=False), word)


def test_dark_scanner_edge_is_not_taken_for_a_tick() -> None:
    image = Image.new("L", (1200, 300), 255)
    ImageDraw.Draw(image).rectangle((0, 0, 20, 300), fill=0)
    assert not is_ticked_left_of(image, Word("Einwilligung", 60, 100, 300, 40))


def test_ticked_checkbox_lines_get_a_mark_others_stay_as_read() -> None:
    lines = [
        [Word("Einwilligung", 290, 100, 300, 40), Word("Datenschutz", 600, 100, 280, 40)],
        [Word("Ort:", 290, 100, 80, 40), Word("Olpe", 400, 100, 100, 40)],
    ]
    text = text_with_ticks(lines, page_with_box(ticked=True))
    assert text == "[x] Einwilligung Datenschutz\nOrt: Olpe"
