"""Real mail servers for the tests, all on 127.0.0.1 and on free ports.

* `Dovecot`: IMAP, IMAPS and LMTP from the Debian ``dovecot`` binary with a configuration of its
  own in a temporary folder (no system configuration is read). Every address is a mailbox and
  every user logs in with the password `PASSWORD` ("geheim"); mailboxes appear on first use.
  The hierarchy separator is "/" everywhere (IMAP and disk), so folder names such as
  "Bewerbungen/Verarbeitet" look the same in the service configuration, in LIST responses and
  in these helpers. "Sent" (\\Sent) and "Archiv" (\\Archive) always exist.
* `SmtpServer`: an aiosmtpd server (plain with STARTTLS, plus implicit TLS) that delivers every
  accepted message over LMTP into the recipients' Dovecot mailboxes, records the envelopes and
  can answer with scripted errors.
* `CuttingProxy`: a TCP proxy that drops or stalls connections on command.

All waits are bounded. `Dovecot` needs the Debian packages dovecot-imapd, dovecot-lmtpd and
openssl (`make setup`). IDLE notifications arrive about 0.5 s after a change (Dovecot's own
delay). aiosmtpd and imaplib2 are imported lazily, so importing this module is cheap; pytest
is not needed (the fixtures are in tests/conftest.py).
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import email
import email.policy
import imaplib
import logging
import os
import re
import select
import shutil
import signal
import smtplib
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:
    import imaplib2

HOST = "127.0.0.1"
#: password of every Dovecot user
PASSWORD = "geheim"
#: SMTP login of the service (`SmtpServer` default credentials)
SMTP_USER = "ews@ews.test"
SMTP_PASSWORD = PASSWORD
DEFAULT_SENDER = "absender@example.test"
#: folders Dovecot creates for every user (besides INBOX)
AUTO_FOLDERS = ("Sent", "Archiv")
SEPARATOR = "/"

_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


class MailServerError(RuntimeError):
    """A test mail server could not be started or used."""


class MailboxMissing(MailServerError):
    """The IMAP folder does not exist."""


class _PortTaken(MailServerError):
    pass


# --------------------------------------------------------------------------------------------
# small helpers


def free_port(host: str = HOST) -> int:
    """A TCP port on `host` that was free a moment ago (bind to port 0)."""
    return free_ports(1, host)[0]


def free_ports(count: int, host: str = HOST) -> list[int]:
    """`count` distinct free ports (all sockets are held open until every port is chosen)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            ports.append(sock.getsockname()[1])
        return ports


def dovecot_binary() -> str | None:
    """Path of the ``dovecot`` binary (also looks in /usr/sbin), or None."""
    return shutil.which("dovecot", path=_SEARCH_PATH)


def _port_accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def make_certificate(directory: Path, name: str = "server") -> tuple[Path, Path]:
    """Self-signed certificate (EC P-256) valid for 127.0.0.1 and localhost: (cert, key)."""
    openssl = shutil.which("openssl", path=_SEARCH_PATH)
    if openssl is None:
        raise MailServerError("openssl not found (run `make setup`)")
    cert, key = directory / f"{name}-cert.pem", directory / f"{name}-key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "3650", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30,
    )
    key.chmod(0o600)
    return cert, key


