"""imaplib2's reader thread, handing a mail over in blocks (adapter: the IMAP socket).

imaplib2 reads the server's bytes in one thread and parses them in another; its reader hands
every line over through a queue. A fetched mail is a literal of thousands of lines (76 bytes
of base64 each): taking 500 mails meant some 270,000 hand-overs and about 3.7 CPU-s in the
two threads (``py-spy record --threads``). ``BlockReader`` hands a literal over in the
pieces it arrives in, and every other line as before. imaplib2's handler takes a literal in
pieces of any size (``IMAP4._put_response`` counts its bytes); the reader knows where one
starts by the rule the handler uses: a line that ends in ``{N}`` and is an untagged response,
or the line right after a literal.
"""

from __future__ import annotations

import queue
import re
import select
import threading
import time
from typing import TYPE_CHECKING, Any

import imaplib2

# imaplib2's own patterns, so that the reader splits as its handler parses: a literal of
# ``size`` bytes follows a line ending in it, and an untagged response, in two forms
_LITERAL = re.compile(imaplib2.IMAP4._literal)
_UNTAGGED_RESPONSE = imaplib2.IMAP4.untagged_response_cre
_UNTAGGED_STATUS = re.compile(imaplib2.IMAP4._untagged_status)
_EMPTY_READS = 5  # reads of nothing in a row that mean the server has gone (as imaplib2)
_LOGOUT = "LOGOUT"  # imaplib2's state after LOGOUT: poll briefly, the server is closing


class Splitter:
    """The server's byte stream as the handler's items: lines (each with its CRLF) and the
    pieces of literals (exactly their bytes, in as few pieces as they arrived in)."""

    def __init__(self) -> None:
        self._partial = b""  # the start of a line whose end has not come yet
        self._literal = 0  # bytes of the current literal still to come
        self._after_literal = False  # the next line continues a response with a literal

    def feed(self, data: bytes) -> list[bytes]:
        items: list[bytes] = []
        start = 0
        while start < len(data):
            if self._literal:
                piece = data[start:start + self._literal]
                items.append(piece)
                self._literal -= len(piece)
                start += len(piece)
                continue
            stop = data.find(b"\n", start)
            if stop < 0:
                self._partial += data[start:]
                break
            line, self._partial = self._partial + data[start:stop + 1], b""
            start = stop + 1
            items.append(line)
            size = self._announced(line)
            # the line after a literal (an empty one too) may announce the next
            self._literal, self._after_literal = size or 0, size is not None
        return items

    def _announced(self, line: bytes) -> int | None:
        """The size of the literal ``line`` announces (None: it announces none), decided as
        imaplib2's handler decides it (``IMAP4._put_response``)."""
        data = line[:-2]  # as the handler: the last two bytes are CRLF
        if not self._after_literal:  # the line starts a response: only an untagged one
            if (response := _UNTAGGED_RESPONSE.match(data)) is not None:
                data = response.group("data") or b""
            elif (status := _UNTAGGED_STATUS.match(data)) is not None:
                data = status.group("data") + (b" " + status.group("data2")
                                               if status.group("data2") else b"")
            else:
                return None  # tagged, a continuation, or nothing the handler knows
        match = _LITERAL.match(data)
        return int(match.group("size")) if match else None


class BlockReader:
    """Mixin for ``imaplib2.IMAP4`` and ``IMAP4_SSL``: their ``_reader`` (the poll variant),
    with the hand-over of ``Splitter``. Everything else as imaplib2 does it: one read of
    ``read_size`` per poll event, the reader stops after the line that follows
    ``TerminateReader`` (STARTTLS), and a socket error reaches the handler as an abort."""

    identifier: str
    read_fd: int
    read_size: int
    read_poll_timeout: float
    state: str
    inq: queue.Queue[Any]
    Terminate: bool
    TerminateReader: bool
    abort: type[Exception]

    if TYPE_CHECKING:  # imaplib2's, or the TLS class's (a definition here would hide it)
        def read(self, size: int) -> bytes: ...

    def _reader(self) -> None:
        threading.current_thread().name = self.identifier + "reader"
        poll = select.poll()
        poll.register(self.read_fd, select.POLLIN)
        splitter = Splitter()
        empty_reads = 0
        terminate = False
        try:
            while not (terminate or self.Terminate):
                timeout = 10 if self.state == _LOGOUT else self.read_poll_timeout * 1000
                events = poll.poll(timeout)
                if not events:
                    continue
                state = events[0][1]
                if state & select.POLLIN:
                    data = self.read(self.read_size)
                    if not data:
                        empty_reads += 1
                        if empty_reads > _EMPTY_READS:
                            raise OSError("Too many read 0")
                        time.sleep(0.1)
                        continue
                    empty_reads = 0
                    for item in splitter.feed(data):
                        self.inq.put(item)
                        terminate = terminate or self.TerminateReader
                if state & ~select.POLLIN:
                    raise OSError(f"poll error {state}")
        except Exception as exc:  # noqa: BLE001 - as imaplib2: the handler aborts the commands
            self.inq.put((self.abort, f"socket error: {type(exc).__name__} - {exc}"))
        finally:
            poll.unregister(self.read_fd)


class QuietResponses:
    """Mixin for ``imaplib2.IMAP4``: its bookkeeping of untagged responses (the same logic as
    imaplib2 3.06) without its debug lines. imaplib2 builds those lines before it decides to
    log them, and each holds ``'%.80r' % data``: the repr of every fetched mail, whole, once
    as it arrives and twice as the FETCH collects it, only to keep 80 characters of it. For
    500 mails that was 0.4 s of the flow process's CPU (cProfile: ``_untagged_response`` and
    ``_get_untagged_response``, their own time)."""

    untagged_responses: list[list[Any]]
    commands_lock: threading.Lock

    def _append_untagged(self, typ: str, dat: Any) -> None:
        """Add ``dat`` to the last untagged response when it is of the same ``typ``, else
        start a new one."""
        data = b"" if dat is None else dat
        with self.commands_lock:
            last = self.untagged_responses[-1] if self.untagged_responses else None
            if last is not None and last[0] == typ:
                last[1].append(data)
            else:
                self.untagged_responses.append([typ, [data]])

    def _get_untagged_response(self, name: str, leave: bool = False) -> Any:
        """The data of the first untagged response ``name`` (removed unless ``leave``)."""
        with self.commands_lock:
            for index, (typ, dat) in enumerate(self.untagged_responses):
                if typ == name:
                    if not leave:
                        del self.untagged_responses[index]
                    return dat
        return None

    def _untagged_response(self, typ: str, dat: Any, name: str) -> tuple[str, Any]:
        """A command's result: the data of every untagged response ``name``, joined."""
        if typ == "NO":
            return typ, dat
        data = self._get_untagged_response(name)
        if not data:
            return typ, [None]
        while more := self._get_untagged_response(name):
            data += more
        return typ, data
