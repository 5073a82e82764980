"""A demo round for the web interface's tests: the demo inbox read into a fresh register, and
one user per role (password ``geheim-geheim``). Writes files and the register."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from ews.intake import passes as intake
from ews.letters.samples import demo_inbox_files
from ews.register.reports import application_records
from ews.runtime.settings import Settings
from ews.web.accounts import create_user
from ews.web.app import create_app

PASSWORD = "geheim-geheim"
#: the CSRF token of a form
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
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


def signed_in(settings: Settings, name: str, page: str = "/") -> tuple[TestClient, str]:
    """A client of the web interface signed in as ``name`` (password ``PASSWORD``), and the
    CSRF token of ``page``, which it has opened."""
    client = TestClient(create_app(settings))
    token = CSRF.search(client.get("/anmelden").text)
    assert token is not None
    answer = client.post("/anmelden", data={"csrf": token[1], "name": name,
                                            "passwort": PASSWORD}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    shown = client.get(page)
    found = CSRF.search(shown.text)
    assert shown.status_code == 200 and shown.url.path == page and found is not None, (
        "not signed in")
    return client, found[1]
