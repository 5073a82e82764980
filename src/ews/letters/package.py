"""The zip container of a .docx written from members deflated beforehand (pure, in memory).

A letter shares most of its parts (styles, theme, settings: about 800 KB) with every other
letter of its template; they are deflated once per process and copied as they are, only the
rendered parts are deflated per letter. Every member carries the zip epoch (1980-01-01) as
its time, so the same letter gives the same bytes.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_VERSION = 20  # deflate, no zip64
_DEFLATED = 8
_UTF8_NAME = 0x800
_EPOCH_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01 in MS-DOS format; the time is 00:00
_LIMIT = 0xFFFFFFFF  # beyond it zip64 would be needed; a letter is far below


@dataclass(frozen=True)
class Member:
    """One file of the zip, deflated."""

    name: str
    crc: int
    size: int
    deflated: bytes


def deflated(name: str, data: bytes) -> Member:
    """``data`` deflated as zipfile does it (raw deflate, the default level)."""
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    packed = compressor.compress(data) + compressor.flush()
    return Member(name=name, crc=zlib.crc32(data), size=len(data), deflated=packed)


def zip_bytes(members: Iterable[Member]) -> bytes:
    """A zip archive of ``members`` in their order."""
    chunks: list[bytes] = []
    directory: list[bytes] = []
    offset = 0
    count = 0
    for member in members:
        name = member.name.encode("utf-8")
        flags = 0 if name.isascii() else _UTF8_NAME
        header = _LOCAL.pack(0x04034B50, _VERSION, flags, _DEFLATED, 0, _EPOCH_DATE, member.crc,
                             len(member.deflated), member.size, len(name), 0)
        directory.append(_CENTRAL.pack(
            0x02014B50, _VERSION, _VERSION, flags, _DEFLATED, 0, _EPOCH_DATE, member.crc,
            len(member.deflated), member.size, len(name), 0, 0, 0, 0, 0o600 << 16, offset) + name)
        chunks += (header, name, member.deflated)
        offset += len(header) + len(name) + len(member.deflated)
        count += 1
    central = b"".join(directory)
    if offset + len(central) > _LIMIT or count > 0xFFFF:
        raise ValueError("Das Word-Dokument ist zu groß für ein Zip-Archiv ohne Zip64.")
    return b"".join(chunks) + central + _END.pack(0x06054B50, 0, 0, count, count, len(central),
                                                  offset, 0)
