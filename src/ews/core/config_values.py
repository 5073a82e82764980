"""Checked values of the office's config files (``config/*.toml``) and the German words for
what is wrong in one (pure)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, ValidationError
from pydantic_core import ErrorDetails

_CLOCK = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")  # ASCII digits, whole value


def _clock_time(value: str) -> str:
    if not _CLOCK.fullmatch(value):
        raise ValueError("die Uhrzeit muss die Form HH:MM haben, z. B. 09:00 oder 14:30")
    return value


#: a time of day (``uhrzeit = "09:00"``, Europe/Berlin), checked on reading
ClockTime = Annotated[str, AfterValidator(_clock_time)]

_MESSAGES = {
    "int_parsing": "eine ganze Zahl wird erwartet",
    "int_type": "eine ganze Zahl wird erwartet",
    "int_from_float": "eine ganze Zahl wird erwartet",
    "bool_parsing": "true oder false wird erwartet",
    "bool_type": "true oder false wird erwartet",
    "string_type": "ein Text in Anführungszeichen wird erwartet",
    "string_pattern_mismatch": "die Schreibweise ist nicht zulässig",
    "greater_than_equal": "die Zahl ist zu klein",
    "less_than_equal": "die Zahl ist zu groß",
    "extra_forbidden": "unbekannter Eintrag",
    "missing": "fehlt",
    "date_parsing": "ein Datum wie 2027-06-30 wird erwartet",
    "date_from_datetime_parsing": "ein Datum wie 2027-06-30 wird erwartet",
    "date_type": "ein Datum wie 2027-06-30 wird erwartet",
    "model_type": "ein Abschnitt [..] wird erwartet",
    "dict_type": "ein Abschnitt [..] wird erwartet",
}


def german_errors(exc: ValidationError, *, whole: str = "Datei") -> str:
    """Every finding of ``exc`` as one German sentence part each, joined by semicolons:
    where („abschnitt.eintrag“), what is wrong, and what was found."""
    return "; ".join(_german(error, whole) for error in exc.errors())


def _german(error: ErrorDetails, whole: str) -> str:
    where = ".".join(str(part) for part in error["loc"]) or whole
    if error["type"] == "value_error":  # our validators' own German sentence
        text = str(error.get("ctx", {}).get("error", "ungültiger Wert"))
    else:
        text = _MESSAGES.get(error["type"], "ungültiger Wert")
    return f"„{where}“: {text} (gefunden: {error.get('input')!r})"
