"""A stand-in for ``prefect.engine`` in the tests of the warm start (flows.warm_start): it
reports what it was given and exits as ``PROBE`` asks."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

BOUND_SECONDS = 60  # no probe lives longer than this


def _terminated(_number: int, _frame: Any) -> None:
    marker = os.environ.get("PROBE_MARKER")
    if marker:
        Path(marker).write_text("beendet", encoding="utf-8")
    print("SIGTERM erhalten", flush=True)
    sys.exit(7)


def main() -> None:
    if os.environ.get("PROBE") == "warten":  # before it reports: the tests signal after that
        signal.signal(signal.SIGTERM, _terminated)
    print(json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd(), "pid": os.getpid(),
                      "ppid": os.getppid(), "probe": os.environ.get("PROBE")}), flush=True)
    print("auf stderr", file=sys.stderr, flush=True)
    if os.environ.get("PROBE") == "warten":
        time.sleep(BOUND_SECONDS)
    if os.environ.get("PROBE") == "lesen":  # a reading process, as a pass starts them
        from ews.runtime import workers

        parent = workers.pool(1, 1024).schedule(os.getppid).result(timeout=BOUND_SECONDS)
        print(json.dumps({"worker_parent": parent}), flush=True)
    sys.exit(int(os.environ.get("PROBE_CODE", "0")))


if __name__ == "__main__":
    main()
