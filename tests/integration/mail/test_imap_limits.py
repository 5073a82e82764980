"""The mailbox adapter against real Dovecot: sizes are known before bytes are fetched, and the
post-action removes only the office's own mails, never what another client marked deleted."""

from __future__ import annotations

import imaplib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ews.intake import passes as intake
from ews.mail.imap import Mailbox
from ews.runtime.settings import ImapSettings
from tests.integration.intake.test_mail_intake import (
    OFFICE,
    answers,
    application_mail,
    mail_settings,
)
from tests.support.mailserver import Dovecot, MailServers

DONE = "Bewerbungen/Verarbeitet"


def imap_settings(mail: MailServers, **changes: object) -> ImapSettings:
    values: dict[str, object] = {"host": "127.0.0.1", "port": mail.dovecot.imap_port,
                                 "user": OFFICE, "password": "geheim", "security": "none",
                                 "timeout_seconds": 15}
    values.update(changes)
    return ImapSettings(**values)  # type: ignore[arg-type]


def big_mail(megabytes: float) -> bytes:
    # random bytes: base64 makes them a third larger, as a real attachment would be
    data = os.urandom(int(megabytes * 1024 * 1024))
    return application_mail(("Anlage.pdf", b"%PDF-1.4\n" + data)).as_bytes()


def test_mail_over_the_limit_is_fetched_as_its_header_only(mail: MailServers) -> None:
    small = mail.dovecot.append(OFFICE, application_mail(subject="klein"))
    large = mail.dovecot.append(OFFICE, big_mail(1.5))
    mailbox = Mailbox(imap_settings(mail, max_mail_mb=1))
    try:
        fetched = {item.uid: item for item in mailbox.fetch(mailbox.uids_to_look_at())}
    finally:
        mailbox.close()

    assert sorted(fetched) == [small, large]
    assert not fetched[small].oversized and b"Subject: klein" in fetched[small].raw
    assert fetched[large].oversized
    assert fetched[large].size > 1.5 * 1024 * 1024
    assert len(fetched[large].raw) < 4096 and b"Subject: Bewerbung EWS 6" in fetched[large].raw
    assert b"%PDF" not in fetched[large].raw and b"base64" not in fetched[large].raw


def test_mails_are_fetched_in_order_in_batches_bounded_by_size(mail: MailServers) -> None:
    uids = [mail.dovecot.append(OFFICE, big_mail(0.4)) for _ in range(4)]
    mailbox = Mailbox(imap_settings(mail, max_mail_mb=1, batch_size=3))
    try:
        fetched = list(mailbox.fetch(uids))
    finally:
        mailbox.close()

    assert [item.uid for item in fetched] == uids
    assert not any(item.oversized for item in fetched)
    assert all(len(item.raw) == item.size for item in fetched)


def test_oversized_mail_gets_one_invalid_outcome_and_a_german_answer(
        tmp_path: Path, mail: MailServers) -> None:
    settings = mail_settings(tmp_path, mail)
    settings.imap.max_mail_mb = 1
    mail.dovecot.append(OFFICE, big_mail(1.5))

    results = intake.run_pass(settings)

    [result] = results
    assert result.outcome == "invalid"
    assert result.reasons == [result.reasons[0]]
    assert result.reasons[0].startswith("Die E-Mail ist größer als 1 MB (2,")
    assert mail.dovecot.messages(OFFICE) == []
    assert len(mail.dovecot.messages(OFFICE, DONE)) == 1  # the whole mail, moved
    [answer] = answers(mail)
    assert "größer als 1 MB" in answer.get_body(("plain",)).get_content()
    assert intake.run_pass(settings) == []


@pytest.fixture
def server(request: pytest.FixtureRequest, mail: MailServers) -> Iterator[Dovecot]:
    """The session's Dovecot, or a Dovecot of its own that announces the session's
    capabilities without ``request.param`` (a server without MOVE, or without UIDPLUS too)."""
    missing: tuple[str, ...] = request.param
    if not missing:
        yield mail.dovecot
        return
    probe = imaplib.IMAP4(mail.dovecot.host, mail.dovecot.imap_port, timeout=15)
    try:
        probe.login(OFFICE, mail.dovecot.password)
        announced = probe.capability()[1][0].decode().split()
    finally:
        probe.logout()
    assert {"MOVE", "UIDPLUS"} <= set(announced)
    own = Dovecot(capabilities=[name for name in announced if name not in missing]).start()
    try:
        yield own
    finally:
        own.stop()


@pytest.mark.parametrize("server", [(), ("MOVE",), ("MOVE", "UIDPLUS")],
                         ids=["move", "uidplus", "neither"], indirect=True)
def test_post_action_never_removes_another_clients_deleted_mail(
        server: Dovecot, caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest
) -> None:
    ours = server.append(OFFICE, application_mail(subject="unsere"))
    theirs = server.append(OFFICE, application_mail(subject="fremde"), flags=[r"\Deleted"])
    mailbox = Mailbox(ImapSettings(host=server.host, port=server.imap_port, user=OFFICE,
                                   password=server.password, security="none",
                                   timeout_seconds=15))  # type: ignore[arg-type]
    missing = {"MOVE", "UIDPLUS"} - mailbox.capabilities  # as the server announced them
    assert missing == set(request.node.callspec.params["server"])
    try:
        with caplog.at_level(logging.WARNING, logger="ews.mail.imap"):
            mailbox.mark_done([ours])
        left = mailbox.uids_to_look_at()
    finally:
        mailbox.close()

    inbox = {stored.uid: stored for stored in server.messages(OFFICE)}
    assert theirs in inbox and r"\Deleted" in inbox[theirs].flags
    [done] = server.messages(OFFICE, DONE)
    assert done.message["Subject"] == "unsere"
    assert ours not in left
    if missing == {"MOVE", "UIDPLUS"}:
        assert inbox[ours].flags >= {r"\Deleted", "EWS-verarbeitet"}
        assert "weder verschieben (MOVE) noch gezielt löschen (UIDPLUS)" in caplog.text
    else:
        assert ours not in inbox
        assert caplog.text == ""
