"""The ``ews`` command line: German groups, the old names as hidden aliases with the same
output, and the set-up of folders and register decided once by the app callback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ews.letters.samples import demo_inbox_files
from ews.runtime.settings import Settings
from flows.cli import ALIASES, app, needs_register
from tests.conftest import cli_env

runner = CliRunner()

GROUPS = ("posteingang", "bewerbungen", "auswahl", "netzwerk", "rundschreiben", "postausgang",
          "vorlagen", "wiedervorlagen", "schriftverkehr", "betrieb", "datenschutz")
OLD_NAMES = ("process", "journal", "applications", "decide", "export", "import", "erklaerung",
             "eingangsstempel", "formular", "serve", "status", "letters", "templates", "cluster")


def test_the_help_shows_the_german_groups_and_hides_the_old_names() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    listed = {line.split()[1] for line in result.output.splitlines()
              if line.startswith("│ ") and len(line.split()) > 1}
    assert set(GROUPS) <= listed
    assert not listed & set(OLD_NAMES)


@pytest.mark.parametrize(("old", "new"), [
    (["process", "--help"], ["posteingang", "verarbeiten", "--help"]),
    (["journal", "--help"], ["posteingang", "journal", "--help"]),
    (["eingangsstempel", "--help"], ["posteingang", "stempel", "--help"]),
    (["applications", "--help"], ["bewerbungen", "--help"]),
    (["decide", "--help"], ["auswahl", "entscheiden", "--help"]),
    (["export", "--help"], ["auswahl", "export", "--help"]),
    (["import", "--help"], ["auswahl", "import", "--help"]),
    (["letters", "send", "--help"], ["auswahl", "bescheide", "--help"]),
    (["erklaerung", "--help"], ["netzwerk", "erklaerung", "--help"]),
    (["templates", "check", "--help"], ["vorlagen", "pruefen", "--help"]),
    (["formular", "--help"], ["vorlagen", "formular", "--help"]),
    (["serve", "--help"], ["betrieb", "starten", "--help"]),
    (["status", "--help"], ["betrieb", "status", "--help"]),
    (["cluster", "einrichten", "--help"], ["betrieb", "cluster", "einrichten", "--help"]),
    (["rundschreiben", "list", "--help"], ["rundschreiben", "liste", "--help"]),
])
def test_every_old_name_is_the_same_command_as_its_new_one(
        settings: Settings, old: list[str], new: list[str]) -> None:
    env = cli_env(settings) | {"COLUMNS": "200"}
    before, after = runner.invoke(app, old, env=env), runner.invoke(app, new, env=env)

    assert before.exit_code == after.exit_code == 0, before.output + after.output
    # the help is the same but for the usage line, which names the command as typed
    assert before.output.splitlines()[3:] == after.output.splitlines()[3:]
    assert not (settings.data_dir / "register.sqlite3").exists()  # a help sets up nothing


def test_the_aliases_cover_every_old_top_level_command() -> None:
    assert set(ALIASES) | {"letters", "templates", "cluster"} == set(OLD_NAMES)


def test_the_acceptance_interface_prints_the_same_json_under_both_names(
        settings: Settings) -> None:
    env = cli_env(settings)
    for name, data in demo_inbox_files(settings.round.name)[:3]:
        (settings.inbox_dir / name).write_bytes(data)
    processed = runner.invoke(app, ["posteingang", "verarbeiten", "--ohne-prefect"], env=env)
    assert processed.exit_code == 0, processed.output

    journal = runner.invoke(app, ["journal", "--json"], env=env)
    applications = runner.invoke(app, ["applications", "--json"], env=env)

    assert journal.exit_code == applications.exit_code == 0
    assert len(journal.stdout.splitlines()) == 3 and applications.stdout
    assert runner.invoke(app, ["posteingang", "journal", "--json"], env=env).stdout \
        == journal.stdout
    assert runner.invoke(app, ["bewerbungen", "--json"], env=env).stdout == applications.stdout


def test_the_selection_without_a_subcommand_shows_its_state(settings: Settings) -> None:
    env = cli_env(settings)
    plain = runner.invoke(app, ["auswahl", "--json"], env=env)
    state = runner.invoke(app, ["auswahl", "stand", "--json"], env=env)

    assert plain.exit_code == state.exit_code == 0, plain.output
    assert plain.stdout == state.stdout


@pytest.mark.parametrize(("args", "needed"), [
    (["journal", "--json"], True), (["posteingang", "journal"], True),
    (["posteingang", "verarbeiten"], False), (["process", "--ohne-prefect"], False),
    (["auswahl", "--json"], True), (["betrieb", "status"], True),
    (["betrieb", "starten"], False), (["serve"], False), (["vorlagen", "pruefen"], False),
    (["rundschreiben", "zeitplan"], False), (["rundschreiben", "liste"], True),
    (["auswahl", "export", "x.xlsx", "--help"], False),
])
def test_the_callback_sets_up_the_register_only_for_the_commands_that_read_it(
        args: list[str], needed: bool) -> None:
    assert needs_register(args) is needed


def test_a_refused_argument_leaves_the_data_folder_untouched(settings: Settings,
                                                              tmp_path: Path) -> None:
    env = cli_env(settings) | {"PREFECT_HOME": str(tmp_path / "prefect-home")}
    result = runner.invoke(app, ["auswahl", "export", str(tmp_path / "register.csv")], env=env)

    assert result.exit_code == 2
    assert not settings.data_dir.exists()
