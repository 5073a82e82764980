"""Serving the office's web interface with uvicorn: in a thread of ``ews betrieb starten``, or
alone in the foreground (``ews betrieb web``, the cluster's own process). Starts a server."""

from __future__ import annotations

import threading

import uvicorn
from rich.console import Console

from ews.runtime.settings import Settings
from ews.web.app import create_app

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def web_server(settings: Settings) -> uvicorn.Server:
    config = uvicorn.Config(create_app(settings), host=settings.web.host, port=settings.web.port,
                            log_level="warning", access_log=False, proxy_headers=False,
                            server_header=False)
    return uvicorn.Server(config)


def announce(settings: Settings, console: Console) -> None:
    console.print(f"Weboberfläche: [bold]http://{settings.web.host}:{settings.web.port}[/] "
                  "(Zugänge: ews betrieb benutzer anlegen)")
    if settings.web.host not in LOOPBACK:
        console.print("[yellow]Achtung:[/] die Weboberfläche lauscht nicht nur auf diesem "
                      "Rechner; ohne Reverse-Proxy mit TLS gehen Passwörter unverschlüsselt "
                      "über das Netz.")
    if not settings.web.secret.get_secret_value():
        console.print("[yellow]Kein EWS_WEB__SECRET:[/] nach jedem Neustart müssen sich alle "
                      "neu anmelden (scripts/setup.sh erzeugt einen Schlüssel).")


class WebThread(threading.Thread):
    """The web interface in a thread of its own (the main thread keeps the signals)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(name="weboberflaeche", daemon=True)
        self.server = web_server(settings)

    def run(self) -> None:
        self.server.run()

    def stop(self) -> None:
        self.server.should_exit = True


def serve_web(settings: Settings, console: Console) -> None:
    """Only the web interface, in the foreground, until Ctrl+C or SIGTERM."""
    announce(settings, console)
    web_server(settings).run()
