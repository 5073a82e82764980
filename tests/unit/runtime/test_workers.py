"""The worker pool's rules without processes: what a worker drops of the environment, and how
a job's end becomes a result or a German reason (``workers.outcome``)."""

from __future__ import annotations

import errno
import signal
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import pebble
import pytest

from ews.runtime import workers


def ended(*, result: object = None, error: BaseException | None = None) -> Any:
    future: Future[object] = Future()
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)
    return future


def test_a_worker_keeps_no_setting_and_no_secret_of_the_service() -> None:
    environ = {"EWS_DB_URL": "postgresql://u:p@h/db", "PREFECT_API_KEY": "k",
               "SMTP_PASSWORD": "s", "ldap_passwd": "s", "ews_lower": "x", "PATH": "/bin",
               "HOME": "/root", "LANG": "de_DE.UTF-8"}

    workers._drop_secrets(environ)

    assert environ == {"PATH": "/bin", "HOME": "/root", "LANG": "de_DE.UTF-8"}


def test_a_job_that_ended_gives_its_result() -> None:
    assert workers.outcome(ended(result=[1, 2]), 5) == [1, 2]


@pytest.mark.parametrize(("error", "reason"), [
    (FutureTimeout(), "Die Verarbeitung dauerte länger als 30 Sekunden und wurde abgebrochen."),
    (MemoryError(), "Die Datei benötigt beim Lesen mehr Arbeitsspeicher als erlaubt "
                    "(z. B. extrem stark komprimierte Inhalte)."),
    (pebble.ProcessExpired("Abnormal termination", code=-signal.SIGXCPU),
     "Die Verarbeitung brauchte mehr Rechenzeit als erlaubt (30 Sekunden) und wurde "
     "abgebrochen."),
    (pebble.ProcessExpired("Abnormal termination", code=-signal.SIGKILL),
     "Der Leseprozess wurde unerwartet beendet (Abnormal termination)."),
    (OSError(errno.EFBIG, "File too large"),
     "Die Verarbeitung hätte eine Datei über der erlaubten Größe geschrieben und wurde "
     "abgebrochen."),
])
def test_a_job_that_hit_a_limit_fails_with_a_german_reason(error: BaseException,
                                                           reason: str) -> None:
    failed = workers.outcome(ended(error=error), 30)

    assert isinstance(failed, workers.WorkerFailed)
    assert failed.reason == reason == str(failed)


@pytest.mark.parametrize("error", [ValueError("the job's own"), OSError(errno.ENOSPC, "full")])
def test_an_error_of_the_job_itself_propagates(error: BaseException) -> None:
    with pytest.raises(type(error)):
        workers.outcome(ended(error=error), 30)
