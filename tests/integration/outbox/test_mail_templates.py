"""Mail templates staff edit are used as they are now: a template replaced by one of the same
size within the same modification time is picked up at the next mail."""

from __future__ import annotations

import os
from pathlib import Path

from ews.outbox.templates import render_body
from tests.conftest import make_settings


def test_a_template_replaced_within_one_clock_tick_is_picked_up(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, templates_dir=tmp_path / "vorlagen")
    folder = settings.templates_dir / "mail"
    folder.mkdir(parents=True)
    template = folder / "test_gleich.txt.j2"
    template.write_text("Telefon: {{ nummer }}\n", encoding="utf-8")
    moment = template.stat().st_mtime_ns
    assert render_body(settings, {"nummer": "0211 1"}, template=template.name) == (
        "Telefon: 0211 1\n")

    template.write_text("Telefax: {{ nummer }}\n", encoding="utf-8")  # same size
    os.utime(template, ns=(moment, moment))

    assert render_body(settings, {"nummer": "0211 1"}, template=template.name) == (
        "Telefax: 0211 1\n")
    assert render_body(settings, {"nummer": "0211 2"}, template=template.name) == (
        "Telefax: 0211 2\n")


def test_every_mail_template_environment_compares_contents(tmp_path: Path) -> None:
    """The circulars' mail templates (rundschreiben.*.j2) lie in the same folder staff edit:
    they are loaded the same way as the answers' (ews.core.templating.DigestLoader)."""
    from ews.circulars.mailing import _templates
    from ews.core.templating import DigestLoader
    from ews.outbox.templates import _mail_templates

    folder = tmp_path / "mail"
    folder.mkdir()
    for environment in (_templates(folder), _mail_templates(folder)):
        assert isinstance(environment.loader, DigestLoader)
    template = folder / "rundschreiben.txt.j2"
    template.write_text("Guten Tag {{ name }}\n", encoding="utf-8")
    moment = template.stat().st_mtime_ns
    assert _templates(folder).get_template(template.name).render(name="A") == "Guten Tag A\n"
    template.write_text("Hallo, Tag {{ name }}\n", encoding="utf-8")  # same size
    os.utime(template, ns=(moment, moment))
    assert _templates(folder).get_template(template.name).render(name="A") == "Hallo, Tag A\n"
