"""File names made from outside data that fit every place a file goes (pure, no I/O).

A name from a sender (an attachment, a file in the inbox, a subject, a municipality's name)
must work on ext4 (at most 255 bytes in UTF-8) and on an SMB share under Windows rules (at
most 255 UTF-16 units, no ``<>:"/\\|?*`` or control characters, no trailing dot or space, no
device names such as ``CON`` or ``com1.pdf``). A UTF-8 byte count is never below the UTF-16
unit count, so a byte budget covers both. Names are cut in whole characters (a base character
keeps its combining marks), the extension is kept, and every caller that adds a prefix or a
suffix reserves room for it: the budgets below say how much.
"""

from __future__ import annotations

import re
import unicodedata

from ews.core.plain_text import BIDI_CONTROLS

NAME_MAX_BYTES = 255  # ext4 NAME_MAX; also ≥ the UTF-16 units an SMB share counts
MIN_BUDGET_BYTES = 12  # the smallest budget a caller may ask for
FALLBACK = "unbenannt"
REASON_SUFFIX = ".Grund.txt"  # the reason file beside a quarantined file
TEMPORARY_ROOM = len(".") + len(".0123abcd.tmp")  # ``.{name}.{8 hex}.tmp``
NUMBER_ROOM = len(" (1000)")  # the collision suffix of a stored file, up to the 1000th
#: a stored (archived or quarantined) name: room for its number and its reason file
STORED_NAME_MAX_BYTES = NAME_MAX_BYTES - len(REASON_SUFFIX) - NUMBER_ROOM

#: a backup archive's name, ``ews-sicherung-2027-03-01T023000.tar`` (its time in Berlin)
BACKUP_PREFIX, BACKUP_SUFFIX = "ews-sicherung-", ".tar"
BACKUP_NAME = re.compile(r"ews-sicherung-[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{6}\.tar")

_MAX_EXTENSION = 10  # ``.pdf``, ``.eml``, ``.docx``; a longer "extension" is part of the name
_INVALID = re.compile(r'[<>:"/\\|?*]')
_ZWJ = "\u200d"
_DEVICES = frozenset(
    {"con", "prn", "aux", "nul", "conin$", "conout$"}
    | {f"{port}{digit}" for port in ("com", "lpt") for digit in "0123456789¹²³"})


def is_backup_name(name: str) -> bool:
    """Whether ``name`` is one of our backup archives (made by ``ews betrieb sicherung``)."""
    return BACKUP_NAME.fullmatch(name) is not None


def safe_name(name: str, *, max_bytes: int = NAME_MAX_BYTES) -> str:
    """A file name from the last path part of ``name`` (``C:\\x\\a.pdf`` → ``a.pdf``): NFC, no
    characters invalid on SMB, no device name, no leading or trailing dot or space, never
    empty, at most ``max_bytes`` bytes in UTF-8 with its extension kept."""
    parts = [part for part in re.split(r"[/\\]", name) if part.strip(" .")]
    return _fitted(_cleaned(parts[-1] if parts else ""), max_bytes)


def safe_title(text: str, *, max_bytes: int = NAME_MAX_BYTES) -> str:
    """``safe_name`` for a text that is not a path (a subject, ``Az. Kommune``): a slash
    becomes a dash instead of cutting the text."""
    return _fitted(_cleaned(re.sub(r"[/\\]", "-", text)), max_bytes)


def fit_name(name: str, max_bytes: int) -> str:
    """An already safe name cut to ``max_bytes`` (extension kept, no character split)."""
    return _fitted(name, max_bytes)


def numbered_name(name: str, number: int, *, max_bytes: int = NAME_MAX_BYTES) -> str:
    """The name for the ``number``-th file of that name: ``a.pdf``, ``a (2).pdf``, … all
    within ``max_bytes`` (the stem is cut to make room for the number)."""
    if number < 2:
        return fit_name(name, max_bytes)
    stem, extension = split_extension(name)
    if _size(f" ({number}){extension}") >= max_bytes:  # a tiny budget: the number only
        stem, extension = name, ""
    label = f" ({number}){extension}"
    room = max_bytes - _size(label)
    if room < 1:
        raise ValueError(f"no room for {label!r} in {max_bytes} bytes")
    return (_cut(stem, room).rstrip(" .") or FALLBACK[:room]) + label


