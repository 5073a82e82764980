"""Text from outside made fit to show to a person (pure, no I/O).

Form values, subjects and names end up in the journal, in letters, in mails and on screens.
A sender can put control characters in them (NUL, ESC sequences that recolour a terminal,
backspaces) or bidi overrides that make ``Rechnung‮fdp.exe`` read as something else. Such
characters carry no meaning for the office: they are taken out here, once, where the text
enters the service. The original bytes stay in the archive or the quarantine.
"""

from __future__ import annotations

import unicodedata

#: characters that reorder what follows them (RLO, LRE, isolates, marks): a name would read
#: differently from what it is
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                          "\u2066\u2067\u2068\u2069")
_LINE_BREAKS = ("\r\n", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029")


def plain_text(text: str, *, multiline: bool = False) -> str:
    """``text`` in NFC without control characters and bidi controls. A tab becomes a space;
    a line break stays one in ``multiline`` text and becomes a space otherwise."""
    for line_break in _LINE_BREAKS:
        text = text.replace(line_break, "\n")
    text = text.replace("\t", " ")
    if not multiline:
        text = text.replace("\n", " ")
    kept = (char for char in text
            if char not in BIDI_CONTROLS and (char == "\n" or unicodedata.category(char) != "Cc"))
    return unicodedata.normalize("NFC", "".join(kept))
