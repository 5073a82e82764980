"""Lines of text from positioned pieces, the way the label parser reads them (pure, no I/O).

Pieces are grouped into lines from top to bottom. A wide gap between two pieces of a line
becomes a run of spaces, so that ``Label:     value`` stays one line the label parser splits.
A line that a program wrapped because the next word did not fit (in a multi-line box) is joined
again; a paragraph's empty line (twice the line spacing) becomes a ``PARAGRAPH_BREAK`` line. A
label alone on its line followed closely by a value line (the value in a box below) becomes
one line. Checkboxes drawn as paths (a box, and a filled cross or tick inside it) become
``[ ]`` and ``[x]`` before their label, so no page image is needed to tell them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ews.core.form_contract import CHECKBOX_FIELDS, LABELS
from ews.documents.text_layer import PARAGRAPH_BREAK

Box = tuple[float, float, float, float]
#: gap between two pieces of a line (in font sizes) that separates a label from its value
_COLUMN_GAP = 1.2
#: a value line at most this far (in font sizes, baseline to baseline) below its lone label
_BELOW_GAP = 1.9
#: baseline distance (in font sizes) of the next line of a paragraph, and of one after an
#: empty line
_NEXT_LINE = 1.45
_EMPTY_LINE = (1.85, 2.7)
#: programs wrap a few points inside the box (their padding differs): a line counts as wrapped
#: when its next word would not have fitted within this many points of the right margin
_WRAP_SLACK = 12.0
_LABEL_STARTS = tuple(label.lower() for label in LABELS.values())
_CHECKBOX_LABELS = tuple(LABELS[name].lower() for name in CHECKBOX_FIELDS)


@dataclass
class Piece:
    """A run of text on the page: its start and baseline in points, its font size; widths are
    measured only when needed (font metrics cost time)."""

    text: str
    x: float
    y: float
    size: float
    #: the advance of a text in this piece's font and size, in points
    measure: Callable[[str], float]
    _end: float | None = None

    @property
    def end(self) -> float:
        if self._end is None:
            self._end = self.x + self.measure(self.text)
        return self._end


@dataclass
class _Line:
    """One line: its pieces left to right (a re-joined wrapped line spans several baselines)."""

    pieces: list[Piece]
    text: str

    @property
    def first(self) -> Piece:
        return self.pieces[0]

    @property
    def last(self) -> Piece:
        return self.pieces[-1]


def page_lines(pieces: list[Piece], shapes: list[tuple[Box, bool]], *, page_width: float) -> str:
    """The page's text, one line per visual line (wrapped lines re-joined), top to bottom."""
    lines = _unwrapped(_grouped(pieces), page_width)
    _mark_drawn_boxes(lines, shapes)
    return "\n".join(_with_blank_lines(lines))


def _grouped(pieces: list[Piece]) -> list[_Line]:
    groups: list[list[Piece]] = []
    for piece in sorted(pieces, key=lambda p: (-p.y, p.x)):
        if groups and abs(groups[-1][0].y - piece.y) <= 0.4 * max(piece.size, groups[-1][0].size):
            groups[-1].append(piece)
        else:
            groups.append([piece])
    lines = [sorted(group, key=lambda p: p.x) for group in groups]
    return [_Line(line, _line_text(line)) for line in lines]


def _line_text(line: list[Piece]) -> str:
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


def _unwrapped(lines: list[_Line], page_width: float) -> list[_Line]:
    """Lines with the continuation of a wrapped line joined to it (one space between)."""
    joined: list[_Line] = []
    for line in lines:
        previous = joined[-1] if joined else None
        if previous is not None and _is_wrapped(previous, line, page_width):
            previous.pieces.extend(line.pieces)
            previous.text = previous.text.rstrip() + " " + line.text.lstrip()
        else:
            joined.append(_Line(list(line.pieces), line.text))
    return joined


def _is_wrapped(previous: _Line, line: _Line, page_width: float) -> bool:
    """The line continues ``previous``: same left edge, next line of a paragraph, and its first
    word would not have fitted after ``previous`` (a box as wide as the margins allow)."""
    last, first = previous.last, line.first
    if "    " in line.text.strip() or abs(first.x - _left(previous)) > 1.5:
        return False
    if not 0 < last.y - first.y <= _NEXT_LINE * max(last.size, first.size):
        return False
    words = line.text.split()
    if not words or line.text.strip().lower().startswith(_LABEL_STARTS):
        return False
    right = page_width - _left(previous)
    return last.end + first.measure(" " + words[0]) > right - _WRAP_SLACK


def _left(line: _Line) -> float:
    """Where the line's last text column starts (a value right of a label: the value's)."""
    start = line.first.x
    for previous, piece in zip(line.pieces, line.pieces[1:], strict=False):
        if piece.x - previous.end > _COLUMN_GAP * max(previous.size, piece.size):
            start = piece.x
    return start


def _with_blank_lines(lines: list[_Line]) -> list[str]:
    """Lines as text; a lone label takes the value line below; a paragraph's empty line kept."""
    texts: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        text = line.text
        following = lines[index + 1] if index + 1 < len(lines) else None
        if following is not None and _is_lone_label(text) and _is_value_below(line, following):
            text = text.rstrip() + "    " + following.text.lstrip()
            line = following
            index += 1
        texts.append(text)
        index += 1
        if index < len(lines) and _is_after_empty_line(line, lines[index]):
            texts.append(PARAGRAPH_BREAK)
    return texts


def _is_after_empty_line(line: _Line, below: _Line) -> bool:
    low, high = _EMPTY_LINE
    size = max(line.last.size, below.first.size)
    return (abs(below.first.x - _left(line)) <= 1.5
            and low * size <= line.last.y - below.first.y <= high * size)


def _is_lone_label(text: str) -> bool:
    stripped = text.strip()
    return stripped.endswith(":") and stripped[:-1].strip().lower() in _LABEL_STARTS


def _is_value_below(line: _Line, below: _Line) -> bool:
    close = line.last.y - below.first.y <= _BELOW_GAP * line.last.size
    return close and not below.text.strip().lower().startswith(_LABEL_STARTS)


def _mark_drawn_boxes(lines: list[_Line], shapes: list[tuple[Box, bool]]) -> None:
    """Checkbox label lines get ``[x]``/``[ ]`` for a drawn box just left of the label.

    A tick is a filled shape (not a rectangle) inside another shape there; producers draw the
    box itself as a stroked rectangle, a filled frame or a background.
    """
    for line in lines:
        if not line.text.strip().lower().startswith(_CHECKBOX_LABELS):
            continue
        beside = [(box, shaped) for box, shaped in shapes if _left_of(line.first, box)]
        if any(shaped and _inside_another(box, beside) for box, shaped in beside):
            line.text = "[x] " + line.text
        elif beside:
            line.text = "[ ] " + line.text


def _left_of(piece: Piece, box: Box) -> bool:
    """Whether a box (or mark) sits just left of the piece, on its line, checkbox-sized."""
    left, bottom, right, top = box
    size = piece.size
    centre_x, centre_y = (left + right) / 2, (bottom + top) / 2
    return (
        piece.x - 4 * size <= centre_x <= piece.x - 0.2 * size
        and piece.y - 0.8 * size <= centre_y <= piece.y + 1.4 * size
        and right - left <= 3 * size and top - bottom <= 3 * size
    )


def _inside_another(box: Box, shapes: list[tuple[Box, bool]]) -> bool:
    left, bottom, right, top = box
    return any(
        other[0] < left - 0.5 and other[1] < bottom - 0.5
        and other[2] > right + 0.5 and other[3] > top + 0.5
        for other, _shaped in shapes
    )
