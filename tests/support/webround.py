"""A demo round for the web interface's tests: the demo inbox read into a fresh register, and
one user per role (password ``geheim-geheim``). Writes files and the register."""

from __future__ import annotations

from datetime import UTC, datetime

from ews.intake import passes as intake
from ews.letters.samples import demo_inbox_files
from ews.register.reports import application_records
from ews.runtime.settings import Settings
from ews.web.accounts import create_user

PASSWORD = "geheim-geheim"
USERS = {"lena": "lesen", "sabine": "sachbearbeitung", "leo": "leitung"}


def demo_round(settings: Settings) -> list[str]:
    """Read the demo inbox; returns the Az. of the current (not replaced) applications."""
    intake.prepare(settings)
    for name, data in demo_inbox_files(settings.round.name):
        (settings.inbox_dir / name).write_bytes(data)
    intake.run_pass(settings)
    for name, role in USERS.items():
        create_user(settings, name, PASSWORD, role, actor="test", now=datetime.now(UTC))
    return sorted(str(r["az"]) for r in application_records(settings)
                  if r["status"] != "replaced")
