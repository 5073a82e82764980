"""The reminder's mail template is staff-editable: ``ews vorlagen pruefen`` fills it with a
sample of every kind, and a typo is named with the template; the check's time is a setting."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from ews.outbox.templates import check_mail_templates, render_body
from ews.runtime.settings import FollowUpSettings
from tests.conftest import REPO, make_settings


def test_every_kind_renders_and_a_typo_is_named(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert check_mail_templates(settings) == []
    texts = {kind: render_body(settings, {
        "art": kind, "anrede": "Sehr geehrte Damen und Herren", "aktenzeichen": "AZ-1",
        "kommune": "Stadt Hagen", "runde": "EWS 6", "schreiben_vom": "01.04.2027",
        "faellig_am": "15.04.2027", "notiz": "Teilnehmerliste",
        "buero": settings.office.model_dump()}, template="erinnerung.txt.j2")
        for kind in ("korrektur", "freistellung", "erklaerung", "manuell")}
    assert "berichtigt" in texts["korrektur"] and "Freistellung" in texts["freistellung"]
    assert "Gemeinsame Erklärung" in texts["erklaerung"] and "Teilnehmerliste" in texts["manuell"]
    assert all("AZ-1" in text and "15.04.2027" in text for text in texts.values())

    shutil.copytree(REPO / "templates", tmp_path / "vorlagen")
    mail = tmp_path / "vorlagen" / "mail" / "erinnerung.txt.j2"
    mail.write_text(mail.read_text(encoding="utf-8") + "{{ faellig_bis }}\n", encoding="utf-8")
    broken = make_settings(tmp_path, templates_dir=tmp_path / "vorlagen")
    [problem] = check_mail_templates(broken)
    assert "erinnerung.txt.j2" in problem and "faellig_bis" in problem


def test_the_check_time_is_a_cron_line() -> None:
    assert FollowUpSettings().cron == "0 8 * * *"
    with pytest.raises(ValidationError, match="fünf Felder"):
        FollowUpSettings(cron="8 Uhr")
