"""File names from outside data, the inbox claim of regular files only, and placing a file
without ever replacing another: names that fit 255 bytes and Windows rules, symbolic links and
FIFOs never followed, collisions numbered."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ews.core.names import (
    NAME_MAX_BYTES,
    REASON_SUFFIX,
    STORED_NAME_MAX_BYTES,
    is_reserved,
    is_valid_name,
    numbered_name,
    readable,
    safe_name,
    safe_title,
    temporary_name,
)
from ews.runtime import filing, folders

CJK_90 = "申請書" * 30  # 90 characters, 270 bytes
EMOJI_300 = "😀" * 75  # 300 bytes
ANY_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=400)


def size(name: str) -> int:
    return len(name.encode("utf-8"))


# --- safe_name: any text in, a name that fits out ---


@settings(deadline=None)  # a shared, loaded machine
@given(ANY_TEXT, st.integers(min_value=12, max_value=300))
@example("\udcff\x00/..", 12)
@example("CON.pdf", 12)
@example("a" * 20 + "\u0301" * 40, 12)
def test_any_text_becomes_a_valid_name_within_the_budget(text: str, budget: int) -> None:
    name = safe_name(text, max_bytes=budget)
    assert is_valid_name(name, budget)
    assert size(name) <= budget and name.encode("utf-8").decode("utf-8") == name
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert not is_reserved(name) and name == name.strip(" .") and name


@settings(deadline=None)  # a shared, loaded machine
@given(ANY_TEXT)
def test_a_title_keeps_its_start_and_has_no_separator(text: str) -> None:
    name = safe_title(f"000123__{text}")
    assert is_valid_name(name) and name.startswith("000123__")


@settings(deadline=None)  # a shared, loaded machine
@given(st.text(min_size=1, max_size=300), st.integers(min_value=2, max_value=1000))
def test_numbered_names_fit_and_stay_valid(text: str, number: int) -> None:
    name = numbered_name(safe_name(text, max_bytes=100), number, max_bytes=100)
    assert is_valid_name(name, 100) and f"({number})" in name


@settings(deadline=None)  # a shared, loaded machine
@given(ANY_TEXT)
def test_a_temporary_name_fits_255_bytes(text: str) -> None:
    name = temporary_name(safe_name(text), "0123abcd")
    assert size(name) <= NAME_MAX_BYTES
    assert name.startswith(".") and name.endswith(".0123abcd.tmp")


def test_ninety_cjk_characters_are_cut_in_whole_characters_keeping_the_extension() -> None:
    name = safe_name(f"{CJK_90}.pdf", max_bytes=241)
    assert name.endswith(".pdf") and size(name) <= 241
    assert name == "申請書" * 26 + "申.pdf"  # 79 characters of 3 bytes, and ".pdf"


def test_a_300_byte_emoji_name_keeps_whole_emoji_and_the_extension() -> None:
    name = safe_name(f"{EMOJI_300}.pdf")
    assert name == "😀" * 62 + ".pdf" and size(name) == 252


def test_combining_marks_stay_with_their_letter() -> None:
    decomposed = "e\u0301\u0323" * 100  # é with a dot below: no single NFC character
    name = safe_name(decomposed + ".pdf", max_bytes=50)
    stem = name.removesuffix(".pdf")
    assert len(stem) % 3 == 0 and stem == unicodedata.normalize("NFC", decomposed)[:len(stem)]


def test_an_emoji_sequence_is_not_split_at_a_joiner() -> None:
    family = "👩\u200d👩\u200d👧"  # 18 bytes
    name = safe_name(family * 3, max_bytes=40)
    assert name == family * 2 and not name.endswith("\u200d")


def test_right_to_left_text_stays_but_direction_overrides_go() -> None:
    assert safe_name("طلب الترشيح.pdf") == "طلب الترشيح.pdf"
    assert safe_name("Bewerbung\u202efdp.exe") == "Bewerbungfdp.exe"


@pytest.mark.parametrize(("raw", "expected"), [
    ("CON.pdf", "_CON.pdf"),
    ("con", "_con"),
    ("Nul.tar.gz", "_Nul.tar.gz"),
    ("COM1 .pdf", "_COM1 .pdf"),
    ("lpt9", "_lpt9"),
    ("COM¹.pdf", "_COM¹.pdf"),
    ("CONSOLE.pdf", "CONSOLE.pdf"),
    ("...", "unbenannt"),
    (" ", "unbenannt"),
    ("", "unbenannt"),
    ("Bewerbung. ", "Bewerbung"),
    ("a\x00b.pdf", "a_b.pdf"),
    ('a<b>c:d"e|f?g*h.pdf', "a_b_c_d_e_f_g_h.pdf"),
    ("C:\\Users\\Amt\\Bewerbung.pdf", "Bewerbung.pdf"),
    ("../../etc/passwd", "passwd"),
    ("Ordner/", "Ordner"),
    ("Bewerbung L\udcfcdenscheid.pdf", "Bewerbung Lüdenscheid.pdf"),  # Latin-1 on disk
    ("\ud800x.pdf", "\ufffdx.pdf"),  # a lone surrogate that no byte stands for
    ("Mo\u0308hnesee.pdf", "Möhnesee.pdf"),
])
def test_names_are_mapped_to_what_windows_and_ext4_accept(raw: str, expected: str) -> None:
    assert safe_name(raw) == expected


def test_a_name_in_latin_1_from_the_file_system_becomes_readable_text() -> None:
    raw = os.fsdecode(b"/inbox/Bewerbung M\xf6hnesee \x80 \x81.pdf")
    assert readable(raw) == "/inbox/Bewerbung Möhnesee € \ufffd.pdf"
    assert readable("schon UTF-8: Möhnesee") == "schon UTF-8: Möhnesee"


def test_a_title_replaces_slashes_instead_of_cutting() -> None:
    assert safe_title("13.0.70-007/2026 Stadt A/B") == "13.0.70-007-2026 Stadt A-B"


def test_a_budget_below_the_minimum_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        safe_name("a.pdf", max_bytes=5)


# --- the claim: regular files only, names within 255 bytes ---


def observe_one(inbox: Path) -> folders.Observation:
    [observation] = folders.observe_inbox(inbox).values()
    return observation


def test_a_250_byte_name_is_claimed_within_255_bytes(tmp_path: Path) -> None:
    name = "ä" * 123 + ".pdf"  # 250 bytes
    (tmp_path / name).write_bytes(b"%PDF-1.7")
    claimed = folders.claim_file(observe_one(tmp_path), tmp_path)
    assert claimed is not None and size(claimed.name) <= NAME_MAX_BYTES
    assert claimed.read_bytes() == b"%PDF-1.7" and folders.original_name(claimed).endswith(".pdf")


def test_a_symlink_in_the_inbox_is_not_observed_but_moved_aside_unread(tmp_path: Path) -> None:
    secret = tmp_path / "geheim.txt"
    secret.write_text("nicht lesen")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "Bewerbung.pdf").symlink_to(secret)
    (inbox / "Ordner").symlink_to(tmp_path)
    assert folders.observe_inbox(inbox) == {}
    moved = folders.set_aside_refused(inbox)
    assert sorted(path.is_symlink() for path in moved) == [True, True]
    assert all(path.parent == inbox / folders.REFUSED_FOLDER for path in moved)
    assert secret.read_text() == "nicht lesen"
    assert [p.name for p in inbox.iterdir()] == [folders.REFUSED_FOLDER]
    reason = folders.reason_file(next(p for p in moved if p.name.endswith("Bewerbung.pdf")))
    assert "symbolische Verknüpfung" in reason.read_text(encoding="utf-8")
    assert str(secret) in reason.read_text(encoding="utf-8")


def test_a_fifo_in_the_inbox_is_moved_aside_without_opening_it(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "Bewerbung.pdf")  # opening it would block
    assert folders.observe_inbox(tmp_path) == {}
    [moved] = folders.set_aside_refused(tmp_path)
    assert "benannte Pipe" in folders.reason_file(moved).read_text(encoding="utf-8")


def test_a_refused_entry_with_a_255_byte_name_gets_its_reason_beside_it(tmp_path: Path) -> None:
    name = "ö" * 125 + ".pdf"  # 254 bytes
    (tmp_path / name).symlink_to("/etc/passwd")
    [moved] = folders.set_aside_refused(tmp_path)
    reason = folders.reason_file(moved)
    assert size(reason.name) <= NAME_MAX_BYTES and moved.is_symlink()
    assert f"„{name}“" in reason.read_text(encoding="utf-8")


def test_a_file_swapped_for_a_symlink_after_the_scan_is_not_claimed(tmp_path: Path) -> None:
    secret = tmp_path / "geheim.pdf"
    secret.write_bytes(b"%PDF geheim")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "Bewerbung.pdf").write_bytes(b"%PDF-1.7")
    observation = observe_one(inbox)
    (inbox / "Bewerbung.pdf").unlink()
    (inbox / "Bewerbung.pdf").symlink_to(secret)
    assert folders.claim_file(observation, inbox) is None
    assert folders.claimed_files(inbox) == []


def test_a_symlink_planted_in_the_work_folder_is_never_adopted(tmp_path: Path) -> None:
    secret = tmp_path / "geheim.pdf"
    secret.write_bytes(b"%PDF geheim")
    work = tmp_path / "inbox" / folders.WORK_FOLDER
    work.mkdir(parents=True)
    (work / "0123456789ab__x.pdf").symlink_to(secret)
    assert folders.claimed_files(tmp_path / "inbox") == []
    [moved] = folders.set_aside_refused(tmp_path / "inbox")
    assert moved.is_symlink() and moved.name.endswith("__x.pdf")
    with pytest.raises(OSError):
        folders.sha256_of(moved)  # never followed
    with pytest.raises(OSError):
        folders.read_claim(moved)


def test_a_long_name_is_written_atomically_beside_its_target(tmp_path: Path) -> None:
    name = safe_name(f"{CJK_90}.pdf")
    written = folders.write_atomic(tmp_path / name, b"x")
    assert written.read_bytes() == b"x" and [p.name for p in tmp_path.iterdir()] == [name]


def test_an_atomic_write_replaces_a_file_or_refuses_to_when_told(tmp_path: Path) -> None:
    target = tmp_path / "register.xlsx"
    target.write_bytes(b"alt")

    with pytest.raises(FileExistsError):
        folders.write_atomic(target, b"neu", overwrite=False)
    assert target.read_bytes() == b"alt"
    folders.write_atomic(target, b"neu")
    assert target.read_bytes() == b"neu"
    assert folders.write_atomic(tmp_path / "frei.xlsx", b"x", overwrite=False).read_bytes() == b"x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frei.xlsx", "register.xlsx"]


def test_without_links_an_atomic_write_still_never_replaces_a_file_when_told(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")  # as on some shares

    monkeypatch.setattr(folders.os, "link", no_links)
    target = tmp_path / "register.xlsx"
    target.write_bytes(b"alt")
    with pytest.raises(FileExistsError):
        folders.write_atomic(target, b"neu", overwrite=False)
    assert target.read_bytes() == b"alt"
    assert folders.write_atomic(tmp_path / "frei.xlsx", b"x", overwrite=False).read_bytes() == b"x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frei.xlsx", "register.xlsx"]


def test_an_atomic_write_into_a_missing_folder_fails_when_told_not_to_create_it(
        tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        folders.write_atomic(tmp_path / "fehlt" / "a.xlsx", b"x", create_folder=False)
    assert not (tmp_path / "fehlt").exists()
    assert folders.write_atomic(tmp_path / "neu" / "a.docx", b"x").read_bytes() == b"x"


def test_only_files_seen_alike_in_both_looks_have_stopped_changing(tmp_path: Path) -> None:
    still, growing, new = (tmp_path / n for n in ("still.pdf", "wachsend.pdf", "neu.pdf"))
    before = {still: folders.Observation(still, 10, 1), growing: folders.Observation(growing, 5, 1)}
    after = {still: folders.Observation(still, 10, 1), growing: folders.Observation(growing, 9, 2),
             new: folders.Observation(new, 1, 3)}

    assert folders.unchanged(before, after) == [folders.Observation(still, 10, 1)]
    assert folders.unchanged({}, after) == []


# --- placing without replacing ---


def test_a_placed_file_never_replaces_another_and_gets_a_number(tmp_path: Path) -> None:
    target = tmp_path / "archiv" / "000001__a.pdf"
    first, second = tmp_path / "eins", tmp_path / "zwei"
    first.write_bytes(b"eins")
    second.write_bytes(b"zwei")
    assert filing.place_exclusive(first, target) == target
    used = filing.place_exclusive(second, target)
    assert used.name == "000001__a (2).pdf"
    assert target.read_bytes() == b"eins" and used.read_bytes() == b"zwei"
    assert not first.exists() and not second.exists()


def test_placing_the_same_bytes_again_after_a_crash_is_done(tmp_path: Path) -> None:
    target = tmp_path / "archiv" / "a.pdf"
    source = tmp_path / "a"
    source.write_bytes(b"gleich")
    filing.place_exclusive(source, target)
    source.write_bytes(b"gleich")  # the crashed run left its claim
    assert filing.place_exclusive(source, target) == target
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.pdf"]
    assert filing.find_placed(target, None) == target


def test_numbered_names_of_a_long_stored_name_fit_with_the_reason_file(tmp_path: Path) -> None:
    name = "000001__" + safe_name(f"{EMOJI_300}.pdf", max_bytes=STORED_NAME_MAX_BYTES - 8)
    budget = NAME_MAX_BYTES - len(REASON_SUFFIX)
    for number, data in enumerate((b"1", b"2", b"3"), start=1):
        source = tmp_path / f"q{number}"
        source.write_bytes(data)
        placed = filing.place_exclusive(source, tmp_path / "q" / name, max_bytes=budget)
        assert size(placed.name + REASON_SUFFIX) <= NAME_MAX_BYTES
        assert placed.read_bytes() == data and placed.name.startswith("000001__😀")


def test_written_bytes_never_replace_other_bytes(tmp_path: Path) -> None:
    first = filing.write_exclusive(tmp_path / "mail" / "1-2__Betreff.eml", b"eins")
    again = filing.write_exclusive(tmp_path / "mail" / "1-2__Betreff.eml", b"eins")
    other = filing.write_exclusive(tmp_path / "mail" / "1-2__Betreff.eml", b"zwei")
    assert first == again and other.name == "1-2__Betreff (2).eml"
    assert {p.name for p in first.parent.iterdir()} == {first.name, other.name}


@pytest.fixture
def other_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A folder on another filesystem than ``tmp_path`` (tmpfs), where no link can reach."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second filesystem here")
    folder = Path(tempfile.mkdtemp(dir=shm))
    yield folder
    shutil.rmtree(folder)


def test_across_filesystems_a_verified_copy_takes_a_free_name(
        tmp_path: Path, other_filesystem: Path) -> None:
    target = tmp_path / "archiv" / "a.pdf"
    target.parent.mkdir()
    target.write_bytes(b"schon da")
    source = other_filesystem / "claim"
    source.write_bytes(b"neu")
    used = filing.place_exclusive(source, target)
    assert used.name == "a (2).pdf" and used.read_bytes() == b"neu"
    assert target.read_bytes() == b"schon da" and not source.exists()
    assert sorted(p.name for p in target.parent.iterdir()) == ["a (2).pdf", "a.pdf"]


def test_where_a_share_cannot_link_the_name_is_reserved_before_the_copy_moves_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")  # as on some shares

    monkeypatch.setattr(filing.os, "link", no_links)
    target = tmp_path / "q" / "a.pdf"
    sources = [tmp_path / "eins", tmp_path / "zwei", tmp_path / "eins-wieder"]
    for source, data in zip(sources, (b"eins", b"zwei", b"eins"), strict=True):
        source.write_bytes(data)
    assert [filing.place_exclusive(s, target).name for s in sources] == [
        "a.pdf", "a (2).pdf", "a.pdf"]
    assert target.read_bytes() == b"eins"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a (2).pdf", "a.pdf"]
