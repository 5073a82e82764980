"""The .docx zip written from members deflated beforehand: readable by zipfile, the same bytes
for the same members, names outside ASCII flagged as UTF-8."""

from __future__ import annotations

import io
import zipfile

import pytest

from ews.letters.package import deflated, zip_bytes

MEMBERS = [("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w:document/>" * 500),
           ("word/media/bild-ä.png", bytes(range(256)) * 10), ("leer.xml", b"")]


def test_zipfile_reads_every_member_back_in_order() -> None:
    data = zip_bytes(deflated(name, content) for name, content in MEMBERS)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == [name for name, _ in MEMBERS]
        assert [archive.read(name) for name, _ in MEMBERS] == [content for _, content in MEMBERS]
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_DEFLATED}


def test_the_same_members_give_the_same_bytes() -> None:
    first = zip_bytes(deflated(name, content) for name, content in MEMBERS)
    assert zip_bytes(deflated(name, content) for name, content in MEMBERS) == first


def test_a_member_kept_from_before_is_copied_as_it_was() -> None:
    kept = deflated("word/styles.xml", b"<w:styles/>" * 1000)
    data = zip_bytes([kept, deflated("word/document.xml", b"<w:document/>")])
    assert kept.deflated in data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.read("word/styles.xml") == b"<w:styles/>" * 1000


def test_a_wrong_checksum_is_caught_by_readers() -> None:
    member = deflated("a.xml", b"<a/>")
    broken = zip_bytes([type(member)(member.name, member.crc ^ 1, member.size, member.deflated)])
    with zipfile.ZipFile(io.BytesIO(broken)) as archive, pytest.raises(zipfile.BadZipFile):
        archive.read("a.xml")
