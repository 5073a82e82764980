"""A page's text laid out by position, Form XObjects included (pypdf objects in, text out; no I/O).

pypdf's layout mode does not look into Form XObjects, which is where a flattened or re-drawn
form keeps its values; its plain mode does, but in content order. Here every text piece is
collected with the plain mode's visitor and placed on the page (text matrix × CTM × the CTMs of
the enclosing XObjects), then the pieces are grouped into lines from top to bottom. A wide gap
between two pieces of a line becomes a run of spaces, so that ``Label:     value`` stays one
line the label parser splits. A label alone on its line followed closely by a value line (the
value in a box below) is joined into one line. Checkboxes drawn as vector paths (a box, and a
filled cross or tick inside it) become ``[ ]`` and ``[x]`` before their label, so no page image
is needed to tell them. Callers translate pypdf's exceptions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from pypdf import PageObject
from pypdf.generic import DictionaryObject
from pypdf.generic._font import Font

from ews.core.form_contract import CHECKBOX_FIELDS, LABELS

_Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: _Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
#: gap between two pieces of a line (in font sizes) that separates a label from its value
_COLUMN_GAP = 1.2
#: a value line at most this far (in font sizes, baseline to baseline) below its lone label
_BELOW_GAP = 1.9
#: characters producers write for a glyph they cannot map to Unicode
_UNMAPPED = str.maketrans("", "", "\x00\ufffd")
_LABEL_STARTS = tuple(label.lower() for label in LABELS.values())
_CHECKBOX_LABELS = tuple(LABELS[name].lower() for name in CHECKBOX_FIELDS)
_PATH_POINTS = {b"m": 2, b"l": 2, b"c": 6, b"v": 4, b"y": 4}
_FILLS = frozenset((b"f", b"F", b"f*", b"B", b"B*", b"b", b"b*"))
_STROKES = frozenset((b"S", b"s"))
_Box = tuple[float, float, float, float]


@dataclass
class _Piece:
    """A run of text on the page: its start and baseline in points, its font size; its end is
    measured only when another piece follows on its line (font metrics cost time)."""

    text: str
    x: float
    y: float
    size: float
    measure: Callable[[], float]
    _end: float | None = None

    @property
    def end(self) -> float:
        if self._end is None:
            self._end = self.x + self.measure()
        return self._end


def _times(a: _Matrix, b: _Matrix) -> _Matrix:
    return (
        a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5],
    )  # fmt: skip


def _matrix(values: Any) -> _Matrix:
    return tuple(float(value) for value in list(values)[:6])  # type: ignore[return-value]


class _Collector:
    """The visitors of one extraction: pieces in page space, XObject nesting as a CTM stack."""

    def __init__(self) -> None:
        self.pieces: list[_Piece] = []
        self._stack: list[_Matrix] = [_IDENTITY]
        self._entering: _Matrix | None = None
        self._fonts: dict[int, Font | None] = {}
        #: painted paths: their bounding box, and whether they are filled shapes (not rectangles)
        self.shapes: list[tuple[_Box, bool]] = []
        self._path: list[tuple[float, float]] = []
        self._shaped = False

    def before(self, operator: bytes, operands: Any, cm: Any, tm: Any) -> None:
        if self._entering is not None:  # the first operator inside the XObject
            self._stack.append(self._entering)
            self._entering = None
        self._path_operator(operator, operands, cm)
        if operator == b"Do":
            # pending text of the outer stream is still reported after this call
            self._entering = _times(_matrix(cm), self._stack[-1])

    def _path_operator(self, operator: bytes, operands: Any, cm: Any) -> None:
        """Collect path points in page space; a painted path becomes a box or a mark."""
        count = _PATH_POINTS.get(operator)
        if count is not None or operator == b"re":
            try:
                numbers = [float(value) for value in operands]
            except (TypeError, ValueError):
                return
            if operator == b"re" and len(numbers) == 4:
                x, y, w, h = numbers
                numbers = [x, y, x + w, y + h]
            elif count is None or len(numbers) < count:
                return
            else:
                self._shaped = True
            space = _times(_matrix(cm), self._stack[-1])
            for px, py in zip(numbers[::2], numbers[1::2], strict=False):
                self._path.append((px * space[0] + py * space[2] + space[4],
                                   px * space[1] + py * space[3] + space[5]))
            return
        painted = operator in _FILLS or operator in _STROKES
        if painted and self._path:
            xs, ys = [p[0] for p in self._path], [p[1] for p in self._path]
            box = (min(xs), min(ys), max(xs), max(ys))
            self.shapes.append((box, self._shaped and operator in _FILLS))
        if painted or operator == b"n":
            self._path, self._shaped = [], False

    def after(self, operator: bytes, operands: Any, cm: Any, tm: Any) -> None:
        if operator != b"Do":
            return
        if self._entering is not None:  # an image or an empty form: never entered
            self._entering = None
        elif len(self._stack) > 1:
            self._stack.pop()

    def text(self, text: str, cm: Any, tm: Any, font: Any, size: Any) -> None:
        lines = text.translate(_UNMAPPED).split("\n")
        if not any(line.strip() for line in lines):
            return
        placed = _times(_times(_matrix(tm), _matrix(cm)), self._stack[-1])
        scale = math.hypot(placed[2], placed[3]) or 1.0
        points = float(size or 0) * scale or 10.0
        width_scale = (math.hypot(placed[0], placed[1]) or 1.0) * float(size or 0) / 1000
        for index, line in enumerate(lines):
            if not line.strip():
                continue
            x, y = placed[4], placed[5] - index * points * 1.2
            self.pieces.append(
                _Piece(line, x, y, points, partial(self._scaled_width, font, line, width_scale))
            )

    def _scaled_width(self, font: Any, text: str, scale: float) -> float:
        return self._width(font, text) * scale

    def _width(self, font: Any, text: str) -> float:
        """The text's advance in 1/1000 of the font size (0.5 a character when unknown)."""
        reference = getattr(font, "indirect_reference", None)
        key = hash((reference.idnum, reference.generation)) if reference else id(font)
        if key not in self._fonts:
            try:
                self._fonts[key] = (
                    Font.from_font_resource(font) if isinstance(font, DictionaryObject) else None
                )
            except Exception:  # noqa: BLE001 - a broken font dictionary: estimate instead
                self._fonts[key] = None
        metrics = self._fonts[key]
        width = metrics.get_text_width(text) if metrics is not None else 0.0
        return width if width > 0 else 500.0 * len(text)


