"""The network's rules over plain data: when a returned declaration is filed, refused or
already on file, and what its filing notes (pure, no I/O).

``ews.network.declarations`` loads the facts from the register and applies the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from ews.core.errors import ConfigurationError
from ews.core.models import DeclarationMark
from ews.documents.declaration_code import checksum_matches

#: a key shorter than this is refused: scripts/setup.sh generates 43 characters
MIN_KEY_CHARS = 16
#: the staff's hint in every refusal of a declaration
BY_HAND = ("Das Programmbüro prüft das Dokument und ordnet es gegebenenfalls von Hand zu "
           "(ews netzwerk zuordnen EINGANGSNUMMER AKTENZEICHEN).")

#: Ehrenamtskarte NRW status of a member (domain facts 4.4), with its German words
EHRENAMTSKARTE = {
    "teilnahme": "nimmt teil",
    "geplant": "Einführung geplant",
    "vergleichbar": "vergleichbares Instrument",
    "nein": "nein",
    "unbekannt": "unbekannt",
}


class Verdict(StrEnum):
    """What becomes of a returned declaration."""

    REFUSED = "refused"  # not proven by its checksum: staff file it by hand
    UNKNOWN = "unknown"  # no declaration of this municipality under that Az.
    ON_FILE = "on_file"  # returned before: this copy is only put on file
    FILED = "filed"  # filed with its case, the member recorded, a confirmation written


@dataclass(frozen=True)
class Issued:
    """What the register knows of the declaration a return names."""

    ags: str
    returned: bool


@dataclass(frozen=True)
class ReturnVerdict:
    verdict: Verdict
    reason: str | None = None  # German, for a refused or unknown return


def unproven_reason(mark: DeclarationMark, key: bytes | ConfigurationError,
                    *, accept_unsigned: bool) -> str | None:
    """Why a recognised declaration may not be filed by itself (German), or None when its
    QR code's checksum proves, under ``key`` (or the error of its missing set-up), that it is
    the document we issued for that Az. and AGS."""
    where = f"Die Gemeinsame Erklärung mit dem Aktenzeichen {mark.az}"
    if mark.checksum:
        if isinstance(key, ConfigurationError):
            return f"{where} kann nicht geprüft werden: {key} {BY_HAND}"
        if checksum_matches(mark.az, mark.ags, mark.checksum, key):
            return None
        return ("Der QR-Code der Gemeinsamen Erklärung ist nicht gültig (Prüfsumme stimmt "
                f"nicht): Er wurde nicht von uns für das Aktenzeichen {mark.az} und diese Kommune "
                "ausgestellt oder wurde verändert. Das Dokument wurde nicht zugeordnet. Bitte "
                "verwenden Sie das Dokument, das wir Ihnen geschickt haben, oder fragen Sie bei "
                f"uns nach. {BY_HAND}")
    if accept_unsigned:
        return None
    if mark.checksum == "":
        return (f"{where} trägt einen QR-Code ohne Prüfsumme (eine ältere Fassung des "
                f"Dokuments); sie wird nicht selbsttätig zugeordnet. {BY_HAND}")
    return (f"{where} wurde nur an ihrem Text erkannt, ein gültiger QR-Code war nicht lesbar; "
            f"sie wird nicht selbsttätig zugeordnet. {BY_HAND}")


def return_verdict(mark: DeclarationMark, refusal: str | None, issued: Issued | None
                   ) -> ReturnVerdict:
    """The verdict on a declaration that came back: ``refusal`` (``unproven_reason``) first,
    then whether we issued that Az. to that municipality, then whether it came back before."""
    if refusal is not None:
        return ReturnVerdict(Verdict.REFUSED, refusal)
    if issued is None or (mark.ags and mark.ags != issued.ags):
        return ReturnVerdict(Verdict.UNKNOWN, (
            f"Das Dokument ist eine Gemeinsame Erklärung mit dem Aktenzeichen {mark.az}, zu "
            "dem bei uns keine Erklärung dieser Kommune ausgestellt ist. Bitte verwenden Sie "
            "das Dokument, das wir Ihnen geschickt haben, oder fragen Sie bei uns nach."))
    return ReturnVerdict(Verdict.ON_FILE if issued.returned else Verdict.FILED)


def on_file_reason(az: str, returned_on: date | None, returned_input_id: int | None) -> str:
    """The note of a copy that came back after the declaration was filed."""
    if returned_on is None:
        return "Die Erklärung lag bereits vor."
    return (f"Die unterschriebene Erklärung ({az}) ist bereits am {returned_on:%d.%m.%Y} "
            f"eingegangen (Eingang {returned_input_id}); dieses Exemplar wurde zu den Akten "
            "genommen.")


def filing_notes(mark: DeclarationMark, *, known_signatory: str) -> list[str]:
    """What staff should check in the roster after filing a return: an unreadable date of
    signature (the receipt date is recorded) or signatory."""
    notes = []
    if mark.signed_on is None:
        notes.append("Das Datum der Unterschrift war nicht lesbar; eingetragen ist das "
                     "Eingangsdatum. Bitte im Netzwerkverzeichnis prüfen.")
    if not mark.signatory and not known_signatory:
        notes.append("Der Name der unterzeichnenden Person war nicht lesbar. Bitte im "
                     "Netzwerkverzeichnis ergänzen.")
    return notes


def earlier_joined(recorded: str | None, joined_on: date) -> str:
    """The roster's joined date (ISO): an earlier recorded one is kept."""
    candidate = joined_on.isoformat()
    return recorded if recorded is not None and recorded <= candidate else candidate
