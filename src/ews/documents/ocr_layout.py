"""Text lines from tesseract's TSV output, with ticked checkboxes marked (pure, no I/O).

OCR reads letters, not ticks: a printed box with a cross (or a hand-drawn one) comes back as
nothing or noise. So for every line that starts with a checkbox label, the pixels left of the
label are inspected: if the box there has ink inside, the line gets a ``[x]`` mark that the
label parser understands.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from ews.documents.text_layer import checkbox_label_start, name_label_end

_DARK = 128
#: share of dark pixels inside a box that makes it ticked; an empty box has none, a cross ~15 %
_TICK_SHARE = 0.03


@dataclass(frozen=True)
class Word:
    """One recognised word and its box in pixels."""

    text: str
    left: int
    top: int
    width: int
    height: int


def lines_from_tsv(tsv: str) -> list[list[Word]]:
    """Words grouped into lines, in reading order (tesseract ``tsv`` output)."""
    lines: dict[tuple[str, ...], list[Word]] = {}
    for row in tsv.splitlines()[1:]:
        columns = row.split("\t")
        if len(columns) < 12 or columns[0] != "5" or not columns[11].strip():
            continue
        left, top, width, height = (int(value) for value in columns[6:10])
        key = tuple(columns[1:5])  # page, block, paragraph, line
        lines.setdefault(key, []).append(Word(columns[11], left, top, width, height))
    return list(lines.values())


def text_with_ticks(lines: list[list[Word]], image: Image.Image) -> str:
    """The page text, one line per line; checkbox lines with a ticked box get ``[x]``."""
    gray = image.convert("L")
    texts = []
    for words in lines:
        text = " ".join(word.text for word in words)
        label_word = _label_word(words, text)
        if label_word is not None and is_ticked_left_of(gray, label_word):
            text = "[x] " + text
        texts.append(text)
    return "\n".join(texts)


def _label_word(words: list[Word], text: str) -> Word | None:
    start = checkbox_label_start(text)
    if start is None:
        return None
    offset = 0
    for word in words:
        if offset + len(word.text) > start:
            return word
        offset += len(word.text) + 1
    return None


def is_ticked_left_of(image: Image.Image, word: Word) -> bool:
    """True when the box just left of the word (about three line heights) has ink inside."""
    unit = max(word.height, 8)
    # the outer 2 % of the page are scanner edge and shadow, never a box
    edge = image.width // 50
    region = image.crop(
        (max(edge, word.left - unit * 16 // 5), max(0, word.top - unit // 2),
         max(edge + 1, word.left - unit // 6), word.top + word.height + unit // 2)
    )  # fmt: skip
    ink = region.point(lambda value: 255 if value < _DARK else 0).getbbox()
    if ink is None:
        return False
    left, top, right, bottom = ink
    margin_x, margin_y = (right - left) // 4, (bottom - top) // 4
    inner = region.crop((left + margin_x, top + margin_y, right - margin_x, bottom - margin_y))
    if inner.width < 2 or inner.height < 2:
        return False
    histogram = inner.point(lambda value: 255 if value < _DARK else 0).histogram()
    return histogram[255] / (inner.width * inner.height) >= _TICK_SHARE


def name_value_boxes(
    lines: list[list[Word]], size: tuple[int, int]
) -> dict[int, tuple[str, tuple[int, int, int, int]]]:
    """Per line index: the label text and the pixel box of the value, for lines that start
    with the label of a name field and have words after it."""
    boxes: dict[int, tuple[str, tuple[int, int, int, int]]] = {}
    for index, words in enumerate(lines):
        text = " ".join(word.text for word in words)
        end = name_label_end(text)
        if end is None:
            continue
        offset, count = 0, 0
        for word in words:
            if offset >= end:
                break
            offset += len(word.text) + 1
            count += 1
        value = words[count:]
        if not value:
            continue
        pad = max(word.height for word in value)
        left = max(0, value[0].left - pad // 4)  # not into the label's colon
        right = min(size[0], max(word.left + word.width for word in value) + pad)
        top = max(0, min(word.top for word in value) - pad // 2)
        bottom = min(size[1], max(word.top + word.height for word in value) + pad // 2)
        boxes[index] = (" ".join(word.text for word in words[:count]), (left, top, right, bottom))
    return boxes