def imap_quote(name: str) -> str:
    """A folder name as IMAP quoted string, modified-UTF-7 encoded (RFC 3501 5.1.3)."""
    encoded = imap_utf7_encode(name)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def imap_utf7_encode(name: str) -> str:
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            out.append("&" + data.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def imap_utf7_decode(name: str) -> str:
    def replace(match: re.Match[str]) -> str:
        data = match.group(1)
        if not data:
            return "&"
        data = data.replace(",", "/")
        return base64.b64decode(data + "=" * (-len(data) % 4)).decode("utf-16-be")

    return re.sub(r"&([^-]*)-", replace, name)


def _unquote(value: bytes) -> str:
    text = value.decode("utf-8", "replace")
    if text.startswith('"') and text.endswith('"'):
        text = re.sub(r"\\(.)", r"\1", text[1:-1])
    return imap_utf7_decode(text)


def _set_parent_death_signal() -> None:
    """Runs in the child before exec: SIGTERM if the test process dies without cleaning up."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _verify_localhost(cert: dict[str, Any], host: str) -> str | None:
    """imaplib2 `cert_verify_cb`: the chain is checked via ca_certs, this checks the name."""
    alt_names = cert.get("subjectAltName", ())
    names = {value for kind, value in alt_names if kind in ("DNS", "IP Address")}
    return None if host in names else f"certificate is not valid for {host} ({sorted(names)})"


class StoredMessage(NamedTuple):
    """One message in a Dovecot folder. ``flags`` never contains the volatile ``\\Recent``."""

    uid: int
    flags: set[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


_UID = re.compile(rb"\bUID (\d+)")
_FLAGS = re.compile(rb"\bFLAGS \(([^)]*)\)")
_APPENDUID = re.compile(rb"\[APPENDUID \d+ (\d+)\]")
_LIST = re.compile(rb'^\((?P<flags>[^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (?P<name>.*)$')


def parse_fetch(data: Iterable[Any]) -> list[StoredMessage]:
    """Messages from the response data of ``UID FETCH ... (UID FLAGS BODY.PEEK[])``."""
    records: list[tuple[bytes, bytes]] = []
    for item in data:
        if isinstance(item, tuple):
            records.append((item[0], item[1]))
        elif isinstance(item, bytes) and records:
            header, raw = records[-1]
            records[-1] = (header + b" " + item, raw)
    messages = []
    for meta, raw in records:
        uid, flags = _UID.search(meta), _FLAGS.search(meta)
        if uid is None:
            continue
        names = set(flags.group(1).decode().split()) if flags else set()
        messages.append(StoredMessage(int(uid.group(1)), names - {"\\Recent"}, raw))
    return sorted(messages, key=lambda m: m.uid)


# --------------------------------------------------------------------------------------------
# Dovecot


_CONFIG = """\
# Written by tests/mailserver.py; no system configuration is included.
protocols = imap lmtp
listen = {host}
instance_name = ews-test-dovecot
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
auth_verbose = yes
{users}
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_dh = </usr/share/dovecot/dh.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
# a failed login still takes about 0.5 s (imap-login), but there is no growing penalty
auth_failure_delay = 0
# every address is its own mailbox: no "+detail" stripping
recipient_delimiter =
# "/" on disk too, so "Bewerbungen/Verarbeitet" is a plain subfolder and dots are allowed
mail_location = maildir:{mail}/%u/Maildir:LAYOUT=fs:INBOX={mail}/%u/Maildir/INBOX
mail_fsync = never
mail_max_userip_connections = 200
# IDLE: inotify gives about 0.5 s latency; the check interval is the fallback without inotify
imap_idle_notify_interval = 2 mins
mailbox_idle_check_interval = 1 secs
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={mail}/%u allow_all_users=yes
}}
namespace inbox {{
  inbox = yes
  separator = /
  prefix =
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Archiv {{
    special_use = \\Archive
    auto = subscribe
  }}
}}
# no brute-force penalty: a test with a wrong password must not slow down later logins
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  {login_chroot}
  inet_listener imap {{
    address = {host}
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {imaps_port}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = {host}
    port = {lmtp_port}
  }}
}}
protocol lmtp {{
  postmaster_address = postmaster@example.test
}}
"""


class Dovecot:
    """A private Dovecot (IMAP, IMAPS, LMTP) in a temporary folder, started in the foreground.

    Users: any address is a valid user/mailbox (static passdb and userdb, ``allow_all_users``);
    the password is always `password` (default "geheim"). Dovecot lowercases user names, so
    "Max@Example.test" and "max@example.test" are the same mailbox. Mail files belong to
    nobody:nogroup when run as root (to the current user otherwise).

    Folders: the separator is "/" (`SEPARATOR`); "Sent" (``\\Sent``) and "Archiv"
    (``\\Archive``) are created for every user; other folders are created by the client
    (``CREATE "Bewerbungen/Verarbeitet"``). Dots and umlauts in folder names work; names of
    these helpers are plain Python strings (modified UTF-7 is handled here). MOVE is supported.
    """

    def __init__(self, root: str | Path | None = None, *, password: str = PASSWORD,
                 host: str = HOST, capabilities: Iterable[str] = ()) -> None:
        self.host = host
        #: the CAPABILITY list announced after login instead of Dovecot's own
        #: (``imap_capability``): a server without MOVE or UIDPLUS, as clients see one
        self.capabilities = tuple(capabilities)
        self.password = password
        self._given_root = Path(root) if root is not None else None
        self.root: Path | None = None
        self.imap_port = self.imaps_port = self.lmtp_port = 0
        self.cert_path = self.key_path = Path()
        self._proc: subprocess.Popen[bytes] | None = None
        self.start_seconds = self.stop_seconds = 0.0

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def mail_dir(self) -> Path:
        assert self.root is not None, "Dovecot is not started"
        return self.root / "mail"

    @property
    def config_path(self) -> Path:
        assert self.root is not None, "Dovecot is not started"
        return self.root / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        assert self.root is not None, "Dovecot is not started"
        return self.root / "dovecot.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 15.0) -> Dovecot:
        if self._proc is not None:
            raise MailServerError("Dovecot is already started")
        binary = dovecot_binary()
        if binary is None:
            raise MailServerError("dovecot binary not found (Debian: dovecot-imapd, "
                                  "dovecot-lmtpd; run `make setup`)")
        began = time.monotonic()
        if self._given_root is not None:
            self.root = self._given_root
            self.root.mkdir(parents=True, exist_ok=True)
        else:
            _remove_stale_roots()
            self.root = Path(tempfile.mkdtemp(prefix=_ROOT_PREFIX))
        try:
            for attempt in range(3):
                try:
                    self._launch(timeout)
                    break
                except _PortTaken:  # a free port was taken by someone else meanwhile
                    self._terminate()
                    if attempt == 2:
                        raise
        except BaseException:
            self.stop()  # also removes the temp folder
            raise
        self.start_seconds = time.monotonic() - began
        return self

    def _launch(self, timeout: float) -> None:
        binary = dovecot_binary()
        assert binary is not None and self.root is not None
        root = self.root
        # mail processes run as the userdb user: they must reach {root}/mail
        root.chmod(0o755)
        for sub in ("run", "state", "mail"):
            (root / sub).mkdir(exist_ok=True)
        self.cert_path, self.key_path = make_certificate(root, "dovecot")
        self.imap_port, self.imaps_port, self.lmtp_port = free_ports(3, self.host)
        self.config_path.write_text(self._config())
        if os.geteuid() == 0:
            shutil.chown(self.mail_dir, "nobody", "nogroup")
        with open(root / "dovecot.out", "wb") as out:
            self._proc = subprocess.Popen(
                [binary, "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_set_parent_death_signal,
            )
        deadline = time.monotonic() + timeout
        pending = [self.imap_port, self.imaps_port, self.lmtp_port]
        while pending:
            if self._proc.poll() is not None:
                detail = self._diagnostics()
                error = _PortTaken if "Address already in use" in detail else MailServerError
                raise error(f"Dovecot exited at start:\n{detail}")
            if time.monotonic() > deadline:
                raise MailServerError(
                    f"Dovecot did not listen within {timeout} s:\n{self._diagnostics()}")
            if _port_accepts(self.host, pending[0]):
                pending.pop(0)
            else:
                time.sleep(0.02)

    def _config(self) -> str:
        assert self.root is not None
        if os.geteuid() == 0:
            users, uid, gid, chroot = "", "nobody", "nogroup", ""
        else:  # rootless: everything runs as the current user, chroot is impossible
            import grp
            import pwd

            uid = pwd.getpwuid(os.getuid()).pw_name
            gid = grp.getgrgid(os.getgid()).gr_name
            users = (f"default_internal_user = {uid}\ndefault_internal_group = {gid}\n"
                     f"default_login_user = {uid}")
            chroot = "chroot ="
        config = _CONFIG.format(
            host=self.host, root=self.root, mail=self.mail_dir, cert=self.cert_path,
            key=self.key_path, password=self.password, uid=uid, gid=gid, users=users,
            login_chroot=chroot, imap_port=self.imap_port, imaps_port=self.imaps_port,
            lmtp_port=self.lmtp_port,
        )
        if self.capabilities:
            config += f"imap_capability = {' '.join(self.capabilities)}\n"
        return config

    def _diagnostics(self) -> str:
        parts = []
        for name in ("dovecot.out", "dovecot.log"):
            assert self.root is not None
            path = self.root / name
            if path.exists():
                parts.append(f"--- {name}\n" + path.read_text(errors="replace")[-4000:])
        return "\n".join(parts)

    def log_tail(self, chars: int = 4000) -> str:
        """The end of Dovecot's log (for assertion messages)."""
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def stop(self, timeout: float = 10.0, *, keep_files: bool = False) -> None:
        """SIGTERM to the process group, SIGKILL after `timeout`; removes the temp folder."""
        began = time.monotonic()
        self._terminate(timeout)
        self.stop_seconds = time.monotonic() - began
        if self.root is not None and self._given_root is None and not keep_files:
            shutil.rmtree(self.root, ignore_errors=True)

    def _terminate(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                _signal_group(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    _signal_group(proc.pid, signal.SIGKILL)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(5)
            # children that outlived the master (they normally exit with it)
            _signal_group(proc.pid, signal.SIGKILL)

    def __enter__(self) -> Dovecot:
        return self.start() if self._proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- clients -------------------------------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        """Client context that trusts only this server's certificate (hostname checked)."""
        return ssl.create_default_context(cafile=str(self.cert_path))

    def imap(self, user: str, ssl: bool = False, *, password: str | None = None,
             timeout: float = 10.0) -> imaplib2.IMAP4:
        """A logged-in imaplib2 connection (IMAPS: certificate and host name verified).

        The caller must ``logout()`` it (imaplib2 runs threads per connection)."""
        import imaplib2

        connection: imaplib2.IMAP4
        if ssl:
            connection = imaplib2.IMAP4_SSL(
                self.host, self.imaps_port, ca_certs=str(self.cert_path),
                cert_verify_cb=_verify_localhost, timeout=timeout)
        else:
            connection = imaplib2.IMAP4(self.host, self.imap_port, timeout=timeout)
        try:
            connection.login(user, self.password if password is None else password)
        except BaseException:
            _logout(connection)
            raise
        return connection

    @contextlib.contextmanager
    def session(self, user: str, ssl: bool = False) -> Iterator[imaplib2.IMAP4]:
        """``with dovecot.session(user) as imap:`` - logs out at the end."""
        connection = self.imap(user, ssl)
        try:
            yield connection
        finally:
            _logout(connection)

    @contextlib.contextmanager
    def _client(self, user: str, timeout: float = 10.0) -> Iterator[imaplib.IMAP4]:
        # the helpers use the standard library: imaplib2 spends 0.1 s in connect and logout
        connection = imaplib.IMAP4(self.host, self.imap_port, timeout=timeout)
        try:
            connection.login(user, self.password)
            yield connection
        finally:
            _logout(connection)

    def deliver(self, raw: bytes | EmailMessage, to: str | Iterable[str],
                mail_from: str = DEFAULT_SENDER, *, timeout: float = 10.0) -> None:
        """Delivers over LMTP (one transaction per recipient, as a real MTA would)."""
        data = raw.as_bytes() if isinstance(raw, EmailMessage) else raw
        recipients = [to] if isinstance(to, str) else list(to)
        with smtplib.LMTP(self.host, self.lmtp_port, timeout=timeout) as lmtp:
            for recipient in recipients:
                lmtp.sendmail(mail_from, [recipient], data)

    def append(self, user: str, raw: bytes | EmailMessage, folder: str = "INBOX",
               internaldate: datetime | None = None, flags: Iterable[str] = ()) -> int:
        """IMAP APPEND (creates the folder if needed); returns the new UID.

        A naive `internaldate` is taken as local time. Dovecot stores an internaldate in the
        future as "now"."""
        data = raw.as_bytes() if isinstance(raw, EmailMessage) else raw
        date = None
        if internaldate is not None:
            aware = internaldate if internaldate.tzinfo else internaldate.astimezone()
            date = imaplib.Time2Internaldate(aware)
        flag_list = "(" + " ".join(flags) + ")" if flags else None
        with self._client(user) as imap:
            typ, response = imap.append(imap_quote(folder), flag_list, date, data)
            if typ != "OK" and b"TRYCREATE" in b" ".join(response):
                imap.create(imap_quote(folder))
                typ, response = imap.append(imap_quote(folder), flag_list, date, data)
            if typ != "OK":
                raise MailServerError(f"APPEND to {folder!r} failed: {response!r}")
        found = _APPENDUID.search(b" ".join(r for r in response if isinstance(r, bytes)))
        return int(found.group(1)) if found else 0

    def create_folder(self, user: str, folder: str) -> None:
        with self._client(user) as imap:
            typ, response = imap.create(imap_quote(folder))
            if typ != "OK" and b"ALREADYEXISTS" not in b" ".join(response):
                raise MailServerError(f"CREATE {folder!r} failed: {response!r}")

    def folders(self, user: str) -> list[str]:
        """All selectable folder names (decoded, "/"-separated), sorted."""
        with self._client(user) as imap:
            return _list_folders(imap)

    def messages(self, user: str, folder: str = "INBOX") -> list[StoredMessage]:
        """All messages of a folder, by UID; read-only (EXAMINE, BODY.PEEK: flags unchanged).

        Raises `MailboxMissing` if the folder does not exist."""
        with self._client(user) as imap:
            return _fetch_all(imap, folder)

    def wait_for_messages(self, user: str, count: int, folder: str = "INBOX",
                          timeout: float = 10.0) -> list[StoredMessage]:
        """Polls until the folder holds at least `count` messages; returns all of them.

        A missing folder counts as empty. Raises TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        found = 0
        with self._client(user) as imap:
            while True:
                typ, data = imap.status(imap_quote(folder), "(MESSAGES)")
                if typ == "OK":
                    match = re.search(rb"MESSAGES (\d+)", b" ".join(d for d in data if d))
                    found = int(match.group(1)) if match else 0
                    if found >= count:
                        return _fetch_all(imap, folder)
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{user} {folder}: {found} of {count} messages after {timeout} s")
                time.sleep(0.05)

    def users(self) -> list[str]:
        """Users that have a mailbox on disk (lowercase addresses)."""
        return sorted(p.name for p in self.mail_dir.iterdir() if p.is_dir())

    def reset(self) -> None:
        """Disconnects all IMAP sessions and deletes every user's mail and folders."""
        doveadm = shutil.which("doveadm", path=_SEARCH_PATH)
        if doveadm is not None and self.running:
            # exit code 68 = nobody was connected
            subprocess.run([doveadm, "-c", str(self.config_path), "kick", "*"],
                           capture_output=True, timeout=10)
        mail = self.mail_dir.resolve()
        assert self.root is not None and mail.parent == self.root.resolve()
        for child in mail.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()


_ROOT_PREFIX = "ews-dovecot-"


def _remove_stale_roots(min_age: float = 600.0) -> None:
    """Removes temp folders of earlier sessions that were killed (no live master process)."""
    for path in Path(tempfile.gettempdir()).glob(_ROOT_PREFIX + "*"):
        with contextlib.suppress(OSError, ValueError):
            if not path.is_dir() or time.time() - path.stat().st_mtime < min_age:
                continue
            pid_file = path / "run" / "master.pid"
            if pid_file.exists():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid_file.read_text().split()[0]), 0)
                    continue  # still running
            shutil.rmtree(path, ignore_errors=True)


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def _logout(connection: imaplib2.IMAP4 | imaplib.IMAP4) -> None:
    with contextlib.suppress(Exception):
        connection.logout()


