"""The worker's side of the cluster's warm start (``flows.warm_start``): the command the
deployments give the process worker, ``python -m ews.runtime.warm_runs``, asks this
machine's warm start process for a copy of itself to run the flow run in, and otherwise
starts the run cold, as ``python -m prefect.engine`` (I/O: a Unix socket, processes).

Only the standard library: the worker starts this command for every flow run, and importing
the service's settings (pydantic) would cost a third of a second of CPU before the request
is even sent. The protocol: one JSON message with the caller's environment, working
directory, module and arguments, and its three standard streams as file descriptors; the
answer ``{"pid": …}`` (the run started) or ``{"cold": reason}``; then ``{"code": …}`` when
the run ended, while the caller sends ``{"signal": …}`` for each signal it gets.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: the socket of this machine's warm start process; unset: every run starts cold
SOCKET_ENV = "EWS_VORSTART_SOCKET"
#: what a run executes (``python -m prefect.engine``)
ENGINE = "prefect.engine"
#: the signals a worker sends a run (cancellation, shutdown), passed on to the run
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
MESSAGE_BYTES = 1 << 20  # the largest message (an environment of 1 MiB)
_CONNECT_SECONDS = 10.0


class ColdStart(Exception):
    """No warm start for this run (German reason); it starts cold."""


def main(argv: list[str] | None = None) -> int:
    """The command a process worker runs for a flow run: warm when the warm start process
    answers, cold (``python -m prefect.engine``) otherwise. ``--modul NAME`` runs another
    module than Prefect's engine (the tests)."""
    args = sys.argv[1:] if argv is None else argv
    module, rest = (args[1], args[2:]) if args[:1] == ["--modul"] else (ENGINE, args)
    path = os.environ.get(SOCKET_ENV)
    if path:
        try:
            return run_warm(Path(path), module, rest)
        except ColdStart as reason:
            print(f"Warmstart nicht möglich ({reason}): der Lauf startet ohne ihn (langsamer).",
                  file=sys.stderr, flush=True)
    os.execv(sys.executable, [sys.executable, "-m", module, *rest])


def run_warm(path: Path, module: str, argv: list[str]) -> int:
    """Have the warm start process run ``module`` for this process; its exit code.

    Raises ``ColdStart`` only while nothing has started yet."""
    request = {"env": dict(os.environ), "cwd": os.getcwd(), "module": module, "argv": argv}
    connection, reply = ask(path, request, fds=[0, 1, 2])
    if "pid" not in reply:
        connection.close()
        raise ColdStart(str(reply.get("cold", "keine Antwort")))
    print(f"Warmstart: Lauf in Prozess {reply['pid']}", file=sys.stderr, flush=True)
    connection.settimeout(None)
    with _forwarding(connection):
        while True:
            message = connection.recv(MESSAGE_BYTES)
            if not message:  # the run's process died without a word (SIGKILL, a crash)
                print(f"Warmstart: Prozess {reply['pid']} endete ohne Rückmeldung",
                      file=sys.stderr, flush=True)
                return 1
            answer = json.loads(message)
            if "code" in answer:
                return int(answer["code"])


@contextlib.contextmanager
def _forwarding(connection: socket.socket) -> Iterator[None]:
    """Pass the worker's signals on to the run (the worker signals only this process)."""
    def forward(number: int, _frame: Any) -> None:
        with contextlib.suppress(OSError):
            connection.send(json.dumps({"signal": number}).encode())

    previous = {number: signal.signal(number, forward) for number in FORWARDED}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def ask(path: Path, message: dict[str, Any], fds: list[int] | None = None
        ) -> tuple[socket.socket, dict[str, Any]]:
    """Send ``message`` (with ``fds``) to the warm start process on ``path``; the open
    connection and its first answer. Raises ``ColdStart`` when it does not answer."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    connection.settimeout(_CONNECT_SECONDS)
    try:
        connection.connect(str(path))
        socket.send_fds(connection, [json.dumps(message).encode()], fds or [])
        answer = json.loads(connection.recv(MESSAGE_BYTES) or b"{}")
    except (FileNotFoundError, ConnectionRefusedError) as error:
        connection.close()
        raise ColdStart(f"kein Warmstart-Prozess an {path}") from error
    except (OSError, ValueError) as error:
        connection.close()
        raise ColdStart(f"Warmstart-Prozess an {path} antwortet nicht richtig ({error})"
                        ) from error
    if not isinstance(answer, dict):
        connection.close()
        raise ColdStart(f"Warmstart-Prozess an {path} antwortet nicht richtig")
    return connection, answer


if __name__ == "__main__":
    sys.exit(main())