def laid_out_text(page: PageObject) -> str:
    """The page's text, one line per visual line from top to bottom."""
    collector = _Collector()
    page.extract_text(
        visitor_text=collector.text,
        visitor_operand_before=collector.before,
        visitor_operand_after=collector.after,
    )
    lines = _lines(collector.pieces)
    texts = _lines_below_labels_joined(lines)
    return "\n".join(_with_drawn_boxes(lines, texts, collector))


def _lines(pieces: list[_Piece]) -> list[list[_Piece]]:
    lines: list[list[_Piece]] = []
    for piece in sorted(pieces, key=lambda p: (-p.y, p.x)):
        if lines and abs(lines[-1][0].y - piece.y) <= 0.4 * max(piece.size, lines[-1][0].size):
            lines[-1].append(piece)
        else:
            lines.append([piece])
    return [sorted(line, key=lambda p: p.x) for line in lines]


def _line_text(line: list[_Piece]) -> str:
    text = line[0].text
    for previous, piece in zip(line, line[1:], strict=False):
        gap = piece.x - previous.end
        size = max(previous.size, piece.size)
        if gap > _COLUMN_GAP * size:
            text = text.rstrip() + "    " + piece.text.lstrip()
        elif gap > 0.12 * size and not text.endswith(" ") and not piece.text.startswith(" "):
            text += " " + piece.text
        else:
            text += piece.text
    return text


def _lines_below_labels_joined(lines: list[list[_Piece]]) -> list[str]:
    """Lines as text; a lone single-line label takes the value line just below it."""
    texts: list[str] = []
    skip = False
    for index, line in enumerate(lines):
        if skip:
            skip = False
            continue
        text = _line_text(line)
        below = lines[index + 1] if index + 1 < len(lines) else None
        if below is not None and _is_lone_label(text) and _is_value_below(line, below):
            texts.append(text.rstrip() + "    " + _line_text(below).lstrip())
            skip = True
            continue
        texts.append(text)
    return texts


def _is_lone_label(text: str) -> bool:
    stripped = text.strip()
    return stripped.endswith(":") and stripped[:-1].strip().lower() in _LABEL_STARTS


def _is_value_below(line: list[_Piece], below: list[_Piece]) -> bool:
    size = max(piece.size for piece in line)
    close = line[0].y - below[0].y <= _BELOW_GAP * size
    text = _line_text(below).strip().lower()
    return close and not text.startswith(_LABEL_STARTS)


def _with_drawn_boxes(lines: list[list[_Piece]], texts: list[str], found: _Collector) -> list[str]:
    """Checkbox label lines with ``[x]``/``[ ]`` for a drawn box just left of the label.

    A tick is a filled shape (not a rectangle) inside another shape there; producers draw the
    box itself as a stroked rectangle, a filled frame or a background.
    """
    by_start = {(line[0].x, line[0].y): line[0] for line in lines}
    marked: list[str] = []
    for text in texts:
        marked.append(text)
        if not text.strip().lower().startswith(_CHECKBOX_LABELS):
            continue
        piece = next((p for p in by_start.values() if p.text.strip() == text.strip()), None)
        if piece is None:
            continue
        beside = [(box, shaped) for box, shaped in found.shapes if _left_of(piece, box)]
        if any(shaped and _inside_another(box, beside) for box, shaped in beside):
            marked[-1] = "[x] " + text
        elif beside:
            marked[-1] = "[ ] " + text
    return marked


def _left_of(piece: _Piece, box: _Box) -> bool:
    """Whether a box (or mark) sits just left of the piece, on its line, checkbox-sized."""
    left, bottom, right, top = box
    size = piece.size
    centre_x, centre_y = (left + right) / 2, (bottom + top) / 2
    return (
        piece.x - 4 * size <= centre_x <= piece.x - 0.2 * size
        and piece.y - 0.8 * size <= centre_y <= piece.y + 1.4 * size
        and right - left <= 3 * size and top - bottom <= 3 * size
    )


def _inside_another(box: _Box, shapes: list[tuple[_Box, bool]]) -> bool:
    left, bottom, right, top = box
    return any(
        other[0] < left - 0.5 and other[1] < bottom - 0.5
        and other[2] > right + 0.5 and other[3] > top + 0.5
        for other, _shaped in shapes
    )
