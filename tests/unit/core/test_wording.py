"""The shared German wording (pure)."""

from datetime import date

from ews.core.wording import (
    REASON_SENTENCES,
    REJECTION_REASONS,
    duplicate_of,
    late_receipt,
)


def test_late_receipt_names_the_last_day_and_its_end() -> None:
    assert late_receipt(date(2026, 3, 2)) == \
        "Eingang nach Ablauf der Bewerbungsfrist (02.03.2026, 24:00 Uhr)."


def test_duplicate_names_the_first_input_and_its_az_when_there_is_one() -> None:
    assert duplicate_of("a.pdf", 7, "13.0.70-001/2026") == (
        "Die Datei ist identisch mit dem Eingang „a.pdf“ (Eingangsnummer 7, Aktenzeichen "
        "13.0.70-001/2026); sie wurde nicht erneut registriert.")
    assert "Aktenzeichen" not in duplicate_of("a.pdf", 7, None)


def test_rejection_categories_have_a_label_and_a_sentence_each() -> None:
    assert list(REJECTION_REASONS) == list(REASON_SENTENCES) == [
        "plaetze", "kriterien", "verspaetet", "unvollstaendig", "sonstiges"]
    assert all(text.endswith(".") for text in [*REJECTION_REASONS.values(),
                                               *REASON_SENTENCES.values()])


