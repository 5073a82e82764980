"""What every ``ews`` command prints with: the consoles, tables, the operator's name, JSON
lines and German dates. Prints; no other I/O."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ews.core.deadlines import BERLIN

console = Console()
errors = Console(stderr=True)
T = TypeVar("T")
#: ``--von``: who acts, for the journal
#: ``--json``: one JSON object per line instead of the table (the office's scripts read it)
AsJson = Annotated[bool, typer.Option("--json", help="JSON-Zeilen.")]
#: ``--alle``: the handled ones too
Alle = Annotated[bool, typer.Option("--alle", help="Auch die erledigten.")]
Von = Annotated[str | None, typer.Option("--von", help="Wer es tut (Protokoll); sonst der "
                                                       "angemeldete Benutzer.")]


def refused_or(action: Callable[[], T], refusal: type[Exception]) -> T:
    """``action``'s result; a ``refusal`` it raises is printed in German, exit code 2."""
    try:
        return action()
    except refusal as exc:
        errors.print(f"[red]Nicht möglich:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc


def refuse_existing(target: Path, advice: str) -> NoReturn:
    errors.print(f"[red]Nicht geschrieben:[/] Die Datei {target} gibt es schon; sie wird nicht "
                 f"überschrieben, denn sie kann bearbeitet worden sein. {advice} einen anderen "
                 f"Dateinamen wählen, oder mit der Option --ueberschreiben ersetzen.")
    raise typer.Exit(2)


def folding_table(title: str, headers: tuple[str, ...]) -> Table:
    """A table whose long cells wrap within their column instead of being cut off."""
    table = Table(title=title)
    for header in headers:
        table.add_column(header, overflow="fold")
    return table


def date_de(iso: str | None) -> str:
    return datetime.fromisoformat(iso).strftime("%d.%m.%Y") if iso else "–"


def yes_no(value: bool | None) -> str:
    return "unbekannt" if value is None else ("ja" if value else "nein")


def user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unbekannt"


def print_json_lines(records: list[dict[str, Any]]) -> None:
    for record in records:
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


def local(iso: str | None) -> str:
    if not iso:
        return "–"
    return datetime.fromisoformat(iso).astimezone(BERLIN).strftime("%d.%m.%Y %H:%M:%S")
