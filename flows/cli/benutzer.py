"""``ews betrieb benutzer …`` and ``ews betrieb web``: the web interface's users (anlegen,
liste, sperren, entsperren, passwort) and the web interface alone. Reads and writes the
register through ``ews.web.accounts``; ``web`` starts a server."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape

from ews.web.accounts import (
    ROLES,
    AccountError,
    change_password,
    create_user,
    set_locked,
    user_list,
)
from flows.cli.office import office
from flows.cli.output import console, errors, folding_table, local, user
from flows.web_server import serve_web

benutzer_app = typer.Typer(help="Zugänge zur Weboberfläche: anlegen, auflisten, sperren, "
                                "Passwort ändern.", no_args_is_help=True)
Name = Annotated[str, typer.Argument(help="Benutzername (ohne Leerzeichen).", show_default=False)]
FromStdin = Annotated[bool, typer.Option(
    "--passwort-stdin", help="Das Passwort aus der ersten Zeile der Standardeingabe lesen "
                             "(für Skripte), statt zweimal danach zu fragen.")]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Passwort", hide_input=True, confirmation_prompt=True))


def _refuse(exc: AccountError) -> None:
    errors.print(f"[red]Nicht möglich:[/] {escape(str(exc))}")
    raise typer.Exit(2) from exc


@benutzer_app.command("anlegen")
def anlegen(ctx: typer.Context, name: Name, rolle: Annotated[str, typer.Option(
        "--rolle", help="lesen, sachbearbeitung oder leitung (nur die Leitung gibt "
                        "Rundschreiben aus und versendet Bescheide).")] = "lesen",
            passwort_stdin: FromStdin = False) -> None:
    """Einen Zugang zur Weboberfläche anlegen (Passwort mindestens 10 Zeichen)."""
    settings = office(ctx)
    try:
        create_user(settings, name, _password(passwort_stdin), rolle.lower(), actor=user(),
                    now=datetime.now(UTC))
    except AccountError as exc:
        _refuse(exc)
    console.print(f"Zugang „{escape(name)}“ mit der Rolle {ROLES[rolle.lower()]} angelegt.")


@benutzer_app.command("liste")
def liste(ctx: typer.Context) -> None:
    """Alle Zugänge mit Rolle und Stand."""
    table = folding_table("Zugänge zur Weboberfläche", ("Name", "Rolle", "Stand", "Angelegt",
                                                        "von"))
    for row in user_list(office(ctx)):
        table.add_row(escape(str(row["name"])), str(row["rolle"]),
                      "aktiv" if row["aktiv"] else "gesperrt", local(str(row["angelegt"])),
                      escape(str(row["von"])))
    console.print(table)


@benutzer_app.command("sperren")
def sperren(ctx: typer.Context, name: Name) -> None:
    """Einen Zugang sperren: die Person kann sich nicht mehr anmelden, ihre Sitzung endet."""
    _lock(ctx, name, True, f"Zugang „{escape(name)}“ gesperrt.")


@benutzer_app.command("entsperren")
def entsperren(ctx: typer.Context, name: Name) -> None:
    """Einen gesperrten Zugang wieder freigeben."""
    _lock(ctx, name, False, f"Zugang „{escape(name)}“ ist wieder aktiv.")


def _lock(ctx: typer.Context, name: str, locked: bool, done: str) -> None:
    try:
        set_locked(office(ctx), name, locked, actor=user())
    except AccountError as exc:
        _refuse(exc)
    console.print(done)


@benutzer_app.command("passwort")
def passwort(ctx: typer.Context, name: Name, passwort_stdin: FromStdin = False) -> None:
    """Das Passwort eines Zugangs neu setzen; angemeldete Sitzungen dieses Zugangs enden."""
    try:
        change_password(office(ctx), name, _password(passwort_stdin), actor=user(),
                        now=datetime.now(UTC))
    except AccountError as exc:
        _refuse(exc)
    console.print(f"Passwort von „{escape(name)}“ geändert.")


def web(ctx: typer.Context) -> None:
    """Nur die Weboberfläche starten (im Vordergrund; Adresse: EWS_WEB__HOST, EWS_WEB__PORT)."""
    serve_web(office(ctx), console)
