"""The office mailbox over IMAP (adapter: network, via imaplib2).

Thin and explicit: connect with verified TLS (implicit or STARTTLS), list the UIDs still to
look at, fetch them in batches with their INTERNALDATE, apply the post-action, append a copy to
the Sent folder, and IDLE. Every socket has a timeout; every server error becomes
``MailboxError`` with a German message, so callers can reconnect with backoff.

Sizes are asked before bytes are fetched: a mail larger than ``max_mail_mb`` is fetched as its
header only (``oversized``), so the caller can still give it one outcome. Removing a moved mail
never expunges other clients' deleted mails: ``UID MOVE``, else ``UID EXPUNGE`` of our own UIDs
(UIDPLUS), else no expunge at all (the mail keeps ``\\Deleted`` and the done keyword).

Longer than 300 lines because it is the one adapter to the mailbox: every IMAP command the
service uses, each with its timeout and its German error, sits together.
"""

from __future__ import annotations

import logging
import re
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import imaplib2

from ews.core.errors import MailboxError
from ews.mail.imap_reader import BlockReader, QuietResponses
from ews.runtime.settings import ImapSettings

_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')
_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_MB = 1024 * 1024
#: the server's untagged reports of a change in the selected folder
_CHANGES = ("EXISTS", "RECENT", "EXPUNGE", "FETCH")
#: how long after sending IDLE a change report that imaplib2 did not act on is looked for
_IDLE_SETTLE_SECONDS = 0.25
#: what of an oversized mail is fetched: its header, at most this many bytes of it
_MAX_HEADER_BYTES = 256 * 1024

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchedMail:
    uid: int
    internaldate: datetime  # when the office's server stored the mail (the receipt time)
    raw: bytes  # the whole mail; of an oversized one only its header (at most 256 KB)
    size: int = 0  # RFC822.SIZE as the server reports it
    oversized: bool = False  # larger than ``max_mail_mb``: not fetched whole


