"""The SMTP adapter's reading of server answers, with a stand-in client (no server)."""

from __future__ import annotations

import smtplib
from typing import Any

import pytest

from ews.mail.smtp import as_text, refusal_text, transmit
from ews.runtime.settings import SmtpSettings

SMTP = SmtpSettings(host="smtp.test")


class Client:
    """Answers ``sendmail`` with a result or raises."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def sendmail(self, sender: str, recipients: list[str], raw: bytes) -> Any:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def send(answer: Any) -> tuple[Any, Any]:
    client = Client(answer)
    kept, result = transmit(SMTP, client, "o@ews.test", ["a@x.example"], b"mail")  # type: ignore[arg-type]
    return kept is client, result


def test_accepted_mail_names_the_refused_recipients() -> None:
    kept, result = send({"b@x.example": (550, b"5.1.1 unknown")})
    assert kept and result.accepted
    assert result.refused == {"b@x.example": "550 5.1.1 unknown"}


@pytest.mark.parametrize(("error", "temporary", "kept"), [
    (smtplib.SMTPRecipientsRefused({"a@x.example": (450, b"try later")}), True, True),
    (smtplib.SMTPRecipientsRefused({"a@x.example": (550, b"unknown")}), False, True),
    (smtplib.SMTPDataError(552, b"too big"), False, True),
    (smtplib.SMTPResponseException(421, b"closing"), True, False),
    (smtplib.SMTPServerDisconnected("gone"), True, False),
    (ConnectionResetError("reset"), True, False),
])
def test_refusals_are_temporary_or_permanent(error: Exception, temporary: bool,
                                             kept: bool) -> None:
    still, result = send(error)
    assert not result.accepted
    assert (result.temporary, still) == (temporary, kept)
    assert result.detail


def test_refusal_text_leaves_out_a_zero_code() -> None:
    assert refusal_text({"a@x": (550, b"no"), "b@x": (0, "550 gone")}) == (
        "a@x: 550 no; b@x: 550 gone")
    assert as_text(b"\xff") == "\ufffd"
