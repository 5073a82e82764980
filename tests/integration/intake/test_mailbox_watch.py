"""The IDLE watcher of ``ews serve`` against Dovecot: push, reconnect, heartbeat, silence."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from flows.mailbox_watch import MailboxWatcher
from tests.integration.intake.test_mail_intake import OFFICE, application_mail, form, mail_settings
from tests.support.mailserver import CuttingProxy, MailServers, free_port


class CountingRunner:
    def __init__(self) -> None:
        self.requests = 0
        self.asked = threading.Event()

    def request(self) -> None:
        self.requests += 1
        self.asked.set()


def wait_until(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_new_mail_is_pushed_by_idle_within_seconds(tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    settings.imap.poll_seconds = 600  # only IDLE can be the reason for a pass
    runner = CountingRunner()
    watcher = MailboxWatcher(settings, runner)
    watcher.start()
    try:
        assert runner.asked.wait(10)  # the catch-up pass at connect
        runner.asked.clear()
        time.sleep(0.3)  # IDLE entered
        started = time.monotonic()
        mail.dovecot.append(OFFICE, application_mail(("Bewerbung.pdf", form())))
        assert runner.asked.wait(5), "IDLE did not report the new mail"
        assert time.monotonic() - started < 3.0
        assert watcher.heartbeats >= 2
    finally:
        watcher.stop()
        watcher.join(10)
    assert not watcher.is_alive()


def test_a_mail_that_arrives_as_idle_begins_ends_it_at_once(tmp_path: Path,
                                                             mail: MailServers) -> None:
    """A mail appended between the watcher's look at the folder and its IDLE: the server
    reports it right behind "+ idling", and imaplib2 may store that report without ending
    IDLE, which would then wait its full time (here 20 s, in the office the poll interval)."""
    from ews.mail.imap import Mailbox

    settings = mail_settings(tmp_path, mail)
    mailbox = Mailbox(settings.imap)
    try:
        for number in range(12):
            mailbox.uids_to_look_at()  # as the watcher does before each IDLE
            mail.dovecot.append(OFFICE, application_mail((f"Bewerbung-{number}.pdf", form())))
            started = time.monotonic()
            mailbox.idle(20)
            assert time.monotonic() - started < 5.0, f"mail {number}: IDLE missed it"
    finally:
        mailbox.close()


def test_dropped_connection_reconnects_and_catches_up(
        tmp_path: Path, mail: MailServers, imap_proxy: CuttingProxy) -> None:
    settings = mail_settings(tmp_path, mail)
    settings.imap.port = imap_proxy.port
    runner = CountingRunner()
    watcher = MailboxWatcher(settings, runner)
    watcher.start()
    try:
        assert runner.asked.wait(10)
        time.sleep(0.3)
        connected = watcher.connections
        imap_proxy.cut_all()  # the network drops the idling connection
        mail.dovecot.append(OFFICE, application_mail(("Bewerbung.pdf", form())))
        assert wait_until(lambda: runner.requests >= 2 and watcher.connections > connected,
                          15), "no reconnect with a catch-up pass"
    finally:
        watcher.stop()
        watcher.join(10)


def test_silence_longer_than_configured_is_reported_as_an_error(
        tmp_path: Path, mail: MailServers, caplog: pytest.LogCaptureFixture) -> None:
    settings = mail_settings(tmp_path, mail)
    settings.imap.port = free_port()  # nobody listens: the mailbox is unreachable
    settings.imap.silence_alarm_seconds = 1.0
    settings.imap.timeout_seconds = 2.0
    watcher = MailboxWatcher(settings, CountingRunner())
    with caplog.at_level(logging.INFO, logger="ews.postfach"):
        watcher.start()
        try:
            assert wait_until(lambda: any(r.levelno == logging.ERROR for r in caplog.records),
                              15)
        finally:
            watcher.stop()
            watcher.join(10)
    [alarm] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "nicht erreichbar" in alarm.getMessage()
    assert any("neuer Versuch" in r.getMessage() for r in caplog.records)
