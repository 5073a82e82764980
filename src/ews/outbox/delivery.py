"""Sending the queued mails: pacing, retries, crash recovery (I/O: database, files, SMTP).

A mail is marked ``sending`` before the SMTP transaction and ``sent`` after the copy went to
the Sent folder. After a crash, a mail left ``sending`` is looked up in the Sent folder by its
Message-ID: found means sent, otherwise it is sent again. Only a crash in the milliseconds
between the server's "250" and the copy to Sent can therefore repeat a mail. Temporary
refusals (4xx, dropped connections) are retried with exponential backoff, permanent ones (5xx)
end as ``failed`` with a German reason in the register.
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from ews.core.models import OutboxState
from ews.mail import smtp
from ews.register import outbox as ledger
from ews.register.database import transaction
from ews.register.locks import locks_for
from ews.runtime import storage
from ews.runtime.settings import Settings, SmtpSettings

log = logging.getLogger(__name__)
SEND_WAIT = 900.0  # seconds a sender waits while another process sends the outbox


@dataclass
class SendReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


SentCopy = Callable[[bytes, datetime], None]
MessageIdLookup = Callable[[str], bool]


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class Pacer:
    """Keeps sending at or below ``per_minute`` mails a minute (0: no limit)."""

    def __init__(self, per_minute: int, clock: Clock | None = None) -> None:
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self.clock: Clock = clock or time
        self.last: float | None = None

    def wait(self) -> None:
        if not self.interval:
            return
        if self.last is not None:
            remaining = self.last + self.interval - self.clock.monotonic()
            if remaining > 0:
                self.clock.sleep(remaining)
        self.last = self.clock.monotonic()


@dataclass(frozen=True)
class Retry:
    """What becomes of a refused mail: queued again at ``next_attempt_at``, or given up
    (``next_attempt_at`` None), with the German text for the register."""

    next_attempt_at: datetime | None
    error: str


def retry_after(settings: SmtpSettings, attempts: int, temporary: bool, detail: str,
                now: datetime) -> Retry:
    """Temporary refusals are retried with exponential backoff up to ``max_attempts``."""
    if temporary and attempts < settings.max_attempts:
        return Retry(now + timedelta(seconds=settings.retry_seconds * 2 ** (attempts - 1)),
                     f"Vorübergehend abgelehnt, neuer Versuch folgt: {detail}")
    return Retry(None, f"Zustellung nach {attempts} Versuchen aufgegeben: {detail}"
                 if temporary else
                 f"Der Mailserver hat die Zustellung endgültig abgelehnt: {detail}")


def send_due(settings: Settings, now: datetime, *, copy_to_sent: SentCopy | None = None,
             in_sent: MessageIdLookup | None = None, clock: Clock | None = None) -> SendReport:
    """Send every queued mail that is due, no faster than the rate limit; resolve mails a
    crash left ``sending``."""
    report = SendReport()
    if not settings.smtp.host:
        return report
    # one sender at a time over every worker: a mail another process left ``sending`` is
    # then known to be a crashed one's
    with locks_for(settings) as locks, locks.named("postausgang", wait=SEND_WAIT):
        return _send_due(settings, now, report, copy_to_sent, in_sent, clock)


def _send_due(settings: Settings, now: datetime, report: SendReport,
              copy_to_sent: SentCopy | None, in_sent: MessageIdLookup | None,
              clock: Clock | None) -> SendReport:
    with transaction(settings.db_url) as session:
        due = ledger.due_mails(session, now)
    client: smtplib.SMTP | None = None
    pacer = Pacer(settings.smtp.rate_per_minute, clock=clock)
    try:
        for mail in due:
            if mail.state == OutboxState.SENDING and in_sent is not None and in_sent(
                mail.message_id):
                _record_sent(settings, mail.id, now, copied=True, refused={})
                report.sent += 1
                continue
            pacer.wait()
            if client is None:
                client = smtp.connect(settings.smtp)
            client = _send_one(settings, mail.id, client, now, copy_to_sent, report)
    finally:
        if client is not None:
            smtp.close(client)
    return report


def _send_one(settings: Settings, mail_id: int, client: smtplib.SMTP | None, now: datetime,
              copy_to_sent: SentCopy | None, report: SendReport) -> smtplib.SMTP | None:
    with transaction(settings.db_url) as session:
        sending = ledger.mark_sending(session, mail_id)
        # read before "sending" is committed: an unreadable file leaves the mail queued
        raw = storage.read_location(sending.eml_path, settings.storage.options)
    client, result = smtp.transmit(settings.smtp, client, settings.sender_address,
                                   sending.recipients, raw)
    if not result.accepted:
        _retry_or_fail(settings, mail_id, now, sending.attempts, result, report)
        return client
    copied = False
    if copy_to_sent is not None:
        try:
            copy_to_sent(raw, now)
            copied = True
        except Exception as exc:  # noqa: BLE001 - the mail is out; a missing copy is noted
            log.warning("Kopie in den Ordner Gesendet fehlgeschlagen: %s", exc)
    _record_sent(settings, mail_id, now, copied=copied, refused=result.refused)
    report.sent += 1
    return client


def _retry_or_fail(settings: Settings, mail_id: int, now: datetime, attempts: int,
                   result: smtp.Transmission, report: SendReport) -> None:
    retry = retry_after(settings.smtp, attempts, result.temporary, result.detail, now)
    with transaction(settings.db_url) as session:
        if retry.next_attempt_at is not None:
            ledger.requeue(session, mail_id, retry.next_attempt_at, retry.error)
            report.retrying += 1
        else:
            ledger.mark_failed(session, mail_id, retry.error)
            report.failed += 1


def _record_sent(settings: Settings, mail_id: int, now: datetime, *, copied: bool,
                 refused: dict[str, str]) -> None:
    error = "Nicht zugestellt an: " + smtp.refusal_text(
        {rcpt: (0, text) for rcpt, text in refused.items()}) if refused else None
    with transaction(settings.db_url) as session:
        ledger.mark_sent(session, mail_id, now, copied=copied, refused=refused, error=error)
