"""Staff file a refused input as the signed return of a declaration, and the intake finishes
it (I/O: database, letter files).

A QR code without or with a wrong checksum, or a scan the intake did not recognise, is refused
by ``ews.network.declarations.record_return``; after checking the document themselves, staff
file it by hand (``ews netzwerk zuordnen``). The network files it; the intake's
``process_input`` writes the Beitrittsbestätigung.
"""

from __future__ import annotations

from datetime import date, datetime

from ews.core.deadlines import BERLIN
from ews.core.errors import NetworkError
from ews.core.models import OUTCOME_LABELS, DeclarationMark, InputState, Outcome
from ews.intake.pipeline import InputResult, letter_path, process_input
from ews.network.declarations import file_return
from ews.register import cases as register
from ews.register import declarations as declarations_register
from ews.register.database import transaction
from ews.runtime.settings import Settings


def file_return_by_hand(settings: Settings, input_id: int, az: str, *, actor: str,
                        now: datetime, signatory: str = "", function: str = "",
                        signed_on: date | None = None) -> InputResult:
    """Staff file a refused input (a QR code without or with a wrong checksum, a scan the
    intake did not recognise) as the signed return of the declaration ``az``, after checking
    it themselves: the intake's filing, logged with ``actor``, and the Beitrittsbestätigung
    written. NetworkError (German) when that cannot be."""
    with transaction(settings.db_url) as session:
        register.lock_decisions(session)
        row = declarations_register.input_of(session, input_id)
        if row is None or row.state == InputState.CLAIMED:
            raise NetworkError(f"Eingang {input_id} gibt es nicht oder er ist noch nicht "
                               "verarbeitet (ews posteingang journal).")
        if row.outcome != Outcome.INVALID.value:
            label = OUTCOME_LABELS.get(row.outcome or "", row.outcome)
            raise NetworkError(f"Eingang {input_id} ist „{label}“; von Hand zuordnen lässt "
                               "sich nur ein abgewiesener (ungültiger) Eingang.")
        declaration = declarations_register.declaration_by_az(session, az.strip())
        if declaration is None:
            raise NetworkError(f"Zum Aktenzeichen {az} ist keine Gemeinsame Erklärung "
                               "ausgestellt (ews netzwerk erklaerung).")
        mark = DeclarationMark(az=declaration.az, ags=declaration.ags, method="text",
                               signatory=signatory.strip() or None,
                               function=function.strip() or None, signed_on=signed_on)
        confirmation = file_return(session, row, declaration, mark, settings, now,
                                   row.stamped_at or row.received_at, actor=actor,
                                   recognised="von Hand")
        row.reasons = [f"Von Hand als Gemeinsame Erklärung {declaration.az} zugeordnet von "
                       f"{actor} am {now.astimezone(BERLIN):%d.%m.%Y}.", *row.reasons]
        if confirmation is not None:
            register.plan_letter(session, input_id=row.id, application_id=row.application_id,
                                 kind=confirmation.kind.value, reference=confirmation.reference,
                                 docx_path=letter_path(confirmation, settings),
                                 data=confirmation.model_dump(mode="json"))
    return process_input(input_id, settings, now)