def temporary_name(name: str, token: str) -> str:
    """``.{name}.{token}.tmp`` within ``NAME_MAX_BYTES``: a hidden name beside ``name`` for
    writing before the one-step rename (``token`` is 8 hex digits)."""
    if len(token) != 8 or not token.isascii():
        raise ValueError(f"token must be 8 ASCII characters: {token!r}")
    return f".{_cut(name, NAME_MAX_BYTES - TEMPORARY_ROOM)}.{token}.tmp"


def readable(text: str) -> str:
    """``text`` with the bytes a file system could not decode as UTF-8 (the surrogate escapes
    of ``os.fsdecode``, e.g. a Latin-1 name from an old SMB client) read as Windows-1252, and
    any other lone surrogate as U+FFFD: a string every database and UTF-8 file accepts."""
    if not any("\ud800" <= char <= "\udfff" for char in text):
        return text
    return "".join(_byte_char(char) if "\ud800" <= char <= "\udfff" else char for char in text)


def _byte_char(surrogate: str) -> str:
    code = ord(surrogate)
    if 0xDC80 <= code <= 0xDCFF:
        return bytes([code - 0xDC00]).decode("cp1252", errors="replace")
    return "\ufffd"


def is_reserved(name: str) -> bool:
    """Whether Windows treats ``name`` as a device (``CON``, ``nul.txt``, ``COM1 .pdf``)."""
    return name.split(".", 1)[0].rstrip(" ").casefold() in _DEVICES


def is_valid_name(name: str, max_bytes: int = NAME_MAX_BYTES) -> bool:
    """Whether ``name`` is a name this module could have made (the contract of its tests)."""
    try:
        size = _size(name)
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return (0 < size <= max_bytes and name == _cleaned(name) and not is_reserved(name)
            and name == name.strip(" ."))


def split_extension(name: str) -> tuple[str, str]:
    """``("Bewerbung", ".pdf")``; ``(name, "")`` when the part after the last dot is no
    extension (empty, too long, or not letters and digits)."""
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > _MAX_EXTENSION \
            or not (extension.isascii() and extension.isalnum()):
        return name, ""
    return stem, f".{extension}"


def _cleaned(name: str) -> str:
    name = unicodedata.normalize("NFC", readable(name))
    chars = ("_" if unicodedata.category(char) == "Cc" else char
             for char in name if char not in BIDI_CONTROLS)
    return _INVALID.sub("_", "".join(chars)).strip(" .")


def _fitted(name: str, max_bytes: int) -> str:
    if max_bytes < MIN_BUDGET_BYTES:
        raise ValueError(f"a name needs a budget of at least {MIN_BUDGET_BYTES} bytes")
    fitted = _cut_keeping_extension(name or FALLBACK, max_bytes)
    if is_reserved(fitted):
        fitted = "_" + _cut_keeping_extension(fitted, max_bytes - 1)
    return fitted


def _cut_keeping_extension(name: str, max_bytes: int) -> str:
    if _size(name) <= max_bytes:
        return name
    stem, extension = split_extension(name)
    if _size(extension) > max_bytes // 2:
        stem, extension = name, ""
    stem = _cut(stem, max_bytes - _size(extension)).rstrip(" .")
    return (stem or FALLBACK[: max_bytes - _size(extension)]) + extension


def _cut(text: str, max_bytes: int) -> str:
    """The longest start of ``text`` within ``max_bytes`` that does not split a character
    from its combining marks, variation selectors or a zero-width joiner."""
    end = size = 0
    for char in text:
        size += len(char.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            break
        end += 1
    while 0 < end < len(text) and (_extends(text[end]) or text[end - 1] == _ZWJ):
        end -= 1
    return text[:end]


def _extends(char: str) -> bool:
    code = ord(char)
    return (unicodedata.category(char) in ("Mn", "Mc", "Me") or char == _ZWJ
            or 0xFE00 <= code <= 0xFE0F or 0x1F3FB <= code <= 0x1F3FF
            or 0xE0100 <= code <= 0xE01EF)


def _size(text: str) -> int:
    return len(text.encode("utf-8"))
