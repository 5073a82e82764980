"""Text pieces and painted paths of a page in page space, Form XObjects included (pypdf
objects in, text out; no I/O).

pypdf's layout mode does not look into Form XObjects, which is where a flattened or re-drawn
form keeps its values; its plain mode does, but in content order. Here every text piece is
collected with the plain mode's visitors (``ews.documents.text_walk``, which parses each font
once per document) and placed on the page (text matrix × CTM × the CTMs of the enclosing
XObjects), and so is every painted path's bounding box (for drawn checkboxes).
``ews.documents.text_lines`` turns them into lines. Callers translate pypdf's exceptions.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from pypdf import PageObject
from pypdf.generic import DictionaryObject
from pypdf.generic._font import Font

from ews.documents.text_lines import Box, Piece, page_lines
from ews.documents.text_walk import DocumentFonts, Visitors, walk_page

_Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: _Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
#: characters producers write for a glyph they cannot map to Unicode
_UNMAPPED = str.maketrans("", "", "\x00\ufffd")
_PATH_POINTS = {b"m": 2, b"l": 2, b"c": 6, b"v": 4, b"y": 4}
_FILLS = frozenset((b"f", b"F", b"f*", b"B", b"B*", b"b", b"b*"))
_STROKES = frozenset((b"S", b"s"))


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

    def __init__(self, fonts: DocumentFonts) -> None:
        self.pieces: list[Piece] = []
        self._stack: list[_Matrix] = [_IDENTITY]
        self._entering: _Matrix | None = None
        self._document_fonts = fonts
        #: by object number and generation, else by identity (a direct font dictionary)
        self._fonts: dict[tuple[int, int] | int, Font | None] = {}
        self._codes: dict[tuple[int, int] | int, dict[str, str]] = {}
        self._reported = (math.nan, math.nan)
        #: painted paths: their bounding box, and whether they are filled shapes (not rectangles)
        self.shapes: list[tuple[Box, bool]] = []
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
            reported, self._reported = self._reported, (x, y)
            if self.pieces and abs(reported[0] - x) < 0.01 and abs(reported[1] - y) < 0.01:
                x = self.pieces[-1].end  # pypdf reports a font change at the line's start
            self.pieces.append(
                Piece(line, x, y, points, partial(self._scaled_width, font, width_scale))
            )

    def _scaled_width(self, font: Any, scale: float, text: str) -> float:
        return self._width(font, text) * scale

    def _width(self, font: Any, text: str) -> float:
        """The text's advance in 1/1000 of the font size (0.5 a character when unknown)."""
        reference = getattr(font, "indirect_reference", None)
        key = (reference.idnum, reference.generation) if reference else id(font)
        if key not in self._fonts:
            try:
                self._fonts[key] = (
                    self._document_fonts.font(font) if isinstance(font, DictionaryObject)
                    else None
                )
            except Exception:  # noqa: BLE001 - a broken font dictionary: estimate instead
                self._fonts[key] = None
            self._codes[key] = _codes_of(self._fonts[key])
        metrics, codes = self._fonts[key], self._codes[key]
        if codes:
            text = "".join(codes.get(char, char) for char in text)
        width = metrics.get_text_width(text) if metrics is not None else 0.0
        return width if width > 0 else 500.0 * len(text)


def _codes_of(metrics: Font | None) -> dict[str, str]:
    """A composite font's widths are keyed by its codes (CIDs), not by the Unicode text: the
    way back through its ToUnicode (pypdf filling a form with a TrueType font writes such
    fonts). Empty for simple fonts."""
    if metrics is None or str(metrics.sub_type).lstrip("/") != "Type0":
        return {}
    return {unicode: code for code, unicode in metrics.character_map.items() if len(unicode) == 1}


def laid_out_text(page: PageObject, fonts: DocumentFonts | None = None) -> str:
    """The page's text, one line per visual line from top to bottom. ``fonts``: the parsed
    fonts of the page's document, shared by its pages (a new set when not given)."""
    fonts = fonts if fonts is not None else DocumentFonts()
    collector = _Collector(fonts)
    walk_page(page, fonts,
              Visitors(before=collector.before, after=collector.after, text=collector.text))
    width = float(page.mediabox.width) if page.mediabox is not None else 595.0
    return page_lines(collector.pieces, collector.shapes, page_width=width)
