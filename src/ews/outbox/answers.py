"""The automatic answer to a mail: whether it gets one, to whom, and its text (I/O: files).

Decided over plain data from ``ews.register.outbox``. A mail gets at most one answer, naming
all its inputs; one address gets at most ``max_answers_per_sender_per_day`` in 24 hours. A
mail that gets none is given the German reason (recorded ``withheld`` by ``ews.outbox.queue``).
Rendering reads the mail templates and the letters (``ews.outbox.templates``, ``office``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from ews.core.deadlines import BERLIN
from ews.core.models import LetterKind, MailKind, OutboxState, Outcome, final_letter_states
from ews.mail.messages import mark_as_reply, normalised_address
from ews.outbox.office import mail_recipients, office_mail
from ews.outbox.templates import RESULT_WORDS, render_body
from ews.register.outbox import AnswerInput, LetterFile, MailToAnswer
from ews.runtime import folders, storage
from ews.runtime.settings import Settings

ANSWER = "antwort"
SUBJECTS = {"registriert": "Eingangsbestätigung", "verspaetet": "Verspätete Bewerbung",
            "ungueltig": "Bewerbung konnte nicht registriert werden",
            "erklaerung": "Beitritt zum Kommunen-Netzwerk: engagiert in NRW"}
#: the kinds of mail (``MailRow.kind``) that are answered, or get a withheld answer
ANSWERED_KINDS = (MailKind.APPLICATION, MailKind.NO_PDF, MailKind.STAFF, MailKind.UNVERIFIED,
                  MailKind.CORRESPONDENCE)
#: what correspondence carried that is answered like an application (also any with a letter)
_ANSWERED_IN_CORRESPONDENCE = (Outcome.REGISTERED.value, Outcome.LATE.value,
                               Outcome.DECLARATION.value)
CORRESPONDENCE_ONLY = ("Keine automatische Antwort: Schriftverkehr zur Akte; das Programmbüro "
                       "antwortet persönlich.")
#: at most this many letters hang on one answer; the others are named in it
ANSWER_MAX_LETTERS = 25
WITHHELD = OutboxState.WITHHELD  # an answer decided against, with the reason in ``last_error``
_WITH_TEAM = (Outcome.REGISTERED.value, Outcome.LATE.value, Outcome.DECLARATION.value)
#: the letters an answer to a mail input carries (the intake's own)
ANSWER_LETTERS = frozenset({LetterKind.EINGANGSBESTAETIGUNG.value,
                            LetterKind.MAENGELSCHREIBEN.value,
                            LetterKind.VERSPAETUNGSSCHREIBEN.value,
                            LetterKind.BEITRITTSBESTAETIGUNG.value})


def answer_letters(item: AnswerInput) -> list[LetterFile]:
    """The letters the answer carries for an input (not the selection's)."""
    return [letter for letter in item.letters if letter.kind in ANSWER_LETTERS]


def letters_final(letters: list[LetterFile], pdf: bool) -> bool:
    """Whether the letters are ready to be sent (converted to PDF, when PDF output is on)."""
    final = final_letter_states(pdf)
    return all(letter.state in final for letter in letters)


def no_answer_reason(mail: MailToAnswer) -> str | None:
    """Why a mail gets no automatic answer at all (German), or None."""
    if mail.kind == MailKind.UNVERIFIED:
        return mail.reasons[0] if mail.reasons else "Absender nicht bestätigt."
    if not mail.sender:
        return "Keine automatische Antwort: die E-Mail hat keine gültige Absenderadresse."
    if mail.kind == MailKind.CORRESPONDENCE and not any(  # e.g. a corrected application
            item.outcome in _ANSWERED_IN_CORRESPONDENCE or answer_letters(item)
            for item in mail.inputs):
        return CORRESPONDENCE_ONLY
    if not any(item.outcome in RESULT_WORDS for item in mail.inputs):
        return "Keine automatische Antwort: alle Dateien der E-Mail lagen bereits vor."
    return None


def answers_per_address(recipient_lists: Iterable[list[str]]) -> Counter[str]:
    """How many answers went to each address (normalised), counting each mail once."""
    counts: Counter[str] = Counter()
    for recipients in recipient_lists:
        counts.update({normalised_address(address) for address in recipients})
    return counts


def answer_recipients(settings: Settings, mail: MailToAnswer) -> list[str]:
    """The sender and the teams of the inputs' applications; no team when they belong to
    different municipalities (one team must not read another municipality's letters)."""
    applications = [item.application for item in mail.inputs if item.outcome in _WITH_TEAM]
    if len({application.ags for application in applications if application}) > 1:
        applications = []
    return mail_recipients(settings, [mail.sender or ""], *applications)


def limit_reason(recipients: list[str], sent_to: Counter[str], limit: int) -> str | None:
    """Why the answer is withheld although the mail deserves one (German), or None."""
    if not recipients:
        return "Keine automatische Antwort: außer dem Programmbüro gibt es keinen Empfänger."
    if sent_to[normalised_address(recipients[0])] >= limit:
        return (f"Keine automatische Antwort: an {recipients[0]} gingen in den letzten 24 "
                f"Stunden bereits {limit} automatische Antworten (Höchstzahl). Die Eingänge "
                "sind trotzdem registriert; bitte bei Bedarf persönlich antworten.")
    return None


def within_limit(recipients: list[str], sent_to: Counter[str], limit: int) -> list[str]:
    """The sender (under the limit) and the team addresses that are under it, too."""
    return recipients[:1] + [address for address in recipients[1:]
                             if sent_to[normalised_address(address)] < limit]


def reference(item: AnswerInput) -> tuple[str, str]:
    """Az. and municipality of an input (a returned declaration has its own Az.)."""
    application = item.application
    az = application.az if application else ""
    if item.declaration_az is not None:
        az = item.declaration_az
    kommune = application.kommune_name if application else (item.kommune_name or "")
    return az, kommune


def build_answer(settings: Settings, mail: MailToAnswer, item: AnswerInput,
                 recipients: list[str], now: datetime) -> EmailMessage:
    """The answer to a mail with one input."""
    result = RESULT_WORDS[item.outcome or Outcome.INVALID.value]
    files = [letter.location for letter in answer_letters(item)]
    az, kommune = reference(item)
    body = render_body(settings, {
        "anrede": "Sehr geehrte Damen und Herren",
        "ergebnis": result,
        "aktenzeichen": az,
        "eingangsnummer": f"{item.id:06d}",
        "kommune": kommune,
        "eingang": _when(item.received_at),
        "runde": settings.round.name,
        "datei": folders.original_name(Path(item.claim_path))
        if mail.kind in (MailKind.APPLICATION, MailKind.CORRESPONDENCE) else "",
        "gruende": list(item.reasons),
        "anhaenge": [storage.location_name(location) for location in files],
        "nicht_angenommen": list(mail.reasons) if mail.kind == MailKind.APPLICATION else [],
        "zur_pruefung": mail.kind == MailKind.STAFF,
        "buero": settings.office.model_dump(),
    })
    subject_reference = az or f"Eingang {item.id:06d}"
    return _reply(settings, mail, f"{SUBJECTS[result]} – {settings.round.name} "
                  f"({subject_reference})", recipients, now, body, files)


def build_collected_answer(settings: Settings, mail: MailToAnswer, recipients: list[str],
                           now: datetime) -> EmailMessage:
    """The one answer to a mail with several inputs: each input's outcome, the letters
    attached (at most ``ANSWER_MAX_LETTERS``; the others are named)."""
    entries = []
    for item in mail.inputs:
        az, kommune = reference(item)
        entries.append({"datei": folders.original_name(Path(item.claim_path)),
                        "ergebnis": RESULT_WORDS.get(item.outcome or "", "doppelt"),
                        "aktenzeichen": az, "kommune": kommune,
                        "eingangsnummer": f"{item.id:06d}", "gruende": list(item.reasons)})
    files = [letter.location for item in mail.inputs for letter in answer_letters(item)]
    body = render_body(settings, {
        "anrede": "Sehr geehrte Damen und Herren",
        "eingang": _when(mail.internaldate),
        "runde": settings.round.name,
        "eingaenge": entries,
        "anhaenge": [storage.location_name(location) for location in files[:ANSWER_MAX_LETTERS]],
        "nicht_angehaengt": [storage.location_name(location)
                             for location in files[ANSWER_MAX_LETTERS:]],
        "nicht_angenommen": list(mail.reasons),
        "buero": settings.office.model_dump(),
    }, template="antwort_sammel.txt.j2")
    subject = f"Ihre E-Mail mit {len(mail.inputs)} Dateien – {settings.round.name}"
    return _reply(settings, mail, subject, recipients, now, body, files[:ANSWER_MAX_LETTERS])


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(BERLIN):%d.%m.%Y, %H:%M} Uhr"


def _reply(settings: Settings, mail: MailToAnswer, subject: str, recipients: list[str],
           now: datetime, body: str, files: list[str]) -> EmailMessage:
    message = office_mail(settings, subject, recipients, now, body, files,
                          auto_submitted="auto-replied")
    return mark_as_reply(message, mail.message_id)
