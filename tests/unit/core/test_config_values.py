"""Times of day in the config files, and config errors in German words."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from ews.core.config_values import ClockTime, german_errors
from ews.core.errors import PlanError
from ews.operations.backup_plan import read_backup_plan


class _Plan(BaseModel):
    model_config = {"extra": "forbid"}

    uhrzeit: ClockTime = "09:00"
    tage: int = 3
    aktiv: bool = True


@given(st.integers(0, 23), st.integers(0, 59), st.booleans())
def test_every_time_of_day_is_taken(hour: int, minute: int, padded: bool) -> None:
    text = f"{hour:02d}:{minute:02d}" if padded else f"{hour}:{minute:02d}"
    assert _Plan(uhrzeit=text).uhrzeit == text


@pytest.mark.parametrize("text", ["24:00", "9.00", "09:60", "9 Uhr", "", " 09:00", "09:00 ",
                                  "0900", "09:5", "-1:00", "٠٩:٠٠", "٩:٠٠", "09:00\n"])
def test_a_time_that_is_none_is_refused_in_german(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _Plan(uhrzeit=text)
    assert german_errors(caught.value) == (
        f"„uhrzeit“: die Uhrzeit muss die Form HH:MM haben, z. B. 09:00 oder 14:30 "
        f"(gefunden: {text!r})")


def test_every_finding_is_named_in_german() -> None:
    with pytest.raises(ValidationError) as caught:
        _Plan.model_validate({"uhrzeit": 9, "tage": "drei", "aktiv": "vielleicht", "farbe": "rot"})
    said = german_errors(caught.value)
    assert said.split("; ") == [
        "„uhrzeit“: ein Text in Anführungszeichen wird erwartet (gefunden: 9)",
        "„tage“: eine ganze Zahl wird erwartet (gefunden: 'drei')",
        "„aktiv“: true oder false wird erwartet (gefunden: 'vielleicht')",
        "„farbe“: unbekannter Eintrag (gefunden: 'rot')"]


def test_a_broken_backup_plan_is_reported_in_german(tmp_path: Path) -> None:
    path = tmp_path / "sicherung.toml"
    path.write_text('[sicherung]\nuhrzeit = "25:30"\nbehalten = 0\n', encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        read_backup_plan(path)
    said = str(caught.value)
    assert said.startswith(f"{path}: „uhrzeit“: die Uhrzeit muss die Form HH:MM haben")
    assert "„behalten“: die Zahl ist zu klein (gefunden: 0)" in said
    assert "validation error" not in said and "pydantic" not in said
    path.write_text('[sicherung\n', encoding="utf-8")
    with pytest.raises(PlanError, match="keine gültige TOML-Datei"):
        read_backup_plan(path)
