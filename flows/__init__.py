"""Prefect flows and the command line: the composition root of the service.

Importing this package builds no settings and creates no folder. Prefect reads its own
settings when it is first imported, so every entry point (the ``ews`` command line, the
bench) calls ``prepare_prefect_environment`` before anything imports Prefect: a Prefect home
inside the data folder (one installation, one folder), no analytics (there is no internet),
and the auth string of the Prefect API.

Flows take no settings as parameters: whoever can reach the Prefect API could otherwise
send the worker's passwords to a server of their choosing. Each flow builds its settings
from the environment and ``config/ews.env`` of the process it runs in (``service_settings``).
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ews.runtime.redaction import redact_exception, redact_logging, secret_values
from ews.runtime.settings import PREFECT_SERVER_ENVIRONMENT, Settings

F = TypeVar("F", bound=Callable[..., Any])
#: the secrets of the settings this process built last (see ``redacted``)
_secrets: list[str] = []


def prepare_prefect_environment(settings: Settings) -> None:
    """Prefect's environment for this process; call before Prefect is imported."""
    home = Path(os.environ.setdefault("PREFECT_HOME",
                                      str((settings.data_dir / "prefect").resolve())))
    home.mkdir(parents=True, exist_ok=True)  # Prefect creates only the last level itself
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_UI_ENABLED", "true")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_BATCH_INTERVAL", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    for name, value in PREFECT_SERVER_ENVIRONMENT.items():  # a server started from here
        os.environ.setdefault(name, value)
    auth = auth_string(settings)
    if auth:
        os.environ.setdefault("PREFECT_API_AUTH_STRING", auth)


def auth_string(settings: Settings) -> str | None:
    """The Prefect API's "user:password" from the settings, None when not set."""
    secret = settings.prefect.auth_string
    return (secret.get_secret_value().strip() or None) if secret is not None else None


def service_settings() -> Settings:
    """The settings of this process (environment and ``config/ews.env``); from here on
    its log records and the errors of functions marked ``redacted`` hold none of their
    secrets."""
    settings = Settings()
    _secrets[:] = secret_values(settings)
    redact_logging(_secrets)
    return settings


def redacted(function: F) -> F:
    """Mark a flow or task: an error it raises loses the secrets of ``service_settings``
    from its text before Prefect stores it as the reason of the failed run."""
    if inspect.iscoroutinefunction(function):
        @functools.wraps(function)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            try:
                return await function(*args, **kwargs)
            except Exception as exc:
                redact_exception(exc, _secrets)
                raise

        return _with_signature(run_async, function)

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except Exception as exc:
            redact_exception(exc, _secrets)
            raise

    return _with_signature(run, function)


def _with_signature(wrapper: Callable[..., Any], function: F) -> F:
    """Prefect validates parameters against the annotations, resolved in the namespace of the
    function it is given (the wrapper's, this module): hand it the resolved signature."""
    wrapper.__signature__ = inspect.signature(function, eval_str=True)  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
