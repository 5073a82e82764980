"""The first process of every child run by ``ews.runtime.child_processes``: it stays with the
program
as a small supervisor so that nothing of the program outlives the process that started it
(I/O: processes and signals).

Run as ``python -I -S child_launcher.py PARENT_PID [LIMIT=VALUE ...] -- PROGRAM [ARG ...]``,
as the leader of a new session. It imports nothing but the standard library (``-S``: no site
packages), because it runs before the program on every call.

1. It asks the kernel for SIGTERM when its parent dies (``PR_SET_PDEATHSIG``) and, on that
   signal, kills its whole process group with SIGKILL: the program and anything it started
   (soffice's ``oosplash`` starts ``soffice.bin``; a death signal alone would reach only the
   direct child). If the parent is already gone, it does the same at once.
2. It forks the program. The program's process also dies with the supervisor
   (``PR_SET_PDEATHSIG`` SIGKILL), gets the default disposition for every signal (the pool
   workers ignore SIGINT and SIGTERM, Python ignores SIGPIPE and SIGXFSZ; all of that would
   otherwise be inherited), then its resource limits, then ``exec``.
3. It exits the way the program did: the same exit code, or killed by the same signal, so
   the caller sees SIGXCPU or SIGXFSZ as if it had started the program itself.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys

# No ``typing`` import (about 15 ms of every start): functions that never return say ``None``.

_PR_SET_PDEATHSIG = 1
_LIMITS = {
    "cpu": resource.RLIMIT_CPU,
    "as": resource.RLIMIT_AS,
    "data": resource.RLIMIT_DATA,
    "fsize": resource.RLIMIT_FSIZE,
    "nofile": resource.RLIMIT_NOFILE,
    "core": resource.RLIMIT_CORE,
}
#: RLIMIT_CPU: SIGXCPU at the soft limit, SIGKILL this many seconds later if it is ignored
_CPU_GRACE = 2
_EXEC_FAILED = 127


def main(argv: list[str]) -> None:
    parent, limits, command = _parsed(argv)
    if os.getpgrp() != os.getpid():  # the group it kills must be its own, never the caller's
        os.setsid()
    signal.signal(signal.SIGTERM, _kill_group)
    _die_with_parent(signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the death signal was armed
        _kill_group()
    supervisor = os.getpid()
    child = os.fork()
    if child == 0:
        _exec_limited(command, limits, supervisor)
    _exit_like(_status_of(child))


def _parsed(argv: list[str]) -> tuple[int, dict[int, int], list[str]]:
    separator = argv.index("--")
    limits = {}
    for item in argv[1:separator]:
        name, _, value = item.partition("=")
        limits[_LIMITS[name]] = int(value)
    command = argv[separator + 1 :]
    if not command:
        raise SystemExit("child_launcher: no program given")
    return int(argv[0]), limits, command


def _die_with_parent(signum: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def _kill_group(*_: object) -> None:
    os.killpg(0, signal.SIGKILL)  # includes this process
    os._exit(128 + signal.SIGKILL)  # not reached


def _exec_limited(command: list[str], limits: dict[int, int], supervisor: int) -> None:
    """In the forked child: die with the supervisor, default signals, limits, exec."""
    try:
        _die_with_parent(signal.SIGKILL)
        if os.getppid() != supervisor:
            os._exit(_EXEC_FAILED)
        for signum in signal.valid_signals():
            if signum not in (signal.SIGKILL, signal.SIGSTOP):
                signal.signal(signum, signal.SIG_DFL)
        for kind, value in limits.items():
            _set_limit(kind, value)
        os.execv(command[0], command)
    except BaseException as exc:  # nothing may return into the supervisor's code
        os.write(2, f"child_launcher: {command[0]}: {exc}\n".encode(errors="replace"))
    os._exit(_EXEC_FAILED)


def _set_limit(kind: int, value: int) -> None:
    """Lower a limit to ``value``; never above the hard limit this process inherited."""
    _, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    soft_hard = (value, value)
    if kind == resource.RLIMIT_CPU:
        grace = value + _CPU_GRACE
        soft_hard = (value, grace if hard == resource.RLIM_INFINITY else min(grace, hard))
    resource.setrlimit(kind, soft_hard)


def _status_of(child: int) -> int:
    while True:
        try:
            pid, status = os.waitpid(child, 0)
        except ChildProcessError:
            return _EXEC_FAILED << 8
        if pid == child and not os.WIFSTOPPED(status):
            return status


def _exit_like(status: int) -> None:
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # the program's dump, not ours
        if signum not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        os._exit(128 + signum)  # a signal whose default is to be ignored
    os._exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main(sys.argv[1:])
