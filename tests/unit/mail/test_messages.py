"""Outgoing messages built from plain data: recipients, headers, attachments (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

from ews.mail.messages import (
    DOCX_SUBTYPE,
    Attached,
    attachment_subtype,
    build_message,
    mark_as_reply,
    normalised_address,
    team_addresses,
    unique_recipients,
)

NOW = datetime(2027, 3, 1, 13, 3, tzinfo=UTC)


def test_one_spelling_per_mailbox() -> None:
    assert normalised_address(" Anna.Schmidt+ews@Stadt.Example ") == "anna.schmidt@stadt.example"
    assert normalised_address("+only@x.example") == "+only@x.example"
    assert normalised_address("Mu\u0308ller@x.example") == "müller@x.example"


def test_team_addresses_are_the_form_fields_that_look_like_addresses() -> None:
    fields = {"team1_email": " anna@stadt.example ", "team2_email": "keine Angabe",
              "kommune_name": "x@y"}
    assert team_addresses(fields) == ["anna@stadt.example"]
    assert team_addresses({"team2_email": 3}) == []


def test_recipients_are_unique_without_the_office_and_empty_ones() -> None:
    addresses = ["", "A@x.example", "a@X.example", "office@ews.test", "b@x.example"]
    assert unique_recipients("Office@EWS.test", addresses) == ["A@x.example", "b@x.example"]


def test_letters_are_pdf_or_docx() -> None:
    assert attachment_subtype("Brief.PDF") == "pdf"
    assert attachment_subtype("Brief.docx") == DOCX_SUBTYPE


def test_message_has_to_cc_headers_text_html_and_attachments() -> None:
    message = build_message("bewerbung@ews.test", "Betreff", ["a@x.example", "b@x.example"], NOW,
                            "Text\n", [Attached("brief.pdf", b"%PDF-1.7")],
                            auto_submitted="auto-generated", html="<p>Text</p>",
                            headers={"X-EWS-Versand": "rundschreiben:1"})
    parsed = message_from_bytes(message.as_bytes(policy=policy.SMTP), policy=policy.default)
    assert (parsed["To"], parsed["Cc"], parsed["From"]) == (
        "a@x.example", "b@x.example", "bewerbung@ews.test")
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["X-EWS-Versand"] == "rundschreiben:1"
    assert str(parsed["Message-ID"]).endswith("@ews.test>")
    assert "+0100" in str(parsed["Date"])  # Berlin time
    assert [part.get_content_type() for part in parsed.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "application/pdf"]
    attachment = next(parsed.iter_attachments())
    assert (attachment.get_filename(), attachment.get_content()) == ("brief.pdf", b"%PDF-1.7")


def test_a_reply_names_the_mail_it_answers() -> None:
    message = build_message("o@ews.test", "s", ["a@x.example"], NOW, "t", [],
                            auto_submitted="auto-replied")
    assert mark_as_reply(message, "abc@x.example")["In-Reply-To"] == "<abc@x.example>"
    assert message["References"] == "<abc@x.example>"
    unanswered = build_message("o@ews.test", "s", ["a@x.example"], NOW, "t", [],
                               auto_submitted="auto-replied")
    assert mark_as_reply(unanswered, None)["In-Reply-To"] is None
