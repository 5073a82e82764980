"""The mailbox watcher of ``ews serve``: IMAP IDLE on the office folder, renewed well inside
the 29 minutes servers allow, a full poll as a fallback, reconnects with backoff, and a
heartbeat (log line and Prefect event) whose silence is reported as an error."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from ews.core.errors import MailboxError
from ews.mail.imap import Mailbox
from ews.runtime.settings import Settings

log = logging.getLogger("ews.postfach")

MAX_BACKOFF = 300.0
HEARTBEAT_EVERY = 60.0  # seconds between heartbeat log lines and events


class Runner(Protocol):
    def request(self) -> None: ...


class MailboxWatcher(threading.Thread):
    """Asks the runner for a pass whenever the folder changes (IDLE) or a poll is due."""

    def __init__(self, settings: Settings, runner: Runner,
                 heartbeat: Callable[[str], None] | None = None) -> None:
        """``heartbeat(problem)`` is called with each heartbeat ("" when the mailbox answers)
        and with each failed connection."""
        super().__init__(name="posteingang-postfach", daemon=True)
        self.settings, self.runner, self.heartbeat = settings, runner, heartbeat
        self.stopping = threading.Event()
        self.last_contact = time.monotonic()
        self.heartbeats = 0
        self.connections = 0
        self._silence_reported = False
        self._last_event = -HEARTBEAT_EVERY
        self._mailbox: Mailbox | None = None

    def stop(self) -> None:
        self.stopping.set()
        mailbox = self._mailbox
        if mailbox is not None:  # a command from this thread ends the IDLE at once
            try:
                mailbox.conn.noop(callback=lambda _args: None)
            except Exception:  # noqa: BLE001 - the connection may already be gone
                pass

    def run(self) -> None:
        backoff = 1.0
        while not self.stopping.is_set():
            try:
                self._watch()
                backoff = 1.0
            except MailboxError as exc:
                log.warning("Postfach nicht erreichbar: %s – neuer Versuch in %.0f s", exc,
                            backoff)
                self._report(str(exc))
                self._check_silence()
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)

    def _watch(self) -> None:
        imap = self.settings.imap
        mailbox = Mailbox(imap)
        self._mailbox = mailbox
        self.connections += 1
        try:
            self._beat()
            self.runner.request()  # whatever arrived while we were not watching
            known = set(mailbox.uids_to_look_at())
            next_poll = time.monotonic() + imap.poll_seconds
            while not self.stopping.is_set():
                mailbox.idle(min(imap.idle_renew_seconds, max(next_poll - time.monotonic(), 1)))
                if self.stopping.is_set():
                    return
                current = set(mailbox.uids_to_look_at())
                self._beat()
                if current - known or time.monotonic() >= next_poll:
                    self.runner.request()
                    next_poll = time.monotonic() + imap.poll_seconds
                known = current
        finally:
            self._mailbox = None
            mailbox.close()

    def _beat(self) -> None:
        self.last_contact = time.monotonic()
        self.heartbeats += 1
        if self._silence_reported:
            log.info("Postfach wieder erreichbar.")
            self._silence_reported = False
        now = time.monotonic()
        if now - self._last_event >= HEARTBEAT_EVERY:
            self._last_event = now
            log.info("Postfach-Herzschlag: %s, Ordner %s erreichbar",
                     self.settings.imap.account, self.settings.imap.folder)
            _emit("ews.postfach.herzschlag", self.settings)
            self._report("")

    def _report(self, problem: str) -> None:
        if self.heartbeat is None:
            return
        try:
            self.heartbeat(problem)
        except Exception as exc:  # noqa: BLE001 - a register outage must not stop watching
            log.warning("Herzschlag nicht gespeichert: %s", exc)

    def _check_silence(self) -> None:
        silent = time.monotonic() - self.last_contact
        if silent > self.settings.imap.silence_alarm_seconds and not self._silence_reported:
            self._silence_reported = True
            log.error("Postfach seit %.0f Minuten nicht erreichbar – eingehende Bewerbungen "
                      "werden nicht abgeholt!", silent / 60)
            _emit("ews.postfach.stumm", self.settings)


def _emit(event: str, settings: Settings) -> None:
    """A Prefect event (visible under Events in the UI, usable by automations); only when a
    Prefect server is configured, as under ``ews serve`` (never starts a temporary one)."""
    try:
        from prefect.events import emit_event
        from prefect.settings import get_current_settings

        if not get_current_settings().api.url:
            return

        emit_event(event=event, resource={
            "prefect.resource.id": f"ews.postfach.{settings.imap.account}",
            "prefect.resource.name": f"Postfach {settings.imap.account}"})
    except Exception as exc:  # noqa: BLE001 - the log line is the fallback
        log.debug("Prefect-Ereignis %s nicht gesendet: %s", event, exc)
