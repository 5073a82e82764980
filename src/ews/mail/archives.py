"""ZIP archives inside a mail: member names in every encoding tools write, Office packages (pure).

No I/O; the archive bytes come from the mail.
"""

from __future__ import annotations

import binascii
import unicodedata
import zipfile

ZIP_MAGIC = b"PK\x03\x04"
ZIP_TYPES = ("application/zip", "application/x-zip-compressed", "application/x-zip")


def is_office_package(names: list[str]) -> bool:
    return "[Content_Types].xml" in names or (bool(names) and names[0] == "mimetype")


def _unicode_path(info: zipfile.ZipInfo) -> str | None:
    """The Info-ZIP Unicode Path extra field (0x7075), if present and still matching the
    header name (its CRC-32; a tool that renamed the member without updating it is ignored)."""
    extra, position = info.extra, 0
    header_name = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
    while position + 4 <= len(extra):
        tag = int.from_bytes(extra[position:position + 2], "little")
        size = int.from_bytes(extra[position + 2:position + 4], "little")
        body = extra[position + 4:position + 4 + size]
        if (tag == 0x7075 and len(body) > 5 and body[0] == 1
                and int.from_bytes(body[1:5], "little") == binascii.crc32(header_name)):
            try:
                return body[5:].decode("utf-8")
            except UnicodeDecodeError:
                return None
        position += 4 + size
    return None


def member_name(info: zipfile.ZipInfo) -> str:
    try:
        unicode_path = _unicode_path(info)
    except (UnicodeEncodeError, ValueError):
        unicode_path = None
    name = unicode_path or info.orig_filename
    if not info.flag_bits & 0x800 and unicode_path is None:
        name = _utf8_without_flag(info.orig_filename) or name
    return unicodedata.normalize("NFC", name)


def _utf8_without_flag(name: str) -> str | None:
    """zipfile decoded the name as cp437; macOS and others write UTF-8 without the flag: the
    name read as UTF-8, or None when it is not UTF-8 (then cp437 it is)."""
    try:
        return name.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):  # a real cp437 (cp850) name
        return None

