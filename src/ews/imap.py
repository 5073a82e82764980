"""The office mailbox over IMAP (adapter: network, via imaplib2).

Thin and explicit: connect with verified TLS (implicit or STARTTLS), list the UIDs still to
look at, fetch them in batches with their INTERNALDATE, apply the post-action, append a copy to
the Sent folder, and IDLE. Every socket has a timeout; every server error becomes
``MailboxError`` with a German message, so callers can reconnect with backoff.
"""

from __future__ import annotations

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

from ews.errors import EwsError
from ews.settings import ImapSettings

_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')
_UID = re.compile(rb"UID (\d+)")


class MailboxError(EwsError):
    """The mailbox could not be reached or answered with an error (German message)."""


@dataclass(frozen=True)
class FetchedMail:
    uid: int
    internaldate: datetime  # when the office's server stored the mail (the receipt time)
    raw: bytes


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


class _Plain(_Verified, imaplib2.IMAP4):
    def __init__(self, host: str, port: int, context: ssl.SSLContext, timeout: float) -> None:
        self.tls_context, self.connect_timeout = context, timeout
        imaplib2.IMAP4.__init__(self, host, port, timeout=timeout)


class _Tls(_Verified, imaplib2.IMAP4_SSL):
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
        """UIDs in the folder that the post-action has not marked (conservative SEARCH)."""
        criteria = ["ALL"] if self.settings.done_action == "move" else \
            ["UNKEYWORD", self.settings.done_keyword]
        data = self._call("Suche", self.conn.uid, "SEARCH", *criteria)
        return sorted(int(uid) for chunk in data if chunk for uid in chunk.split())

    def fetch(self, uids: list[int]) -> Iterator[FetchedMail]:
        """Fetch mails in batches (never one huge command), without setting \\Seen."""
        size = self.settings.batch_size
        for start in range(0, len(uids), size):
            batch = ",".join(str(uid) for uid in uids[start:start + size])
            data = self._call("Abruf", self.conn.uid, "FETCH", batch,
                              "(UID INTERNALDATE BODY.PEEK[])")
            for item in data:
                if isinstance(item, tuple) and len(item) == 2:
                    yield _fetched(item[0], item[1])

    def mark_done(self, uids: list[int]) -> None:
        """The post-action for these mails: move them to the done folder, or set the done
        keyword (one command per batch)."""
        size = self.settings.batch_size
        for start in range(0, len(uids), size):
            self._mark_done(",".join(str(uid) for uid in uids[start:start + size]))

    def _mark_done(self, uid_set: str) -> None:
        if self.settings.done_action == "keyword":
            self._call("Markieren", self.conn.uid, "STORE", uid_set, "+FLAGS",
                       f"({self.settings.done_keyword})")
            return
        folder = self.settings.done_folder
        self.ensure_folder(folder)
        if "MOVE" in self.conn.capabilities:
            self._call("Verschieben", self.conn.uid, "MOVE", uid_set, _quote(folder))
            return
        self._call("Kopieren", self.conn.uid, "COPY", uid_set, _quote(folder))
        self._call("Löschen", self.conn.uid, "STORE", uid_set, "+FLAGS", r"(\Deleted)")
        self._call("Aufräumen", self.conn.expunge)

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

        self.conn.idle(timeout=max(int(seconds), 1), callback=done)  # imaplib2 wants an int
        if not ended.wait(seconds + self.settings.timeout_seconds):
            raise MailboxError("Der Mailserver beendete IDLE nicht rechtzeitig.")
        _response, _arg, error = outcome[0]
        if error is not None:
            raise MailboxError(f"Verbindung zum Postfach während IDLE verloren: {error[1]}")

    def close(self) -> None:
        try:
            self.conn.logout()
        except (OSError, imaplib2.IMAP4.error, imaplib2.IMAP4.abort):
            pass


def _fetched(header: bytes, raw: bytes) -> FetchedMail:
    uid = _UID.search(header)
    date = _INTERNALDATE.search(header)
    if uid is None or date is None:
        raise MailboxError("Der Mailserver lieferte eine Nachricht ohne UID oder Eingangszeit.")
    return FetchedMail(uid=int(uid.group(1)), internaldate=parse_internaldate(date.group(1)),
                       raw=raw)


def parse_internaldate(value: bytes) -> datetime:
    """``"21-Nov-2026 10:03:12 +0100"`` → aware datetime (UTC)."""
    day, rest = value.decode("ascii").strip().split("-", 1)
    moment = parsedate_to_datetime(f"{int(day):02d}-{rest}".replace("-", " ", 2))
    return moment.astimezone(UTC)