def _tls_context(ca_file: Any) -> ssl.SSLContext:
    """Certificate and host name verified, against ``ca_file`` or the system's CAs."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class _Verified:
    """imaplib2 verifies neither the certificate nor the host name unless told exactly how;
    this mixin wraps the socket with a default (verifying) context instead."""

    tls_context: ssl.SSLContext
    connect_timeout: float
    host: str
    port: int
    sock: Any
    read_fd: int

    def open_socket(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        return sock

    def ssl_wrap_socket(self) -> None:
        self.sock = self.tls_context.wrap_socket(self.sock, server_hostname=self.host)
        self.read_fd = self.sock.fileno()


class _Plain(_Verified, BlockReader, QuietResponses, imaplib2.IMAP4):
    def __init__(self, host: str, port: int, context: ssl.SSLContext, timeout: float) -> None:
        self.tls_context, self.connect_timeout = context, timeout
        imaplib2.IMAP4.__init__(self, host, port, timeout=timeout)


class _Tls(_Verified, BlockReader, QuietResponses, imaplib2.IMAP4_SSL):
    def __init__(self, host: str, port: int, context: ssl.SSLContext, timeout: float) -> None:
        self.tls_context, self.connect_timeout = context, timeout
        imaplib2.IMAP4_SSL.__init__(self, host, port, timeout=timeout)

    def read(self, size: int) -> bytes:
        return bytes(self.sock.recv(size))


def _ok(result: tuple[str, list[Any]], what: str) -> list[Any]:
    typ, data = result
    if typ != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
        raise MailboxError(f"Der Mailserver lehnte „{what}“ ab: {detail}")
    return data


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Mailbox:
    """One logged-in connection with the configured folder selected."""

    def __init__(self, settings: ImapSettings) -> None:
        if not settings.host:
            raise MailboxError("Kein Postfach eingerichtet (EWS_IMAP__HOST fehlt).")
        self.settings = settings
        self._folders: set[str] = set()  # known to exist
        context = _tls_context(settings.ca_file)
        try:
            if settings.security == "ssl":
                self.conn = _Tls(settings.host, settings.effective_port, context,
                                 settings.timeout_seconds)
            else:
                self.conn = _Plain(settings.host, settings.effective_port, context,
                                   settings.timeout_seconds)
                if settings.security == "starttls":
                    _ok(self.conn.starttls(), "STARTTLS")
            _ok(self.conn.login(settings.user, settings.password.get_secret_value()),
                "Anmeldung")
        except (OSError, imaplib2.IMAP4.error, imaplib2.IMAP4.abort) as exc:
            raise MailboxError(self._explain(exc)) from exc
        # asked after login: the greeting's list lacks what a server offers logged-in users
        # only (Dovecot: MOVE, UIDPLUS), and imaplib2 keeps the greeting's
        data = self._call("Fähigkeiten abfragen", self.conn.capability)
        self.capabilities = frozenset(
            word.upper() for chunk in data if isinstance(chunk, bytes)
            for word in chunk.decode("ascii", "replace").split())
        self.uidvalidity = self.select(settings.folder)

    def _explain(self, exc: BaseException) -> str:
        where = f"{self.settings.host}:{self.settings.effective_port}"
        if isinstance(exc, ssl.SSLCertVerificationError):
            return f"Das Zertifikat des Mailservers {where} ist nicht vertrauenswürdig: " \
                   f"{exc.verify_message}"
        if isinstance(exc, imaplib2.IMAP4.error) and "LOGIN" in str(exc).upper():
            return f"Anmeldung am Postfach {where} fehlgeschlagen (Benutzer/Passwort prüfen)."
        return f"Verbindung zum Postfach {where} fehlgeschlagen: {exc}"

    def _call(self, what: str, function: Any, *args: Any) -> list[Any]:
        try:
            return _ok(function(*args), what)
        except (OSError, imaplib2.IMAP4.error, imaplib2.IMAP4.abort) as exc:
            raise MailboxError(f"Postfach: „{what}“ fehlgeschlagen: {exc}") from exc

    def select(self, folder: str) -> int:
        """Select ``folder``; returns its UIDVALIDITY."""
        self._call(f"Ordner {folder} öffnen", self.conn.select, _quote(folder))
        _typ, data = self.conn.response("UIDVALIDITY")
        if not data or data[0] is None:
            raise MailboxError(f"Der Mailserver nennt keine UIDVALIDITY für „{folder}“.")
        return int(data[0])

    def uids_to_look_at(self) -> list[int]:
        """UIDs in the folder that the post-action has not marked (conservative SEARCH); in
        the move mode, a mail that a server without MOVE and UIDPLUS could not remove carries
        the done keyword."""
        data = self._call("Suche", self.conn.uid, "SEARCH", "UNKEYWORD",
                          self.settings.done_keyword)
        return sorted(int(uid) for chunk in data if chunk for uid in chunk.split())

    def fetch(self, uids: list[int]) -> Iterator[FetchedMail]:
        """Fetch mails in UID order, without setting \\Seen: their sizes first, then in
        batches of at most ``batch_size`` mails and ``max_mail_mb`` together (never one huge
        command); a mail larger than ``max_mail_mb`` as its header only (``oversized``)."""
        limit = self.settings.max_mail_mb * _MB
        for start in range(0, len(uids), self.settings.batch_size):
            sizes = self._sizes(uids[start:start + self.settings.batch_size])
            for batch in _batches(sizes, limit):
                oversized = sizes[batch[0]] > limit
                part = f"BODY.PEEK[HEADER]<0.{_MAX_HEADER_BYTES}>" if oversized else "BODY.PEEK[]"
                data = self._call("Abruf", self.conn.uid, "FETCH",
                                  ",".join(str(uid) for uid in batch),
                                  f"(UID INTERNALDATE RFC822.SIZE {part})")
                found = [_fetched(item[0], item[1], oversized) for item in data
                         if isinstance(item, tuple) and len(item) == 2]
                yield from sorted(found, key=lambda mail: mail.uid)

    def _sizes(self, uids: list[int]) -> dict[int, int]:
        """RFC822.SIZE by UID; a mail deleted meanwhile is missing."""
        data = self._call("Größen", self.conn.uid, "FETCH", ",".join(str(uid) for uid in uids),
                          "(UID RFC822.SIZE)")
        sizes: dict[int, int] = {}
        for item in data:
            line = item[0] if isinstance(item, tuple) else item
            uid, size = (_UID.search(line), _SIZE.search(line)) if isinstance(
                line, bytes) else (None, None)
            if uid is not None and size is not None:
                sizes[int(uid.group(1))] = int(size.group(1))
        return sizes

    def mark_done(self, uids: list[int]) -> None:
        """The post-action for these mails: move them to the done folder, or set the done
        keyword (one command per batch)."""
        size = self.settings.batch_size
        for start in range(0, len(uids), size):
            self._mark_done(",".join(str(uid) for uid in uids[start:start + size]))

    def mark_for_staff(self, uids: list[int]) -> None:
        """The post-action for mails staff answer: flagged (``\\Flagged``), and moved to the
        staff folder, or given the done keyword (one command per batch and step)."""
        size = self.settings.batch_size
        for start in range(0, len(uids), size):
            uid_set = ",".join(str(uid) for uid in uids[start:start + size])
            self._call("Kennzeichnen", self.conn.uid, "STORE", uid_set, "+FLAGS",
                       r"(\Flagged)")
            self._mark_done(uid_set, self.settings.staff_folder)

    def _mark_done(self, uid_set: str, folder: str | None = None) -> None:
        if self.settings.done_action == "keyword":
            self._call("Markieren", self.conn.uid, "STORE", uid_set, "+FLAGS",
                       f"({self.settings.done_keyword})")
            return
        folder = folder or self.settings.done_folder
        self.ensure_folder(folder)
        if "MOVE" in self.capabilities:
            self._call("Verschieben", self.conn.uid, "MOVE", uid_set, _quote(folder))
            return
        self._call("Kopieren", self.conn.uid, "COPY", uid_set, _quote(folder))
        # a plain EXPUNGE would also remove what other clients marked \Deleted in this folder
        if "UIDPLUS" in self.capabilities:
            self._call("Löschen", self.conn.uid, "STORE", uid_set, "+FLAGS", r"(\Deleted)")
            self._call("Aufräumen", self.conn.uid, "EXPUNGE", uid_set)
            return
        self._call("Löschen", self.conn.uid, "STORE", uid_set, "+FLAGS",
                   rf"(\Deleted {self.settings.done_keyword})")
        log.warning("Der Mailserver kann weder verschieben (MOVE) noch gezielt löschen "
                    "(UIDPLUS): die E-Mails %s wurden nach „%s“ kopiert und als gelöscht und "
                    "„%s“ markiert, aber nicht entfernt, damit keine anderen als gelöscht "
                    "markierten E-Mails im Ordner verloren gehen.", uid_set, folder,
                    self.settings.done_keyword)

    def ensure_folder(self, folder: str) -> None:
        if folder in self._folders:
            return
        typ, _data = self.conn.create(_quote(folder))  # "already exists" is fine
        if typ != "OK":
            self._call(f"Ordner {folder} prüfen", self.conn.status, _quote(folder), "(MESSAGES)")
        self._folders.add(folder)

    def append_sent(self, raw: bytes, when: datetime) -> None:
        folder = self.settings.sent_folder
        self.ensure_folder(folder)
        self._call("Kopie in Gesendet", self.conn.append, _quote(folder), r"(\Seen)",
                   imaplib2.Time2Internaldate(when), raw)

    def has_message_id(self, folder: str, message_id: str) -> bool:
        """Whether ``folder`` holds a message with this Message-ID (reselects our folder)."""
        self.select(folder)
        try:
            data = self._call("Suche", self.conn.uid, "SEARCH", "HEADER", "Message-ID",
                              _quote(message_id))
        finally:
            self.select(self.settings.folder)
        return any(chunk.split() for chunk in data if chunk)

    def idle(self, seconds: float) -> None:
        """Wait in IDLE until the server reports a change or ``seconds`` pass."""
        ended = threading.Event()
        outcome: list[Any] = []

        def done(args: tuple[Any, Any, Any]) -> None:
            outcome.append(args)
            ended.set()

        for name in _CHANGES:  # those the command before IDLE reported: its caller saw them
            self.conn.response(name)
        self.conn.idle(timeout=max(int(seconds), 1), callback=done)  # imaplib2 wants an int
        # imaplib2 ends IDLE on the server's change reports only once its command thread has
        # taken the server's "+ idling"; a report right behind it (a mail that came in while
        # IDLE was being sent) can reach its reader thread first and is then only stored,
        # and IDLE would wait its full time. A command of ours ends it at once.
        if (not ended.wait(min(_IDLE_SETTLE_SECONDS, seconds)) and self._changes_reported()
                and not ended.is_set()):
            self._call("Verbindung prüfen (NOOP)", self.conn.noop)
        if not ended.wait(seconds + self.settings.timeout_seconds):
            raise MailboxError("Der Mailserver beendete IDLE nicht rechtzeitig.")
        _response, _arg, error = outcome[0]
        if error is not None:
            raise MailboxError(f"Verbindung zum Postfach während IDLE verloren: {error[1]}")

    def _changes_reported(self) -> bool:
        """Whether the server reported a change (a new mail, flags, an expunge) that no one
        has taken from imaplib2's store yet."""
        return any(name in _CHANGES for name, _data in list(self.conn.untagged_responses))

    def close(self) -> None:
        try:
            self.conn.logout()
        except (OSError, imaplib2.IMAP4.error, imaplib2.IMAP4.abort):
            pass


