"""Run an external program on untrusted input, contained (I/O: processes, a temporary folder).

``run_contained`` starts the program in its own session (so its process group is the whole
program, whatever it forks), with resource limits, with a minimal environment and a private
``HOME``/``TMPDIR``, and with a wall-clock timeout after which the whole group is killed
(SIGKILL) and reaped. When the call returns or raises, no process of the group is left. When
the calling process dies (a pool worker killed on its timeout), the group dies with it.

The environment is ``PATH``, ``LANG``/``LC_ALL`` (``C.UTF-8``), ``HOME``, ``TMPDIR`` and
``OMP_THREAD_LIMIT=1`` (tesseract's OpenMP is about three times slower on small machines)
and nothing else: no ``EWS_*``, no ``PREFECT_*``, no passwords. A parser tricked by a hostile
PDF finds nothing worth sending anywhere.

How the child is set up, and why this way:

- Limits and the death signal must be set inside the child, before ``exec``. Python's
  ``preexec_fn`` does that, but it is not safe when the parent has threads (the child may
  deadlock on a lock another thread held at ``fork``), and soffice conversions also run in the
  service's main process, which has Prefect's threads. ``preexec_fn`` also forces a plain
  ``fork`` of a large parent instead of ``vfork``.
- ``prlimit`` and ``setpriv --pdeathsig`` (util-linux) set limits and the death signal without
  ``preexec_fn`` (6–8 ms a start instead of 50–80 ms for Python, on the loaded 2-core machine),
  but a death signal only reaches the direct child: measured, ``soffice.bin`` (started by
  ``oosplash``) kept running after its parent was killed.
- So the child is a small supervisor, ``ews.runtime.child_launcher``, run with ``python -I -S``: it
  kills its whole group when its parent dies, starts the program with limits and the death
  signal, and exits like the program did. It costs one Python start per program (measured
  50–80 ms under load; pdftoppm takes about 0.4 s and tesseract 0.7 s a page, soffice 1 s).
  The kernel's death signal follows the *thread* that started the child; ``run_contained``
  waits in that thread until the group is gone, so a thread ending cannot trigger it early.
- A process that calls ``setsid`` itself leaves the group; none of our tools does. A control
  group per child would close that too, but needs privileges the service does not have.

``RLIMIT_NPROC`` is not used: it counts every process of the user, not of the group, so a low
value would break the service itself (and it does not apply to root). Core dumps are off
(``RLIMIT_CORE`` 0): a crash on a hostile file must not fill the disk.

Errors: ``ChildTimeout`` (the wall-clock limit; German ``reason``); ``FileNotFoundError`` when
the program is not installed. A limit the program hit is no error: ``ChildResult.limit_reason``
says which, in German.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: where the contained program looks for the programs it starts itself
CHILD_PATH = "/usr/local/bin:/usr/bin:/bin"
_LAUNCHER = Path(__file__).with_name("child_launcher.py")
#: after SIGKILL, this long for the pipes to close (a process outside the group may hold them)
_REAP_SECONDS = 10.0
_MB = 1024 * 1024


@dataclass(frozen=True)
class ChildLimits:
    """Resource limits of a contained program; ``None`` keeps what the caller has.

    ``cpu_seconds`` ``None`` means: as many as the wall-clock timeout (single-threaded tools).
    """

    address_space_mb: int | None = None
    data_mb: int | None = None
    file_mb: int | None = 64
    open_files: int | None = 256
    cpu_seconds: int | None = None

    def launcher_args(self, timeout: float) -> list[str]:
        cpu = self.cpu_seconds if self.cpu_seconds is not None else math.ceil(timeout)
        values = {
            "cpu": cpu,
            "as": _bytes(self.address_space_mb),
            "data": _bytes(self.data_mb),
            "fsize": _bytes(self.file_mb),
            "nofile": self.open_files,
            "core": 0,
        }
        return [f"{name}={value}" for name, value in values.items() if value is not None]


def _bytes(megabytes: int | None) -> int | None:
    return None if megabytes is None else megabytes * _MB


@dataclass(frozen=True)
class ChildResult:
    """How a contained program ended: its exit code (negative: killed by that signal)."""

    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def limit_reason(self) -> str | None:
        """German: which limit stopped the program, or ``None`` when none did."""
        return _LIMIT_REASONS.get(-self.returncode)


_LIMIT_REASONS: dict[int, str] = {
    signal.SIGXCPU: "Das Programm hat die erlaubte Rechenzeit überschritten.",
    signal.SIGXFSZ: "Das Programm wollte eine Datei über der erlaubten Größe schreiben.",
    signal.SIGKILL: "Das Programm wurde beendet (Rechenzeit- oder Speicherlimit).",
}


class ChildTimeout(Exception):
    """The program ran longer than its wall-clock timeout; its process group was killed."""

    def __init__(self, program: str, timeout: float) -> None:
        self.reason = (
            f"Das Programm {Path(program).name} lief länger als {timeout:g} s "
            "und wurde abgebrochen."
        )
        super().__init__(self.reason)


def minimal_environment(home: Path) -> dict[str, str]:
    """The whole environment of a contained program."""
    return {
        "PATH": CHILD_PATH,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": str(home),
        "TMPDIR": str(home),
        "OMP_THREAD_LIMIT": "1",
    }


def run_contained(
    command: Sequence[str], *, limits: ChildLimits, timeout: float, cwd: Path | None = None
) -> ChildResult:
    """Run ``command`` contained (see the module docstring) and return how it ended.

    Raises ``FileNotFoundError`` when the program is not installed and ``ChildTimeout``
    after ``timeout`` seconds.
    """
    program = shutil.which(command[0])
    if program is None:
        raise FileNotFoundError(f"Programm nicht gefunden: {command[0]}")
    with tempfile.TemporaryDirectory(prefix="ews-kind-") as private:
        process = subprocess.Popen(
            launcher_command([program, *command[1:]], limits, timeout),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=minimal_environment(Path(private)),
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ChildTimeout(program, timeout) from None
        finally:
            kill_group(process)
    return ChildResult(process.returncode, stdout, stderr)


def launcher_command(command: Sequence[str], limits: ChildLimits, timeout: float) -> list[str]:
    """``command`` under the supervisor (``child_launcher``) with ``limits``; run it with
    ``start_new_session=True`` and ``minimal_environment`` as ``run_contained`` does."""
    return [sys.executable, "-I", "-S", str(_LAUNCHER), str(os.getpid()),
            *limits.launcher_args(timeout), "--", *command]


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the process group ``process`` leads (started with ``start_new_session``),
    then reap it; bounded even when a process outside the group holds its pipes."""
    with contextlib.suppress(ProcessLookupError):
        # also after the leader ended: the kernel keeps a group id from reuse while any
        # member lives, and a straggler may still hold the output pipes or a file
        os.killpg(process.pid, signal.SIGKILL)
    if process.returncode is not None:
        return
    try:
        process.communicate(timeout=_REAP_SECONDS)
    except subprocess.TimeoutExpired:
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        process.wait()
