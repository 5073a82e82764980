"""A warm LibreOffice for PDF/A: one soffice listener per process, kept running between batches
and driven through ``uno_bridge`` under Debian's python3 (adapter: processes, a loopback
socket, files).

A cold ``soffice --convert-to`` costs about a second a start; the listener converts a letter
in a fraction of that. It runs contained like every child (``ews.runtime.child_processes``:
own process group, memory and CPU limits, a minimal environment, dies with the service) with
its own profile, listens on 127.0.0.1 only, on a free port, and is restarted after
``restart_after`` documents and after any error or timeout. The wall-clock limit of one
request is the same as that of one cold soffice batch. When it cannot start (no
``python3-uno``, no soffice) or dies, ``ListenerDown`` tells the caller to take the cold path;
after a failed start it is not tried again for ``RETRY_SECONDS``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from ews.runtime.child_processes import (
    ChildLimits,
    kill_group,
    launcher_command,
    minimal_environment,
)

BRIDGE = Path(__file__).with_name("uno_bridge.py")
#: a fresh profile takes LibreOffice a few seconds; more on a loaded machine
START_SECONDS = 90.0
#: after a failed start, the cold path only, for this long
RETRY_SECONDS = 60.0
#: a graceful end (profile written) before the group is killed
STOP_SECONDS = 10.0


class ListenerDown(Exception):
    """The warm listener is not there (not installed, not started, died): use the cold path."""


class ListenerTimeout(Exception):
    """A request ran over its wall-clock limit; the listener was killed."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class WarmListener:
    """One soffice listener with its own profile (``profile_dir``), used by one batch at a
    time. ``run`` has the signature of the cold runner of ``ews.letters.pdfa``."""

    def __init__(self, *, soffice: str, python: str, profile_dir: Path, timeout: float,
                 restart_after: int, batch_size: int) -> None:
        self.soffice, self.python, self.profile_dir = soffice, python, profile_dir
        self.timeout, self.restart_after = timeout, restart_after
        # every batch of ``batch_size`` gets the CPU a cold soffice would get for it
        cpu = math.ceil(timeout) * max(1, math.ceil(restart_after / batch_size))
        self.limits = ChildLimits(data_mb=1024, file_mb=512, open_files=1024, cpu_seconds=cpu)
        self.starts = 0  # how often a listener was started (the tests and the bench read it)
        self._use = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._converted = 0
        self._failed_at: float | None = None
        self._home: tempfile.TemporaryDirectory[str] | None = None

    def run(self, sources: Sequence[Path], out_dir: Path) -> str | None:
        """Converts ``sources`` into ``out_dir``; returns a German problem or ``None``.
        Raises ``ListenerDown`` (nothing converted: take the cold path) and
        ``ListenerTimeout``."""
        if not self._use.acquire(blocking=False):
            raise ListenerDown("der warme LibreOffice-Dienst ist belegt")
        try:
            return self._run(sources, out_dir)
        finally:
            self._use.release()

    def stop(self, *, wipe: bool = True) -> None:
        """Ends the listener (graceful, then its whole group is killed; bounded) and removes
        its profile unless ``wipe`` is False."""
        self._release(graceful=True, wipe=wipe)

    def pid(self) -> int | None:
        """The process id of the listener's supervisor while it runs (tests kill it)."""
        return self._process.pid if self._process is not None else None

    def _run(self, sources: Sequence[Path], out_dir: Path) -> str | None:
        process = self._ensure_started()
        request = {"sources": [str(source) for source in sources], "out_dir": str(out_dir)}
        try:
            assert process.stdin is not None
            process.stdin.write(json.dumps(request).encode() + b"\n")
            process.stdin.flush()
            answer = _read_line(process, self.timeout)
        except TimeoutError:
            self._kill(wipe=True)
            raise ListenerTimeout(
                f"LibreOffice hat das Zeitlimit von {self.timeout:g} s überschritten") from None
        except (OSError, ValueError) as exc:  # died: a broken pipe, end of output
            self._kill(wipe=True)
            raise ListenerDown(f"der warme LibreOffice-Dienst ist ausgefallen ({exc})") from None
        errors = answer.get("errors")
        if not isinstance(errors, dict):
            self._kill(wipe=True)
            raise ListenerDown("der warme LibreOffice-Dienst antwortet unverständlich")
        self._converted += len(sources)
        if errors:
            self._kill(wipe=False)  # restart after any error
            return "LibreOffice meldet: " + "; ".join(sorted(set(errors.values())))
        if self._converted >= self.restart_after:
            self.stop(wipe=False)  # the profile stays for the next start
        return None

    def _ensure_started(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        if self._process is not None:
            self._kill(wipe=True)  # died since the last request
        if self._failed_at is not None and time.monotonic() - self._failed_at < RETRY_SECONDS:
            raise ListenerDown("der warme LibreOffice-Dienst startete zuletzt nicht")
        try:
            self._process = self._start()
        except (OSError, ValueError, TimeoutError) as exc:
            self._failed_at = time.monotonic()
            self._kill(wipe=True)
            raise ListenerDown(f"der warme LibreOffice-Dienst startet nicht ({exc})") from None
        self._failed_at = None
        return self._process

    def _start(self) -> subprocess.Popen[bytes]:
        soffice = shutil.which(self.soffice)
        if soffice is None or not Path(self.python).is_file():
            raise OSError(f"nicht gefunden: {self.soffice if soffice is None else self.python}")
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        self._home = tempfile.TemporaryDirectory(prefix="ews-kind-")
        command = launcher_command([self.python, "-I", str(BRIDGE), soffice,
                                    self.profile_dir.absolute().as_uri(), str(free_port())],
                                   self.limits, self.timeout)
        process = _spawn_kept(command, minimal_environment(Path(self._home.name)))
        self._process = process
        self.starts += 1
        if _read_line(process, START_SECONDS).get("ready") is not True:
            raise ValueError("keine Bereitmeldung")
        return process

    def _kill(self, *, wipe: bool) -> None:
        self._release(graceful=False, wipe=wipe)

    def _release(self, *, graceful: bool, wipe: bool) -> None:
        """Ends the listener (``graceful``: first lets the bridge close soffice) and its
        temporary home; removes its profile when ``wipe``."""
        process, self._process = self._process, None
        self._converted = 0
        if process is not None:
            if graceful:
                _end_input(process)
            kill_group(process)
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        if self._home is not None:
            self._home.cleanup()
            self._home = None
        if wipe:  # a profile of a crashed or killed LibreOffice may be broken
            shutil.rmtree(self.profile_dir, ignore_errors=True)


def _spawn_kept(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Starts ``command`` from a thread that lives as long as the process: the kernel's death
    signal of the supervisor follows the starting thread, and a batch's thread may end."""
    started: list[subprocess.Popen[bytes] | OSError] = []
    ready = threading.Event()

    def keep() -> None:
        try:
            process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL, env=env,
                                       start_new_session=True)
        except OSError as exc:
            started.append(exc)
            ready.set()
            return
        started.append(process)
        ready.set()
        process.wait()

    threading.Thread(target=keep, name="pdfa-dienst", daemon=True).start()
    ready.wait()
    if isinstance(started[0], OSError):
        raise started[0]
    return started[0]


def _read_line(process: subprocess.Popen[bytes], timeout: float) -> dict[str, object]:
    """The next JSON line of the bridge within ``timeout`` seconds."""
    assert process.stdout is not None
    descriptor, data, deadline = process.stdout.fileno(), b"", time.monotonic() + timeout
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"keine Antwort in {timeout:g} s")
        readable, _, _ = select.select([descriptor], [], [], left)
        if readable:
            chunk = os.read(descriptor, 65536)
            if not chunk:
                raise ValueError("der Dienst hat sich beendet")
            data += chunk
    answer = json.loads(data)
    if not isinstance(answer, dict):
        raise ValueError("unerwartete Antwort")
    return answer


def _end_input(process: subprocess.Popen[bytes]) -> None:
    """Graceful: end of input lets the bridge close soffice (bounded wait)."""
    try:
        if process.stdin is not None:
            process.stdin.close()
        process.wait(timeout=STOP_SECONDS)
    except (OSError, subprocess.TimeoutExpired):
        pass
