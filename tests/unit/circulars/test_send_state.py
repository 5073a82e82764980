"""The state of one row of a circular's send ledger, from its mail and bounces (no
database)."""

from __future__ import annotations

from ews.circulars.reports import send_state, send_summary
from ews.register.schema import BounceRow, CircularSend, OutgoingMail


def send(state: str = "eingereiht", problem: str | None = None) -> CircularSend:
    return CircularSend(state=state, problem=problem)


def mail(state: str, error: str | None = None) -> OutgoingMail:
    return OutgoingMail(state=state, last_error=error)


def bounce(permanent: bool, reason: str) -> BounceRow:
    return BounceRow(permanent=permanent, reason=reason)


def test_without_a_mail_the_ledger_row_speaks() -> None:
    assert send_state(send("ohne_adresse", "Keine Adresse."), None, []) == (
        "ohne_adresse", "Keine Adresse.")
    assert send_state(send("geplant"), None, []) == ("geplant", "")


def test_a_permanent_bounce_wins_then_a_delay_after_sending() -> None:
    bounces = [bounce(False, "später"), bounce(True, "unbekannt")]
    assert send_state(send(), mail("sent"), bounces) == ("unzustellbar", "unbekannt")
    assert send_state(send(), mail("sent"), bounces[:1]) == ("verzoegert", "später")


def test_otherwise_the_outbox_state_in_the_ledger_words() -> None:
    assert send_state(send(), mail("queued", "Zeitüberschreitung"), []) == (
        "wartet", "Zeitüberschreitung")
    assert send_state(send(), mail("storniert"), []) == ("entfallen", "")
    assert send_state(send(), mail("sent"), []) == ("gesendet", "")


def test_the_summary_counts_in_table_order() -> None:
    assert send_summary({"ohne_adresse": 3, "gesendet": 12}) == "12 gesendet, 3 ohne Adresse"
    assert send_summary({}) == "–"


def test_the_mailing_report_says_what_happened_and_that_mails_wait_without_a_server() -> None:
    from ews.circulars.mailing import MailingReport

    report = MailingReport(queued=5, sent=3, retrying=1, failed=1)
    assert report.summary(mail_server=True) == (
        "5 E-Mails vorbereitet, 3 gesendet, 1 warten auf einen neuen Versuch, 1 gescheitert.")
    assert report.summary(mail_server=False).endswith(
        " Kein Mailserver eingestellt: die E-Mails warten im Postausgang.")
