"""German sentences the service writes in more than one place, kept in one table (pure).

The late-receipt sentence of the journal, the duplicate's reason, and the rejection categories
of the selection (the short label staff choose from and the sentence an Absage says). Which
letter states count as finished is a rule of states: ``ews.core.models.final_letter_states``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


def late_receipt(last_day: date) -> str:
    """The reason of an input received after the deadline (journal, Verspätungsschreiben)."""
    return f"Eingang nach Ablauf der Bewerbungsfrist ({last_day:%d.%m.%Y}, 24:00 Uhr)."


def duplicate_of(source_name: str, input_id: int, az: str | None) -> str:
    """The reason of an input whose bytes another input brought before."""
    reference = f", Aktenzeichen {az}" if az else ""
    return (f"Die Datei ist identisch mit dem Eingang „{source_name}“ "
            f"(Eingangsnummer {input_id}{reference}); sie wurde nicht erneut registriert.")


@dataclass(frozen=True)
class RejectionWording:
    """A rejection category in words: ``label`` for staff, ``sentence`` for the Absage."""

    label: str
    sentence: str


#: the reason categories of a rejection (selection), by key
REJECTION_WORDING = {
    "plaetze": RejectionWording(
        "Alle Plätze der Runde sind vergeben.",
        "Die Zahl der Plätze ist begrenzt, und alle Plätze dieser Runde sind vergeben."),
    "kriterien": RejectionWording(
        "Die Teilnahmevoraussetzungen sind nicht erfüllt.",
        "Die Bewerbung erfüllt die Teilnahmevoraussetzungen dieser Runde nicht."),
    "verspaetet": RejectionWording(
        "Die Bewerbung ist nach Ablauf der Frist eingegangen.",
        "Die Bewerbung ist nach Ablauf der Bewerbungsfrist bei uns eingegangen."),
    "unvollstaendig": RejectionWording(
        "Die Bewerbung ist unvollständig geblieben.",
        "Die Bewerbungsunterlagen sind bis zum Auswahltermin unvollständig geblieben."),
    "sonstiges": RejectionWording(
        "Sonstiger Grund (siehe Schreiben).",
        "Wir konnten bei der Auswahl leider nicht alle Bewerbungen berücksichtigen."),
}
#: the categories as staff choose them (``ews auswahl``)
REJECTION_REASONS = {key: wording.label for key, wording in REJECTION_WORDING.items()}
#: how an Absage names the category (respectful, complete sentences)
REASON_SENTENCES = {key: wording.sentence for key, wording in REJECTION_WORDING.items()}


