"""Who gets an automatic answer, and when a refused mail is tried again (plain data, no I/O)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ews.outbox.answers import (
    answer_letters,
    answer_recipients,
    answers_per_address,
    letters_final,
    limit_reason,
    no_answer_reason,
    reference,
    within_limit,
)
from ews.outbox.delivery import retry_after
from ews.register.outbox import AnswerInput, ApplicationFacts, LetterFile, MailToAnswer
from ews.runtime.settings import SmtpSettings
from tests.conftest import make_settings

NOW = datetime(2027, 3, 1, 13, 3, tzinfo=UTC)


def application(ags: str, team: str) -> ApplicationFacts:
    return ApplicationFacts(az=f"13.0.70-{ags}/2027", ags=ags, kommune_name=f"Stadt {ags}",
                            fields={"team1_email": team})


def item(number: int, outcome: str | None = "registered", *,
         facts: ApplicationFacts | None = None, declaration_az: str | None = None,
         letters: tuple[LetterFile, ...] = ()) -> AnswerInput:
    return AnswerInput(id=number, outcome=outcome, reasons=(), claim_path=f"/in/{number}.pdf",
                       received_at=NOW, kommune_name="Gemeinde Eingabe", application=facts,
                       declaration_az=declaration_az, letters=letters)


def mail(*inputs: AnswerInput, kind: str = "application", sender: str | None = "b@x.example",
         reasons: tuple[str, ...] = ()) -> MailToAnswer:
    return MailToAnswer(id=7, kind=kind, sender=sender, message_id="m@x.example",
                        internaldate=NOW, reasons=reasons, inputs=inputs)


def test_no_answer_for_unverified_senderless_or_known_only_mails() -> None:
    assert no_answer_reason(mail(item(1), kind="unverified", reasons=("DMARC fail",))) == (
        "DMARC fail")
    assert no_answer_reason(mail(item(1), kind="unverified")) == "Absender nicht bestätigt."
    assert "keine gültige Absenderadresse" in (no_answer_reason(mail(item(1), sender=None)) or "")
    assert "lagen bereits vor" in (no_answer_reason(mail(item(1, outcome="duplicate"))) or "")
    assert no_answer_reason(mail(item(1), item(2, outcome="duplicate"))) is None


def test_teams_of_two_municipalities_are_not_told_each_others_letters(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, mail_from="bewerbung@ews.test")
    one = item(1, facts=application("05111000", "t1@x.example"))
    other = item(2, facts=application("05112000", "t2@x.example"))
    same = item(3, facts=application("05111000", "t3@x.example"))
    assert answer_recipients(settings, mail(one, other)) == ["b@x.example"]
    assert answer_recipients(settings, mail(one, same)) == [
        "b@x.example", "t1@x.example", "t3@x.example"]
    invalid = item(4, outcome="invalid", facts=application("05113000", "t4@x.example"))
    assert answer_recipients(settings, mail(one, invalid)) == ["b@x.example", "t1@x.example"]


def test_the_daily_limit_withholds_by_sender_and_drops_teams_over_it() -> None:
    sent_to = answers_per_address([["B+tag@x.example", "b@x.example"], ["t@x.example"]])
    assert sent_to == Counter({"b@x.example": 1, "t@x.example": 1})
    assert limit_reason([], sent_to, 1) is not None
    assert "Höchstzahl" in (limit_reason(["b@x.example"], sent_to, 1) or "")
    assert limit_reason(["b@x.example"], sent_to, 2) is None
    assert within_limit(["n@x.example", "t@x.example", "u@x.example"], sent_to, 1) == [
        "n@x.example", "u@x.example"]


def test_a_returned_declaration_has_its_own_az() -> None:
    facts = application("05111000", "t@x.example")
    assert reference(item(1, facts=facts)) == ("13.0.70-05111000/2027", "Stadt 05111000")
    assert reference(item(1, facts=facts, declaration_az="E-1")) == ("E-1", "Stadt 05111000")
    assert reference(item(1)) == ("", "Gemeinde Eingabe")


def test_only_the_intakes_letters_ride_along_and_wait_for_pdf() -> None:
    letters = (LetterFile("eingangsbestaetigung", "rendered", "a.docx"),
               LetterFile("zusage", "planned", "z.docx"))
    carried = answer_letters(item(1, letters=letters))
    assert [letter.location for letter in carried] == ["a.docx"]
    assert letters_final(carried, pdf=False)
    assert not letters_final(carried, pdf=True)


def test_temporary_refusals_back_off_until_the_last_attempt() -> None:
    smtp = SmtpSettings(max_attempts=3, retry_seconds=60)
    first = retry_after(smtp, 1, True, "451 later", NOW)
    assert first.next_attempt_at == NOW + timedelta(seconds=60)
    assert retry_after(smtp, 2, True, "x", NOW).next_attempt_at == NOW + timedelta(seconds=120)
    last = retry_after(smtp, 3, True, "451 later", NOW)
    assert last.next_attempt_at is None and "nach 3 Versuchen" in last.error
    permanent = retry_after(smtp, 1, False, "550 no", NOW)
    assert permanent.next_attempt_at is None and "endgültig" in permanent.error


def test_correspondence_is_answered_only_for_what_it_brought_that_has_a_letter() -> None:
    scan = item(1, "invalid")
    assert "Schriftverkehr" in (no_answer_reason(mail(scan, kind="schriftverkehr")) or "")
    registered = item(2)
    assert no_answer_reason(mail(registered, kind="schriftverkehr")) is None
    defect = item(3, "invalid", letters=(LetterFile("maengelschreiben", "rendered", "/m"),))
    assert no_answer_reason(mail(defect, kind="schriftverkehr")) is None