def _list_folders(imap: imaplib.IMAP4) -> list[str]:
    typ, data = imap.list('""', "*")
    if typ != "OK":
        raise MailServerError(f"LIST failed: {data!r}")
    names = []
    for item in data:
        if item is None:
            continue
        if isinstance(item, tuple):  # name sent as literal
            match = re.match(rb"^\(([^)]*)\)", item[0])
            flags = match.group(1) if match else b""
            name = imap_utf7_decode(item[1].decode("utf-8", "replace"))
        else:
            match = _LIST.match(item)
            if match is None:
                continue
            name, flags = _unquote(match.group("name")), match.group("flags")
        if b"\\Noselect" not in flags and b"\\NonExistent" not in flags:
            names.append(name)
    return sorted(names)


def _fetch_all(imap: imaplib.IMAP4, folder: str) -> list[StoredMessage]:
    typ, data = imap.select(imap_quote(folder), readonly=True)
    if typ != "OK":
        raise MailboxMissing(f"folder {folder!r} cannot be selected: {data!r}")
    try:
        typ, data = imap.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
        if typ != "OK":
            raise MailServerError(f"FETCH in {folder!r} failed: {data!r}")
        return parse_fetch(data)
    finally:
        imap.close()


# --------------------------------------------------------------------------------------------
# SMTP


