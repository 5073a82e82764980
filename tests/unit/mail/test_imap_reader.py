"""The IMAP reader's split of the server's bytes into what imaplib2's handler takes: lines, and
literals in pieces (``ews.mail.imap_reader.Splitter``), for any response and any chunking; and
its bookkeeping of untagged responses, imaplib2's without the repr of every mail."""

from __future__ import annotations

import threading
from typing import Any

import imaplib2
from hypothesis import given
from hypothesis import strategies as st

from ews.mail.imap_reader import QuietResponses, Splitter

Token = tuple[str, bytes]  # ("line", b"...\r\n") or ("literal", b"...")

# a literal's bytes: anything, also lines that look like responses announcing literals
_literal_bytes = st.lists(st.sampled_from(
    [b"QmV3ZXJidW5n\r\n", b"* 3 FETCH (BODY[] {12}\r\n", b"A7 OK {3}\r\n", b"{", b"}", b"\r",
     b"\n", b"\x00\xff", b"+ idling\r\n"]) | st.binary(max_size=40), max_size=30).map(b"".join)
_text = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ()[]<>.\"", max_size=30)


@st.composite
def _fetch(draw: st.DrawFn) -> list[Token]:
    """An untagged response with one or more literals, each announced at the end of a line;
    the line after a literal may announce the next."""
    tokens: list[Token] = []
    head = f"* {draw(st.integers(1, 999))} FETCH (UID {draw(st.integers(1, 99999))} "
    for index in range(draw(st.integers(1, 3))):
        data = draw(_literal_bytes)
        prefix = head if index == 0 else f" {draw(_text)} "
        tokens += [("line", f"{prefix}BODY[] {{{len(data)}}}\r\n".encode()), ("literal", data)]
    tokens.append(("line", f" {draw(_text)})\r\n".encode()))
    return tokens


_plain = st.one_of(  # lines without a literal, some ending in what looks like an announcement
    st.builds(lambda text: [("line", f"* OK {text}\r\n".encode())], _text),
    st.builds(lambda tag, text: [("line", f"A{tag} OK {text} {{5}}\r\n".encode())],
              st.integers(1, 99), _text),
    st.builds(lambda text: [("line", f"+ {text}{{4}}\r\n".encode())], _text),
    st.just([("line", b"* 4 EXISTS\r\n")]),
    # lines imaplib2's handler reads no literal after (no untagged response, or no data)
    st.sampled_from([[("line", b"* {5}\r\n")], [("line", b"* OK{5}\r\n")],
                     [("line", b"*{5}\r\n")], [("line", b"{5}\r\n")]]),
)


def _hand_over(stream: bytes, cuts: list[int]) -> list[bytes]:
    splitter = Splitter()
    items: list[bytes] = []
    for start, stop in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        items += splitter.feed(stream[start:stop])
    return items


@given(st.lists(st.one_of(_fetch(), _plain), max_size=6).map(lambda parts: sum(parts, [])),
       st.data())
def test_lines_stay_lines_and_literals_come_whole_in_pieces(tokens: list[Token],
                                                            data: st.DataObject) -> None:
    stream = b"".join(token for _kind, token in tokens)
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(stream) - 1)), max_size=12)))
    items = _hand_over(stream, [cut for cut in cuts if cut < len(stream)])

    assert b"".join(items) == stream
    position = 0
    for kind, token in tokens:
        if kind == "line":  # one item, exactly the line with its CRLF
            assert items[position] == token, (items[position], token)
            position += 1
            continue
        taken = b""
        while len(taken) < len(token):  # pieces never run past the literal's end
            taken += items[position]
            position += 1
        assert taken == token
    assert position == len(items)


def test_a_mail_arriving_in_one_read_is_one_item() -> None:
    mail = b"From: a@b.example\r\n\r\n" + b"QmV3ZXJidW5n\r\n" * 3000
    stream = (f"* 1 FETCH (UID 7 BODY[] {{{len(mail)}}}\r\n".encode() + mail
              + b" INTERNALDATE \"05-Dec-2026 10:00:00 +0100\")\r\nA3 OK Fetch completed.\r\n")
    assert _hand_over(stream, []) == [stream[:stream.index(b"\r\n") + 2], mail,
                                      b" INTERNALDATE \"05-Dec-2026 10:00:00 +0100\")\r\n",
                                      b"A3 OK Fetch completed.\r\n"]


def test_an_empty_literal_and_a_line_cut_anywhere() -> None:
    stream = b"* 2 FETCH (BODY[] {0}\r\n)\r\nA4 OK done\r\n"
    for cut in range(1, len(stream)):
        items = _hand_over(stream, [cut])
        assert [item for item in items if item] == [b"* 2 FETCH (BODY[] {0}\r\n", b")\r\n",
                                                    b"A4 OK done\r\n"]


class _Mail(bytes):
    """A fetched mail whose repr counts: imaplib2's debug lines made one of every mail."""

    reprs = 0

    def __repr__(self) -> str:
        type(self).reprs += 1
        return super().__repr__()


class _Original:
    """imaplib2's own bookkeeping of untagged responses, on the same state."""

    _append_untagged = imaplib2.IMAP4._append_untagged
    _get_untagged_response = imaplib2.IMAP4._get_untagged_response
    _untagged_response = imaplib2.IMAP4._untagged_response

    def __init__(self) -> None:
        self.untagged_responses: list[list[Any]] = []
        self.commands_lock = threading.Lock()
        self.debug = 0  # imaplib2's _log looks at it

    def _log(self, *_args: object) -> None:
        pass


class _Quiet(QuietResponses):
    def __init__(self) -> None:
        self.untagged_responses = []
        self.commands_lock = threading.Lock()


_TYPES = st.sampled_from(["FETCH", "EXISTS", "OK", "NO"])
_OPERATIONS = st.lists(st.one_of(
    st.tuples(st.just("append"), _TYPES, st.one_of(st.none(), st.binary(max_size=8),
                                                  st.tuples(st.binary(max_size=8),
                                                            st.binary(max_size=8)))),
    st.tuples(st.just("get"), _TYPES, st.booleans()),
    st.tuples(st.just("result"), _TYPES, st.sampled_from(["OK", "NO"]))), max_size=40)


@given(_OPERATIONS)
def test_the_quiet_bookkeeping_of_untagged_responses_is_imaplib2s(
        operations: list[tuple[str, str, Any]]) -> None:
    original, quiet = _Original(), _Quiet()
    for kind, name, value in operations:
        for side in (original, quiet):
            if kind == "append":
                side._append_untagged(name, value)
        if kind == "get":
            assert quiet._get_untagged_response(name, leave=value) == \
                original._get_untagged_response(name, leave=value)
        elif kind == "result":
            assert quiet._untagged_response(value, [b"x"], name) == \
                original._untagged_response(value, [b"x"], name)
        assert quiet.untagged_responses == original.untagged_responses


def test_a_fetched_mail_is_never_turned_into_its_repr() -> None:
    quiet, mail = _Quiet(), _Mail(b"QmV3ZXJidW5n\r\n" * 10_000)
    quiet._append_untagged("FETCH", (b"1 (UID 7 BODY[] {140000}", mail))
    quiet._append_untagged("FETCH", b")")
    assert quiet._untagged_response("OK", [None], "FETCH") == (
        "OK", [(b"1 (UID 7 BODY[] {140000}", mail), b")"])
    assert _Mail.reprs == 0
    original = _Original()
    original._append_untagged("FETCH", (b"1 (UID 7 BODY[] {140000}", mail))
    assert _Mail.reprs == 1  # what imaplib2 itself does: the repr of the whole mail
