"""A bounced recipient in a clear German sentence for office staff (pure, no I/O)."""

from __future__ import annotations

import re

from ews.mail.bounce_recipients import FailedRecipient

# RFC 3463 subject.detail ("1.1" of 5.1.1 and 4.1.1), then the subject alone ("7" of 5.7.x).
_NO_ADDRESS = "Die Empfangsadresse gibt es nicht"
_NO_DOMAIN = "Die Domain der Empfangsadresse ist unbekannt oder nicht erreichbar"
_CAUSES_DE = {
    "1.0": _NO_ADDRESS, "1.1": _NO_ADDRESS, "1.2": _NO_DOMAIN, "4.4": _NO_DOMAIN,
    "1.10": f"{_NO_ADDRESS}, der Empfangsserver kennt sie nicht",
    "1.3": "Die Empfangsadresse ist fehlerhaft geschrieben",
    "1.6": "Die Empfangsperson ist unter dieser Adresse nicht mehr erreichbar",
    "2.1": "Das Postfach ist gesperrt oder deaktiviert",
    "2.2": "Das Postfach ist voll",
    "2.3": "Die Nachricht ist zu groß für das Postfach",
    "3.4": "Die Nachricht ist zu groß für den Empfangsserver",
    "4.1": "Der Empfangsserver hat nicht geantwortet",
    "4.7": "Die Zustellung wurde nach zu langer Wartezeit aufgegeben",
    "1": "Mit der Empfangsadresse stimmt etwas nicht",
    "2": "Das Postfach kann die Nachricht nicht annehmen",
    "3": "Das Mailsystem des Empfängers hat ein Problem",
    "4": "Der Weg zum Empfangsserver ist gestört",
    "6": "Der Inhalt der Nachricht wurde nicht angenommen",
    "7": "Der Empfangsserver hat die Nachricht abgelehnt, z. B. wegen seiner Spam- oder "
         "Sicherheitsrichtlinie",
}
_GUESSES = tuple((re.compile(pattern, re.I), detail) for pattern, detail in (  # words, no code
    (r"host (?:not found|unknown)|find any host|domain not found|unrouteable", "1.2"),
    (r"user unknown|unknown user|no such user|does not exist|no mailbox|recipient not found"
     r"|unknown recipient|existiert nicht|nicht bekannt", "1.1"),
    (r"quota|mailbox (?:is )?full|speicher|postfach (?:ist )?voll", "2.2"),
    (r"too large|too big|size limit|zu groß", "3.4"),
    (r"spam|block|policy", "7.1"),
))


def reason_de(recipient: FailedRecipient) -> str:
    """A clear German sentence for office staff, e.g. 'Unzustellbar an hans@example.org: Die
    Empfangsadresse gibt es nicht (5.1.1). Meldung des Servers: 550 5.1.1 … User unknown'."""
    lead = "Unzustellbar an" if recipient.permanent else "Noch nicht zugestellt an"
    code = f" ({recipient.status})" if recipient.status else ""
    text = f"{lead} {recipient.address or 'eine unbekannte Adresse'}: {_cause_de(recipient)}{code}."
    if not recipient.permanent:
        text += " Der Fehler ist vorübergehend, der Server versucht es weiter."
    if recipient.diagnostic:
        text += f" Meldung des Servers: {recipient.diagnostic}"
    return text


def _cause_de(recipient: FailedRecipient) -> str:
    detail = recipient.status.partition(".")[2] or next(
        (guess for pattern, guess in _GUESSES if pattern.search(recipient.diagnostic)), "")
    cause = _CAUSES_DE.get(detail) or _CAUSES_DE.get(detail.partition(".")[0])
    if cause:
        return cause
    if recipient.permanent:
        return "Der Empfangsserver hat die Nachricht abgelehnt"
    return "Die Zustellung ist vorübergehend gescheitert"

