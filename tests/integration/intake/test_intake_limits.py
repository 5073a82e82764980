"""Hostile and huge inputs through the whole pass: each ends with a reason or a registration,
in bounded time and memory."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ews.intake import passes as intake
from ews.runtime.settings import IntakeSettings
from tests.conftest import make_settings
from tests.support import pdfgen

pytestmark = [pytest.mark.slow, pytest.mark.ocr]


def test_bomb_and_huge_files_end_with_an_outcome_in_bounded_time(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    inputs = {
        "bombe.pdf": pdfgen.content_bomb_form(with_fields=False),
        "bombe-feld.pdf": pdfgen.value_bomb_form(),
        "3000-seiten.pdf": pdfgen.long_form(3000),
        "leer.pdf": b"",
        "abgeschnitten.pdf": pdfgen.truncated_form(),
        "kennwort.pdf": pdfgen.encrypted_form("AES-256", user_password="geheim"),
    }
    for name, data in inputs.items():
        (settings.inbox_dir / name).write_bytes(data)
    started = time.monotonic()
    results = {r.source_name: r for r in intake.run_pass(settings)}
    assert time.monotonic() - started < 300
    assert set(results) == set(inputs)
    assert results["3000-seiten.pdf"].outcome == "registered"
    for name in inputs.keys() - {"3000-seiten.pdf"}:
        assert results[name].outcome == "invalid", name
        assert results[name].reasons, name
    assert "Kennwort" in " ".join(results["kennwort.pdf"].reasons)
    stored = {Path(r.stored_path or "").read_bytes() for r in results.values()}
    assert stored == set(inputs.values())


def test_input_over_the_time_limit_is_stopped_with_a_german_reason(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, intake=IntakeSettings(stable_seconds=0.05, workers=1, read_timeout_seconds=0.3)
    )
    (settings.inbox_dir / "scan.pdf").write_bytes(pdfgen.scanned_form())
    [result] = intake.run_pass(settings)
    assert result.outcome == "invalid"
    assert "länger als" in result.reasons[0]
    assert Path(result.stored_path or "").is_file()
