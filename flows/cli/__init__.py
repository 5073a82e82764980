"""The ``ews`` command line, grouped like the office works (German messages; a table by
default, JSON on request): posteingang, bewerbungen, auswahl, netzwerk, rundschreiben, akte,
wiedervorlagen, schriftverkehr, postausgang, vorlagen, betrieb, datenschutz. The app callback
builds the settings, prepares
Prefect's environment and decides once whether folders and register are set up for the command
(``flows.cli.office``). The English names of the first releases stay as hidden aliases for
one release (``process``, ``journal --json`` and ``applications --json`` are the acceptance
interface)."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup, _click  # typer's own copy of click

from ews.runtime.settings import Settings
from flows import prepare_prefect_environment
from flows.cli.akte import akte
from flows.cli.auswahl import auswahl_app, bescheide, entscheiden, export, import_sheet
from flows.cli.betrieb import betrieb_app, starten
from flows.cli.cluster import cluster_app
from flows.cli.datenschutz import datenschutz_app
from flows.cli.netzwerk import erklaerung, netzwerk_app
from flows.cli.office import Office
from flows.cli.postausgang import postausgang
from flows.cli.posteingang import bewerbungen, demo, journal, posteingang_app, stempel, verarbeiten
from flows.cli.rundschreiben import rundschreiben_app
from flows.cli.schriftverkehr import schriftverkehr_app
from flows.cli.status import status
from flows.cli.vorlagen import formular, pruefen, vorlagen_app
from flows.cli.wiedervorlagen import wiedervorlagen_app

_ARGS = "ews.args"
#: the commands that need no register (or set it up themselves): the callback builds their
#: settings, and creates no folder and no database for them
WITHOUT_REGISTER = {("posteingang", "verarbeiten"), ("process",), ("vorlagen",),
                    ("templates",), ("formular",), ("betrieb", "starten"), ("serve",),
                    ("betrieb", "cluster"), ("cluster",), ("rundschreiben", "zeitplan"),
                    ("betrieb", "wiederherstellen"), ("betrieb", "installieren")}


class OfficeGroup(TyperGroup):
    """The root group: keeps the command line's words, so that the callback sees which
    command runs (click tells it only the first word)."""

    def parse_args(self, ctx: _click.Context, args: list[str]) -> list[str]:
        ctx.meta[_ARGS] = list(args)
        return super().parse_args(ctx, args)


app = typer.Typer(cls=OfficeGroup, help="EWS-Aktenführung: Posteingang, Register und Briefe.",
                  no_args_is_help=True, add_completion=False)


@app.callback()
def prepare(ctx: typer.Context) -> None:
    """EWS-Aktenführung: Posteingang, Register und Briefe."""
    settings = Settings()
    ctx.obj = Office(settings, set_up_pending=needs_register(ctx.meta.get(_ARGS, [])))
    # before any command imports Prefect: its settings are read once, at import
    prepare_prefect_environment(settings)


def needs_register(args: list[str]) -> bool:
    """Whether the command in ``args`` reads the register (and not only its help)."""
    if "--help" in args:
        return False
    words = tuple(arg for arg in args if not arg.startswith("-"))
    return words[:1] not in WITHOUT_REGISTER and words[:2] not in WITHOUT_REGISTER


app.add_typer(posteingang_app, name="posteingang")
app.command("bewerbungen")(bewerbungen)
app.command("akte")(akte)
app.add_typer(auswahl_app, name="auswahl")
app.add_typer(netzwerk_app, name="netzwerk")
app.add_typer(rundschreiben_app, name="rundschreiben")
app.command("postausgang")(postausgang)
app.add_typer(vorlagen_app, name="vorlagen")
app.add_typer(wiedervorlagen_app, name="wiedervorlagen")
app.add_typer(schriftverkehr_app, name="schriftverkehr")
app.add_typer(betrieb_app, name="betrieb")
app.add_typer(datenschutz_app, name="datenschutz")
app.command("demo")(demo)

#: the old names, for one release: hidden from the help, working as before
ALIASES: dict[str, Any] = {
    "process": verarbeiten, "journal": journal, "eingangsstempel": stempel,
    "applications": bewerbungen, "decide": entscheiden, "export": export,
    "import": import_sheet, "erklaerung": erklaerung, "formular": formular, "serve": starten,
    "status": status}
for _name, _command in ALIASES.items():
    app.command(_name, hidden=True)(_command)
letters_app = typer.Typer(help="Bescheide (alter Name von „ews auswahl bescheide“).",
                          no_args_is_help=True)
letters_app.command("send")(bescheide)
templates_app = typer.Typer(help="Vorlagen (alter Name von „ews vorlagen“).",
                            no_args_is_help=True)
templates_app.command("check")(pruefen)
app.add_typer(letters_app, name="letters", hidden=True)
app.add_typer(templates_app, name="templates", hidden=True)
app.add_typer(cluster_app, name="cluster", hidden=True)
