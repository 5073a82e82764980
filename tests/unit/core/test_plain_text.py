"""Text from outside as a person reads it: no control characters, no bidi overrides."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from ews.core.forms import assess_fields
from ews.core.plain_text import BIDI_CONTROLS, plain_text
from ews.mail.parse import parse_mail
from tests.support import pdfgen


@given(st.text(), st.booleans())
def test_plain_text_has_no_control_or_bidi_characters(text: str, multiline: bool) -> None:
    cleaned = plain_text(text, multiline=multiline)

    allowed = {"\n"} if multiline else set()
    assert not [c for c in cleaned
                if c in BIDI_CONTROLS or (unicodedata.category(c) == "Cc" and c not in allowed)]
    assert unicodedata.is_normalized("NFC", cleaned)


def test_a_name_keeps_its_letters_and_loses_what_hides_them() -> None:
    assert plain_text("Özlem\x00 Çelik\x1b[31m") == "Özlem Çelik[31m"
    assert plain_text("Rechnung\u202efdp.exe") == "Rechnungfdp.exe"
    assert plain_text("Zeile 1\r\nZeile 2\tEnde") == "Zeile 1 Zeile 2 Ende"
    assert plain_text("Zeile 1\r\nZeile 2", multiline=True) == "Zeile 1\nZeile 2"
    assert plain_text("\u0627\u0644\u0639\u0631\u0628\u064a\u0629") == "العربية"  # RTL stays


def test_form_values_are_read_without_control_characters() -> None:
    fields = dict(pdfgen.VALUES)
    fields["kommune_name"] = "Lüdenscheid\x00\x07"
    fields["motivation"] = "Erstens\r\nZweitens\x1b"

    assessment = assess_fields(fields, round_name="EWS 6")

    assert assessment.fields["kommune_name"] == "Lüdenscheid"
    assert assessment.fields["motivation"] == "Erstens\nZweitens"
    assert assessment.is_valid, assessment.reasons


def test_a_subject_with_control_characters_is_read_without_them() -> None:
    raw = (b"From: a@kommune.example\r\nSubject: Bewerbung\x01\x1b[2J \xe2\x80\xaeEWS\r\n"
           b"\r\nText\r\n")

    assert parse_mail(raw).subject == "Bewerbung[2J EWS"