def _batches(sizes: dict[int, int], limit: int) -> Iterator[list[int]]:
    """UIDs in order, grouped so that a batch holds at most ``limit`` bytes; an oversized mail
    (only its header is fetched) goes alone."""
    batch: list[int] = []
    total = 0
    for uid in sorted(sizes):
        size = sizes[uid]
        if batch and (size > limit or total + size > limit):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += size
        if size > limit:
            yield batch
            batch, total = [], 0
    if batch:
        yield batch


def _fetched(header: bytes, raw: bytes, oversized: bool = False) -> FetchedMail:
    uid = _UID.search(header)
    date = _INTERNALDATE.search(header)
    if uid is None or date is None:
        raise MailboxError("Der Mailserver lieferte eine Nachricht ohne UID oder Eingangszeit.")
    size = _SIZE.search(header)
    return FetchedMail(uid=int(uid.group(1)), internaldate=parse_internaldate(date.group(1)),
                       raw=raw, size=int(size.group(1)) if size else len(raw),
                       oversized=oversized)


def parse_internaldate(value: bytes) -> datetime:
    """``"21-Nov-2026 10:03:12 +0100"`` → aware datetime (UTC)."""
    day, rest = value.decode("ascii").strip().split("-", 1)
    moment = parsedate_to_datetime(f"{int(day):02d}-{rest}".replace("-", " ", 2))
    return moment.astimezone(UTC)
