"""The office every ``ews`` command works in: the settings the app callback built once, and
the set-up of folders and register it decided on (done when a command first asks for the
settings, so that a command can refuse bad arguments before touching the register)."""

from __future__ import annotations

from dataclasses import dataclass

import typer

from ews.intake import passes as intake
from ews.runtime.settings import Settings


@dataclass
class Office:
    settings: Settings
    #: folders and register still to be set up (once, before the first use)
    set_up_pending: bool


def office(ctx: typer.Context) -> Settings:
    """The settings of this invocation, with folders and register set up if the command
    needs them (the app callback decided)."""
    root = ctx.find_root()
    if not isinstance(root.obj, Office):  # a command invoked without the app's callback
        root.obj = Office(Settings(), set_up_pending=True)
    if root.obj.set_up_pending:
        intake.prepare(root.obj.settings)
        root.obj.set_up_pending = False
    return root.obj.settings
