"""Pure pieces of the mail path: INTERNALDATE parsing, answer recipients, the answer text."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ews.mail.imap import parse_internaldate
from ews.outbox.office import mail_recipients
from ews.outbox.templates import render_body
from ews.register.schema import ApplicationRow
from tests.conftest import make_settings


@pytest.mark.parametrize(("value", "expected"), [
    (b"21-Nov-2026 10:03:12 +0100", datetime(2026, 11, 21, 9, 3, 12, tzinfo=UTC)),
    (b" 1-Mar-2027 23:59:59 +0100", datetime(2027, 3, 1, 22, 59, 59, tzinfo=UTC)),
    (b"01-Jul-2026 00:00:01 +0200", datetime(2026, 6, 30, 22, 0, 1, tzinfo=UTC)),
    (b"02-Mar-2027 01:00:00 -0500", datetime(2027, 3, 2, 6, 0, 0, tzinfo=UTC)),
])
def test_internaldate_is_read_with_its_offset(value: bytes, expected: datetime) -> None:
    assert parse_internaldate(value) == expected


def test_answer_goes_to_sender_and_team_once_and_never_to_the_office(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, mail_from="bewerbung@ews.test")
    application = ApplicationRow(fields={"team1_email": "Anna.Schmidt@stadt.example",
                                         "team2_email": "bewerbung@ews.test",
                                         "kommune_name": "x"})
    assert mail_recipients(settings, ["anna.schmidt@stadt.example"], application) == [
        "anna.schmidt@stadt.example"]
    assert mail_recipients(settings, ["buergermeister@stadt.example"], application) == [
        "buergermeister@stadt.example", "Anna.Schmidt@stadt.example"]
    assert mail_recipients(settings, ["bewerbung@ews.test"], None) == []


def test_answer_text_names_every_reason_and_keeps_values_literal(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    body = render_body(settings, {
        "anrede": "Sehr geehrte Damen und Herren", "ergebnis": "ungueltig", "aktenzeichen": "",
        "eingangsnummer": "000007", "kommune": "", "eingang": "21.11.2026, 10:03 Uhr",
        "runde": "EWS 6", "datei": "{{ 7*7 }}.pdf",
        "gruende": ["Das Feld „PLZ“ fehlt.", "Die E-Mail-Adresse ist ungültig."],
        "anhaenge": [], "nicht_angenommen": [], "buero": settings.office.model_dump()})
    assert "„{{ 7*7 }}.pdf“" in body
    assert "- Das Feld „PLZ“ fehlt.\n- Die E-Mail-Adresse ist ungültig." in body
    assert "Eingangsnummer 000007" in body
    assert body.startswith("Sehr geehrte Damen und Herren,\n")
