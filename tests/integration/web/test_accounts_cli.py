"""``ews betrieb benutzer …``: users of the web interface from the command line, with the
password from standard input, the German refusals, locking, and the hash in the register."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from typer.testing import CliRunner

from ews.register.database import transaction
from ews.register.web_tables import WebUserRow
from ews.runtime.settings import Settings
from ews.web.accounts import AccountError, sign_in
from flows.cli import app
from tests.conftest import cli_env


def test_users_are_added_listed_locked_and_given_a_new_password(settings: Settings) -> None:
    runner, env = CliRunner(), cli_env(settings)
    added = runner.invoke(app, ["betrieb", "benutzer", "anlegen", "mueller", "--rolle",
                                "sachbearbeitung", "--passwort-stdin"],
                          input="erstes-passwort\n", env=env)
    assert added.exit_code == 0, added.output
    short = runner.invoke(app, ["betrieb", "benutzer", "anlegen", "kurz", "--passwort-stdin"],
                          input="kurz\n", env=env)
    assert short.exit_code == 2 and "mindestens 10 Zeichen" in short.output
    twice = runner.invoke(app, ["betrieb", "benutzer", "anlegen", "mueller",
                                "--passwort-stdin"], input="noch-ein-passwort\n", env=env)
    assert twice.exit_code == 2 and "gibt es schon" in twice.output
    with transaction(settings.db_url) as session:
        stored = session.scalars(select(WebUserRow.password_hash)).one()
    assert stored.startswith("$argon2") and "erstes-passwort" not in stored
    now = datetime.now(UTC)
    assert sign_in(settings, "mueller", "erstes-passwort", "127.0.0.1", now).role == \
        "sachbearbeitung"

    assert runner.invoke(app, ["betrieb", "benutzer", "sperren", "mueller"], env=env
                         ).exit_code == 0
    listed = runner.invoke(app, ["betrieb", "benutzer", "liste"], env=env)
    assert "mueller" in listed.output and "gesperrt" in listed.output
    try:
        sign_in(settings, "mueller", "erstes-passwort", "127.0.0.1", now)
    except AccountError as exc:
        assert "gesperrt" in str(exc)
    else:
        raise AssertionError("a locked user signed in")
    runner.invoke(app, ["betrieb", "benutzer", "entsperren", "mueller"], env=env)
    changed = runner.invoke(app, ["betrieb", "benutzer", "passwort", "mueller",
                                  "--passwort-stdin"], input="zweites-passwort\n", env=env)
    assert changed.exit_code == 0, changed.output
    assert sign_in(settings, "mueller", "zweites-passwort", "127.0.0.2", now).name == "mueller"