@dataclass
class Envelope:
    """One message accepted by `SmtpServer`."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    #: SMTP login used by the client, None without AUTH
    authenticated_as: str | None = None
    #: True if the session was encrypted (STARTTLS or implicit TLS)
    tls: bool = False

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


Stage = Literal["MAIL", "RCPT", "DATA"]


@dataclass
class _Failure:
    stage: Stage
    reply: str
    times: int


@dataclass
class _Rejection:
    address: str
    reply: str
    times: int | None


@dataclass
class _Script:
    failures: list[_Failure] = field(default_factory=list)
    rejections: list[_Rejection] = field(default_factory=list)


class SmtpServer:
    """aiosmtpd on `host`: `port` (plain, STARTTLS offered) and `tls_port` (implicit TLS).

    Accepted messages are delivered to `dovecot` over LMTP, one transaction per recipient, so
    they can be read from the recipients' mailboxes; `received` lists the envelopes.

    AUTH PLAIN and LOGIN accept only `user`/`password` (default ews@ews.test / geheim), also
    without TLS unless ``auth_require_tls``. With ``user=None`` AUTH is not offered. Sending
    without AUTH is allowed unless `require_auth` is set (then "530 5.7.0"); `Envelope`
    records whether and as whom the client authenticated, and whether TLS was used.
    """

    def __init__(self, dovecot: Dovecot | None = None, *, user: str | None = SMTP_USER,
                 password: str | None = SMTP_PASSWORD, starttls: bool = True,
                 implicit_tls: bool = True, auth_require_tls: bool = False,
                 require_auth: bool = False, host: str = HOST,
                 cert_path: Path | None = None, key_path: Path | None = None) -> None:
        self.dovecot = dovecot
        self.user, self.password = user, password
        self.host = host
        self.require_auth = self._default_require_auth = require_auth
        self._starttls, self._implicit_tls = starttls, implicit_tls
        self._auth_require_tls = auth_require_tls
        self.cert_path, self.key_path = cert_path, key_path
        self.port = 0
        self.tls_port: int | None = None
        self.received: list[Envelope] = []
        #: exceptions of failed LMTP deliveries (the client got 451)
        self.delivery_errors: list[BaseException] = []
        self._script = _Script()
        self._lock = threading.Condition()
        self._controllers: list[Any] = []
        self._tmp: Path | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> SmtpServer:
        from aiosmtpd.controller import Controller

        logging.getLogger("mail.log").addFilter(_quiet_aiosmtpd)
        context = None
        if self._starttls or self._implicit_tls:
            if self.cert_path is None and self.dovecot is not None:
                self.cert_path, self.key_path = self.dovecot.cert_path, self.dovecot.key_path
            if self.cert_path is None or self.key_path is None:
                self._tmp = Path(tempfile.mkdtemp(prefix="ews-smtp-"))
                self.cert_path, self.key_path = make_certificate(self._tmp, "smtp")
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(self.cert_path), str(self.key_path))
        common: dict[str, Any] = {
            "hostname": self.host, "ready_timeout": timeout, "server_hostname": "smtp.ews.test",
            "authenticator": self._authenticate, "auth_require_tls": self._auth_require_tls,
            "timeout": 60,
        }
        try:
            self.port = free_port(self.host)
            plain = Controller(_Handler(self), port=self.port,
                               tls_context=context if self._starttls else None, **common)
            self._controllers.append(plain)
            plain.start()
            if self._implicit_tls:
                self.tls_port = free_port(self.host)
                implicit = Controller(_Handler(self), port=self.tls_port, ssl_context=context,
                                      **common)
                self._controllers.append(implicit)
                implicit.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stops the controllers; each stop is bounded by `timeout` seconds."""
        controllers, self._controllers = self._controllers, []
        stuck = []
        for controller in controllers:
            stopper = threading.Thread(target=controller.stop, kwargs={"no_assert": True},
                                       daemon=True)
            stopper.start()
            stopper.join(timeout)
            if stopper.is_alive():
                stuck.append(controller.port)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        if stuck:
            raise MailServerError(f"SMTP server on port(s) {stuck} did not stop in {timeout} s")

    def __enter__(self) -> SmtpServer:
        return self.start() if not self._controllers else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting -----------------------------------------------------------------------

    def fail_next(self, code: int = 451, message: str = "4.3.0 Bitte später erneut versuchen",
                  times: int = 1, stage: Stage = "DATA") -> None:
        """The next `times` commands of `stage` (MAIL, RCPT or DATA) get this reply.

        smtplib raises SMTPSenderRefused (MAIL), SMTPRecipientsRefused (RCPT, all refused) or
        SMTPDataError (DATA). With 421 the server also closes the connection."""
        if stage not in ("MAIL", "RCPT", "DATA"):
            raise ValueError(f"unknown stage {stage!r}")
        with self._lock:
            self._script.failures.append(_Failure(stage, f"{code} {message}", times))

    def reject_recipient(self, address: str, code: int = 550,
                         message: str = "5.1.1 Unbekannter Empfänger",
                         times: int | None = None) -> None:
        """RCPT TO `address` (case-insensitive) is refused, `times` times or until `reset`."""
        with self._lock:
            self._script.rejections.append(_Rejection(address.lower(), f"{code} {message}", times))

    def reset(self) -> None:
        """Forgets scripted failures, rejections and received envelopes."""
        with self._lock:
            self._script = _Script()
            self.received.clear()
            self.delivery_errors.clear()
            self.require_auth = self._default_require_auth

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Envelope]:
        """Waits until at least `count` envelopes were accepted; returns a copy of all."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.received) >= count, timeout):
                raise TimeoutError(f"{len(self.received)} of {count} messages after {timeout} s")
            return list(self.received)

    def client(self, *, tls: Literal["plain", "starttls", "implicit"] = "plain",
               login: bool = True, timeout: float = 10.0) -> smtplib.SMTP:
        """An smtplib client for this server (certificate verified), for tests of the tests."""
        context = ssl.create_default_context(cafile=str(self.cert_path)) if self.cert_path else None
        client: smtplib.SMTP
        if tls == "implicit":
            assert self.tls_port is not None, "implicit TLS is disabled"
            client = smtplib.SMTP_SSL(self.host, self.tls_port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=timeout)
            if tls == "starttls":
                client.starttls(context=context)
        if login and self.user is not None and self.password is not None:
            client.login(self.user, self.password)
        return client

    # -- called by _Handler in the server thread ---------------------------------------

    def _take_failure(self, stage: Stage) -> str | None:
        with self._lock:
            for failure in self._script.failures:
                if failure.stage == stage:
                    failure.times -= 1
                    if failure.times <= 0:
                        self._script.failures.remove(failure)
                    return failure.reply
        return None

    def _take_rejection(self, address: str) -> str | None:
        with self._lock:
            for rejection in self._script.rejections:
                if rejection.address == address.lower():
                    if rejection.times is not None:
                        rejection.times -= 1
                        if rejection.times <= 0:
                            self._script.rejections.remove(rejection)
                    return rejection.reply
        return None

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if self.user is not None and isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace")
            password = auth_data.password.decode("utf-8", "replace")
            if login == self.user and password == self.password:
                return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)

    def _deliver(self, envelope: Envelope) -> None:
        if self.dovecot is not None:
            self.dovecot.deliver(envelope.raw, envelope.rcpt_tos, envelope.mail_from)

    def _accept(self, envelope: Envelope) -> None:
        with self._lock:
            self.received.append(envelope)
            self._lock.notify_all()


def _quiet_aiosmtpd(record: logging.LogRecord) -> bool:
    # aiosmtpd 1.4 warns about its own use of a deprecated attribute on every AUTH
    return "login_data is deprecated" not in record.getMessage()


def _close_soon(server: Any, reply: str) -> None:
    if reply.startswith("421") and server.transport is not None:
        server.loop.call_soon(server.transport.close)


class _Handler:
    """aiosmtpd handler; all state lives in the owning SmtpServer."""

    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        session.host_name = hostname
        if self.owner.user is None:
            responses = [r for r in responses if not r[4:].startswith("AUTH")]
        return responses

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          mail_options: list[str]) -> str:
        if self.owner.require_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        reply = self.owner._take_failure("MAIL")
        if reply is not None:
            _close_soon(server, reply)
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        reply = self.owner._take_rejection(address) or self.owner._take_failure("RCPT")
        if reply is not None:
            _close_soon(server, reply)
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import asyncio

        reply = self.owner._take_failure("DATA")
        if reply is not None:
            _close_soon(server, reply)
            return reply
        raw = envelope.original_content or envelope.content
        transport = server.transport
        accepted = Envelope(
            mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos),
            raw=raw if isinstance(raw, bytes) else raw.encode("utf-8"),
            authenticated_as=session.auth_data if session.authenticated else None,
            tls=transport is not None and transport.get_extra_info("ssl_object") is not None,
        )
        try:
            await asyncio.to_thread(self.owner._deliver, accepted)
        except Exception as error:
            with self.owner._lock:
                self.owner.delivery_errors.append(error)
            return "451 4.3.0 Zustellung an den Test-Dovecot fehlgeschlagen"
        self.owner._accept(accepted)
        return "250 2.0.0 OK"


@dataclass
class MailServers:
    """What the ``mail`` fixture returns: the session's Dovecot and SMTP server, reset."""

    dovecot: Dovecot
    smtp: SmtpServer

    def reset(self) -> None:
        self.smtp.reset()
        self.dovecot.reset()


# --------------------------------------------------------------------------------------------
# TCP proxy


class _Connection:
    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client, self.server = client, server
        self.closed = threading.Event()
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def close(self, abrupt: bool = True) -> None:
        with self.lock:
            if self.closed.is_set():
                return
            self.closed.set()
            for sock in (self.client, self.server):
                with contextlib.suppress(OSError):
                    if abrupt:  # RST instead of FIN
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        struct.pack("ii", 1, 0))
                    else:
                        sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()


class CuttingProxy:
    """TCP proxy ``host:port`` -> ``target_host:target_port`` that can break connections.

    Disarmed it forwards everything. `cut_after(n)`: the first connection that forwards `n`
    more bytes from the server to the client (counted from arming) is reset (RST on both
    sides) right after exactly `n` bytes; then the proxy is disarmed again, so a fresh
    connection works. `stall_after(n)`: likewise, but the connection stays open and silent
    (for client timeouts). `cut_all()` resets all current connections. Every socket has a
    timeout, threads are daemons and end with `close()`.
    """

    def __init__(self, target_port: int, target_host: str = HOST, *, host: str = HOST,
                 timeout: float = 30.0) -> None:
        self.target = (target_host, target_port)
        self.host = host
        self.timeout = timeout
        self.port = 0
        self.cuts = 0
        self._listener: socket.socket | None = None
        self._connections: set[_Connection] = set()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._arm: tuple[str, int, dict[_Connection, int]] | None = None
        self._accept_thread: threading.Thread | None = None

    def start(self) -> CuttingProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, 0))
        listener.listen(16)
        listener.settimeout(0.2)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True,
                                               name=f"proxy-accept-{self.port}")
        self._accept_thread.start()
        return self

    def __enter__(self) -> CuttingProxy:
        return self.start() if self._listener is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cut_after(self, server_bytes: int) -> None:
        """Reset the first connection that forwards `server_bytes` more server->client bytes."""
        with self._lock:
            self._arm = ("cut", server_bytes, {})

    def stall_after(self, server_bytes: int) -> None:
        """Like `cut_after`, but the connection then stays open and forwards nothing more."""
        with self._lock:
            self._arm = ("stall", server_bytes, {})

    def disarm(self) -> None:
        with self._lock:
            self._arm = None

    def cut_all(self) -> None:
        """Resets every current connection now."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.close()

    @property
    def connection_count(self) -> int:
        with self._lock:
            return len(self._connections)

    def close(self, timeout: float = 5.0) -> None:
        self._closing.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept() on Linux
            with contextlib.suppress(OSError):
                self._listener.close()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout)
        threads = []
        with self._lock:
            for connection in self._connections:
                threads.extend(connection.threads)
        self.cut_all()
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    # -- threads -------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=self.timeout)
            except OSError:
                client.close()
                continue
            client.settimeout(self.timeout)
            connection = _Connection(client, server)
            with self._lock:
                self._connections.add(connection)
            for source, sink, upstream in ((client, server, True), (server, client, False)):
                thread = threading.Thread(target=self._pump, daemon=True,
                                          args=(connection, source, sink, upstream))
                connection.threads.append(thread)
                thread.start()

    def _budget(self, connection: _Connection) -> tuple[str, int] | None:
        with self._lock:
            if self._arm is None:
                return None
            mode, limit, used = self._arm
            return mode, limit - used.setdefault(connection, 0)

    def _spend(self, connection: _Connection, count: int) -> None:
        with self._lock:
            if self._arm is not None:
                self._arm[2][connection] = self._arm[2].get(connection, 0) + count

    def _pump(self, connection: _Connection, source: socket.socket, sink: socket.socket,
              upstream: bool) -> None:
        try:
            while not connection.closed.is_set() and not self._closing.is_set():
                try:
                    readable, _, _ = select.select([source], [], [], 0.2)
                except (OSError, ValueError):
                    break
                if not readable:
                    continue
                data = source.recv(65536)
                if not data:
                    break
                budget = None if upstream else self._budget(connection)
                if budget is not None and len(data) >= budget[1]:
                    mode, remaining = budget
                    if remaining > 0:
                        sink.sendall(data[:remaining])
                    with self._lock:
                        self._arm = None
                        self.cuts += 1
                    if mode == "cut":
                        break
                    connection.closed.wait()  # stalled until the client gives up or close()
                    return
                sink.sendall(data)
                if budget is not None:
                    self._spend(connection, len(data))
        except OSError:
            pass
        finally:
            connection.close()
            with self._lock:
                self._connections.discard(connection)
