"""The Kommunen-Netzwerk: engagiert in NRW — sign-up documents for the Gemeinsame Erklärung,
their signed return, and the roster of members (I/O: database, letter files).

A declaration is issued under an Az.: a participant's under its application's, any other
municipality's under a new one. Its QR code carries that Az. and the municipality's key, so
the signed copy that comes back — scanned into the inbox or attached to a mail — is filed with
its case (``record_return``, called by the intake in its deciding transaction), the
signatory, function and date go into the roster, and a Beitrittsbestätigung is written.

The code also carries a checksum (HMAC under ``EWS_NETWORK__QR_KEY``), so nobody can print a
code that "returns" the declaration of a municipality that did not sign. Only a valid
checksum files a return by itself; a wrong one is refused as forged or altered. A code without
one (printed before there were checksums) or an Az. read only from the text is refused too,
unless ``EWS_NETWORK__ACCEPT_UNSIGNED``; staff check such an input and file it by hand
(``file_return_by_hand``, ``ews netzwerk zuordnen``), logged with their name.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ews.core.deadlines import BERLIN
from ews.core.errors import ConfigurationError, EwsError
from ews.core.forms import assess_fields
from ews.core.models import (
    OUTCOME_LABELS,
    DeclarationMark,
    LetterKind,
    Municipality,
    MunicipalityKind,
    Outcome,
    Recipient,
)
from ews.documents.declaration_scan import checksum_matches, qr_payload
from ews.letters.render import LetterData
from ews.outbox.conversion import convert_stored
from ews.outbox.letters import letter_path
from ews.register import cases as register
from ews.register import inputs
from ews.register.schema import ApplicationRow, DeclarationRow, Input, NetworkMember
from ews.runtime.settings import Settings

if TYPE_CHECKING:
    from ews.intake.pipeline import InputResult

#: a key shorter than this is refused: scripts/setup.sh generates 43 characters
MIN_KEY_CHARS = 16
#: the staff's hint in every refusal of a declaration
_BY_HAND = ("Das Programmbüro prüft das Dokument und ordnet es gegebenenfalls von Hand zu "
            "(ews netzwerk zuordnen EINGANGSNUMMER AKTENZEICHEN).")

#: Ehrenamtskarte NRW status of a member (domain facts 4.4), with its German words
EHRENAMTSKARTE = {
    "teilnahme": "nimmt teil",
    "geplant": "Einführung geplant",
    "vergleichbar": "vergleichbares Instrument",
    "nein": "nein",
    "unbekannt": "unbekannt",
}


class NetworkError(EwsError):
    """A roster change that cannot be made (German message)."""


def declaration_by_az(session: Session, az: str) -> DeclarationRow | None:
    return session.scalars(select(DeclarationRow).where(DeclarationRow.az == az)).first()


def plan_declaration_for(session: Session, application: ApplicationRow, recipient: Recipient,
                         settings: Settings, now: datetime, *, actor: str) -> DeclarationRow:
    """Issue the declaration of an accepted application under its Az. and plan its document
    as a letter of the case (caller's transaction; once per application)."""
    existing = session.scalars(select(DeclarationRow).where(
        DeclarationRow.application_id == application.id)).first()
    if existing is not None:
        return existing
    fields = application.fields
    assessment = assess_fields(dict(fields), round_name=application.round_name)
    name = assessment.municipality.letter_name if assessment.municipality \
        else application.kommune_name
    row = DeclarationRow(
        az=application.az, ags=application.ags, kommune_name=name,
        application_id=application.id, hvb_name=_text(fields.get("hvb_name")),
        hvb_function=_text(fields.get("hvb_funktion")),
        contact_person=_text(fields.get("team1_name")), state="issued", issued_by=actor,
        issued_at=now)
    data = declaration_data(row, recipient, settings, now)
    row.docx_path = letter_path(data, settings)
    session.add(row)
    register.plan_letter(session, input_id=application.input_id, application_id=application.id,
                         kind=LetterKind.GEMEINSAME_ERKLAERUNG.value, reference=row.az,
                         docx_path=row.docx_path, data=data.model_dump(mode="json"))
    return row


def declaration_data(row: DeclarationRow, recipient: Recipient, settings: Settings,
                     now: datetime) -> LetterData:
    return LetterData(
        kind=LetterKind.GEMEINSAME_ERKLAERUNG, recipient=recipient, reference=row.az,
        letter_date=now.astimezone(BERLIN).date(), round_name=settings.round.name,
        kommune_name=row.kommune_name, ags=row.ags, hvb_name=row.hvb_name,
        hvb_function=row.hvb_function, contact_person=row.contact_person,
        qr_payload=qr_payload(row.az, row.ags, qr_key(settings)))


def qr_key(settings: Settings) -> bytes:
    """The key of the QR codes' checksums; ConfigurationError when none is set up."""
    key = settings.network.qr_key.get_secret_value().strip()
    if len(key) < MIN_KEY_CHARS:
        raise ConfigurationError(
            "Für den QR-Code der Gemeinsamen Erklärung fehlt der Schlüssel EWS_NETWORK__QR_KEY "
            f"(mindestens {MIN_KEY_CHARS} Zeichen) in config/ews.env; scripts/setup.sh legt "
            "ihn an. Auf allen Rechnern muss derselbe stehen.")
    return key.encode()


def unproven_reason(mark: DeclarationMark, settings: Settings) -> str | None:
    """Why a recognised declaration may not be filed by itself (German), or None when its
    QR code's checksum proves it is the document we issued for that Az. and AGS."""
    where = f"Die Gemeinsame Erklärung mit dem Aktenzeichen {mark.az}"
    if mark.checksum:
        try:
            key = qr_key(settings)
        except ConfigurationError as exc:
            return f"{where} kann nicht geprüft werden: {exc} {_BY_HAND}"
        if checksum_matches(mark.az, mark.ags, mark.checksum, key):
            return None
        return ("Der QR-Code der Gemeinsamen Erklärung ist nicht gültig (Prüfsumme stimmt "
                f"nicht): Er wurde nicht von uns für das Aktenzeichen {mark.az} und diese Kommune "
                "ausgestellt oder wurde verändert. Das Dokument wurde nicht zugeordnet. Bitte "
                "verwenden Sie das Dokument, das wir Ihnen geschickt haben, oder fragen Sie bei "
                f"uns nach. {_BY_HAND}")
    if settings.network.accept_unsigned:
        return None
    if mark.checksum == "":
        return (f"{where} trägt einen QR-Code ohne Prüfsumme (eine ältere Fassung des "
                f"Dokuments); sie wird nicht selbsttätig zugeordnet. {_BY_HAND}")
    return (f"{where} wurde nur an ihrem Text erkannt, ein gültiger QR-Code war nicht lesbar; "
            f"sie wird nicht selbsttätig zugeordnet. {_BY_HAND}")


def issue_on_demand(session: Session, municipality: Municipality, settings: Settings,
                    now: datetime, *, actor: str, hvb_name: str = "", hvb_function: str = "",
                    contact_person: str = "") -> tuple[DeclarationRow, LetterData, bool]:
    """A declaration for any NRW municipality (caller's transaction). One not yet returned
    is reused (with updated names), else a new one is issued under a new Az. Returns the row,
    its document's data and whether it is new; the caller renders the document."""
    open_one = session.scalars(select(DeclarationRow).where(
        DeclarationRow.ags == municipality.ags, DeclarationRow.state == "issued")
        .order_by(DeclarationRow.id.desc())).first()
    is_new = open_one is None
    if open_one is None:
        year = now.astimezone(BERLIN).year
        az, _ = register.issue_az(session, year, settings.az)
        open_one = DeclarationRow(az=az, ags=municipality.ags,
                                  kommune_name=municipality.letter_name, state="issued",
                                  issued_by=actor, issued_at=now)
        session.add(open_one)
        session.flush()
    open_one.hvb_name = hvb_name.strip() or open_one.hvb_name or ""
    open_one.hvb_function = hvb_function.strip() or open_one.hvb_function or ""
    open_one.contact_person = contact_person.strip() or open_one.contact_person or ""
    data = declaration_data(open_one, municipality_recipient(municipality, open_one), settings,
                            now)
    open_one.docx_path = letter_path(data, settings)
    register.log_event(session, actor=actor, action="erklaerung-ausgestellt",
                       subject=open_one.az, detail={"ags": municipality.ags, "neu": is_new})
    return open_one, data, is_new


def municipality_recipient(municipality: Municipality, row: DeclarationRow) -> Recipient:
    """The municipality's address from the register data (seat of administration)."""
    head = {MunicipalityKind.KREIS: "Die Landrätin / Der Landrat",
            MunicipalityKind.KREISFREIE_STADT: "Die Oberbürgermeisterin / Der Oberbürgermeister"
            }.get(municipality.kind, "Die Bürgermeisterin / Der Bürgermeister")
    if row.hvb_name:
        head = f"{row.hvb_function} {row.hvb_name}".strip()
    town = f"{municipality.plz or ''} {municipality.short_name}".strip()
    return Recipient(lines=[municipality.letter_name, head, town],
                     salutation="Sehr geehrte Damen und Herren,")


def record_return(session: Session, row: Input, mark: DeclarationMark, settings: Settings,
                  now: datetime, received: datetime) -> LetterData | None:
    """A signed declaration came back as input ``row`` (caller's deciding transaction): file
    it with its case, record the member, and return the Beitrittsbestätigung to write (None
    when there is none: not proven by its checksum, unknown Az. or already returned). Sets the
    input's outcome."""
    refusal = unproven_reason(mark, settings)
    if refusal is not None:
        inputs.set_outcome(row, Outcome.INVALID, [refusal])
        register.log_event(session, actor="posteingang", action="erklaerung-abgewiesen",
                           subject=mark.az, detail={"eingang": row.id, "ags": mark.ags,
                                                    "erkannt": mark.method, "grund": refusal})
        return None
    declaration = declaration_by_az(session, mark.az)
    if declaration is None or (mark.ags and mark.ags != declaration.ags):
        inputs.set_outcome(row, Outcome.INVALID, [
            f"Das Dokument ist eine Gemeinsame Erklärung mit dem Aktenzeichen {mark.az}, zu "
            "dem bei uns keine Erklärung dieser Kommune ausgestellt ist. Bitte verwenden Sie "
            "das Dokument, das wir Ihnen geschickt haben, oder fragen Sie bei uns nach."])
        return None
    return _file_return(session, row, declaration, mark, settings, now, received,
                        actor="posteingang", recognised=mark.method)


def file_return_by_hand(settings: Settings, input_id: int, az: str, *, actor: str,
                        now: datetime, signatory: str = "", function: str = "",
                        signed_on: date | None = None) -> InputResult:
    """Staff file a refused input (a QR code without or with a wrong checksum, a scan the
    intake did not recognise) as the signed return of the declaration ``az``, after checking
    it themselves: the intake's filing, logged with ``actor``, and the Beitrittsbestätigung
    written. NetworkError (German) when that cannot be."""
    from ews.intake.pipeline import process_input
    from ews.register.database import session_factory

    with session_factory(settings.db_url).begin() as session:
        register.lock_decisions(session)
        row = session.get(Input, input_id)
        if row is None or row.state == "claimed":
            raise NetworkError(f"Eingang {input_id} gibt es nicht oder er ist noch nicht "
                               "verarbeitet (ews journal).")
        if row.outcome != Outcome.INVALID.value:
            label = OUTCOME_LABELS.get(row.outcome or "", row.outcome)
            raise NetworkError(f"Eingang {input_id} ist „{label}“; von Hand zuordnen lässt "
                               "sich nur ein abgewiesener (ungültiger) Eingang.")
        declaration = declaration_by_az(session, az.strip())
        if declaration is None:
            raise NetworkError(f"Zum Aktenzeichen {az} ist keine Gemeinsame Erklärung "
                               "ausgestellt (ews erklaerung).")
        mark = DeclarationMark(az=declaration.az, ags=declaration.ags, method="text",
                               signatory=signatory.strip() or None,
                               function=function.strip() or None, signed_on=signed_on)
        confirmation = _file_return(session, row, declaration, mark, settings, now,
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


def _file_return(session: Session, row: Input, declaration: DeclarationRow,
                 mark: DeclarationMark, settings: Settings, now: datetime, received: datetime,
                 *, actor: str, recognised: str) -> LetterData | None:
    inputs.set_outcome(row, Outcome.DECLARATION)
    row.declaration_id = declaration.id
    row.application_id = declaration.application_id
    row.kommune_name, row.ags = declaration.kommune_name, declaration.ags
    if declaration.state == "returned":
        row.reasons = [f"Die unterschriebene Erklärung ({declaration.az}) ist bereits am "
                       f"{declaration.returned_at.astimezone(BERLIN):%d.%m.%Y} eingegangen "
                       f"(Eingang {declaration.returned_input_id}); dieses Exemplar wurde "
                       "zu den Akten genommen."
                       if declaration.returned_at else "Die Erklärung lag bereits vor."]
        return None
    notes = []
    signatory = mark.signatory or declaration.hvb_name
    function = mark.function or declaration.hvb_function
    signed_on = mark.signed_on or received.astimezone(BERLIN).date()
    if mark.signed_on is None:
        notes.append("Das Datum der Unterschrift war nicht lesbar; eingetragen ist das "
                     "Eingangsdatum. Bitte im Netzwerkverzeichnis prüfen.")
    if not mark.signatory and not declaration.hvb_name:
        notes.append("Der Name der unterzeichnenden Person war nicht lesbar. Bitte im "
                     "Netzwerkverzeichnis ergänzen.")
    row.reasons = notes
    declaration.state, declaration.returned_input_id = "returned", row.id
    declaration.returned_at = received
    joined = received.astimezone(BERLIN).date()
    member = join(session, declaration, signatory=signatory, function=function,
                  signed_on=signed_on, joined_on=joined, actor=actor, now=now)
    register.log_event(session, actor=actor, action="erklaerung-eingegangen",
                       subject=declaration.az,
                       detail={"eingang": row.id, "ags": declaration.ags, "erkannt": recognised,
                               "unterzeichnet_von": signatory, "funktion": function,
                               "datum": signed_on.isoformat()})
    return LetterData(
        kind=LetterKind.BEITRITTSBESTAETIGUNG, recipient=_recipient_of(session, declaration),
        reference=declaration.az, letter_date=now.astimezone(BERLIN).date(),
        round_name=settings.round.name, kommune_name=declaration.kommune_name,
        received_at=received, source_name=row.source_name, ags=declaration.ags,
        signed_by=signatory, signed_function=function, signed_on=signed_on,
        joined_on=date.fromisoformat(member.joined_on))


def _recipient_of(session: Session, declaration: DeclarationRow) -> Recipient:
    application = register.application_of(session, declaration.application_id)
    if application is not None:
        recipient = assess_fields(dict(application.fields),
                                  round_name=application.round_name).recipient
        if recipient is not None:
            return recipient
    from ews.core.municipalities import by_key

    municipality = by_key(declaration.ags).municipality
    if municipality is None:
        return Recipient(lines=[declaration.kommune_name],
                         salutation="Sehr geehrte Damen und Herren,")
    return municipality_recipient(municipality, declaration)


def join(session: Session, declaration: DeclarationRow | None, *, signatory: str,
         function: str, signed_on: date | None, joined_on: date, actor: str, now: datetime,
         ags: str | None = None, kommune_name: str | None = None) -> NetworkMember:
    """Add a member to the roster, or complete an existing entry (an earlier joined date
    is kept)."""
    key = declaration.ags if declaration else ags
    if key is None:
        raise NetworkError("Für die Aufnahme ins Netzwerk fehlt der Gemeindeschlüssel.")
    member = session.scalars(select(NetworkMember).where(NetworkMember.ags == key)).first()
    if member is None:
        member = NetworkMember(ags=key, kommune_name=kommune_name or (
            declaration.kommune_name if declaration else key), joined_on=joined_on.isoformat(),
            ehrenamtskarte="unbekannt", source="", note="", contact_person="",
            contact_email="", signed_by="", signed_function="", updated_by=actor,
            updated_at=now)
        session.add(member)
    elif joined_on.isoformat() < member.joined_on:
        member.joined_on = joined_on.isoformat()
    if declaration is not None:
        member.declaration_id = declaration.id
        _prefill_from_application(session, member, declaration)
    member.signed_by, member.signed_function = signatory or member.signed_by, \
        function or member.signed_function
    member.signed_on = signed_on.isoformat() if signed_on else member.signed_on
    member.updated_by, member.updated_at = actor, now
    session.flush()
    return member


def _prefill_from_application(session: Session, member: NetworkMember,
                              declaration: DeclarationRow) -> None:
    """Contact person, e-mail and Ehrenamtskarte as the application stated them."""
    member.contact_person = member.contact_person or declaration.contact_person
    application = register.application_of(session, declaration.application_id)
    if application is None:
        member.source = member.source or "Erklärung auf Anfrage"
        return
    member.source = member.source or application.round_name
    email = application.fields.get("team1_email")
    member.contact_email = member.contact_email or (email if isinstance(email, str) else "")
    if application.fields.get("ehrenamtskarte") is True and \
            member.ehrenamtskarte == "unbekannt":
        member.ehrenamtskarte = "teilnahme"


def update_member(session: Session, municipality: Municipality, *, actor: str, now: datetime,
                  changes: dict[str, Any]) -> NetworkMember:
    """Staff record or correct a member's entry (also members who joined before this service
    existed); every change is logged."""
    member = session.scalars(select(NetworkMember)
                             .where(NetworkMember.ags == municipality.ags)).first()
    if member is None:
        joined = changes.get("joined_on")
        if not isinstance(joined, date):
            raise NetworkError(f"{municipality.letter_name} ist noch nicht im Netzwerk; für "
                               "die Aufnahme bitte das Beitrittsdatum angeben (--beitritt).")
        member = join(session, None, signatory="", function="", signed_on=None,
                      joined_on=joined, actor=actor, now=now, ags=municipality.ags,
                      kommune_name=municipality.letter_name)
    if "ehrenamtskarte" in changes and changes["ehrenamtskarte"] not in EHRENAMTSKARTE:
        raise NetworkError(f"Unbekannter Stand der Ehrenamtskarte „{changes['ehrenamtskarte']}“;"
                           f" erlaubt: {', '.join(EHRENAMTSKARTE)}.")
    before = roster_record(member)
    for name, value in changes.items():
        setattr(member, name, value.isoformat() if isinstance(value, date) else value)
    member.updated_by, member.updated_at = actor, now
    session.flush()
    register.log_event(session, actor=actor, action="netzwerk", subject=municipality.ags,
                       detail={"vorher": before, "nachher": roster_record(member)})
    return member


def roster(session: Session) -> list[dict[str, Any]]:
    """Every member, by name."""
    members = session.scalars(select(NetworkMember).order_by(NetworkMember.kommune_name))
    return [roster_record(member) for member in members]


def roster_record(member: NetworkMember) -> dict[str, Any]:
    return {
        "ags": member.ags, "kommune": member.kommune_name, "beitritt": member.joined_on,
        "unterzeichnet_von": member.signed_by, "funktion": member.signed_function,
        "unterzeichnet_am": member.signed_on, "ansprechperson": member.contact_person,
        "email": member.contact_email, "ehrenamtskarte": member.ehrenamtskarte,
        "querschnittsaufgabe": member.cross_cutting_task,
        "kontinuierliche_mitarbeit": member.continuous_cooperation,
        "erklaerung_unterzeichnet": member.declaration_id is not None or bool(member.signed_on),
        "quelle": member.source, "notiz": member.note,
    }


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def issue_declaration_document(settings: Settings, municipality: Municipality, now: datetime,
                               *, actor: str, hvb_name: str = "", hvb_function: str = "",
                               contact_person: str = "") -> tuple[str, str, bool]:
    """``ews erklaerung``: issue (or reissue) a municipality's declaration and write it as
    .docx and PDF/A into its case folder. Returns the document's location, its Az. and whether
    it is new. A crash after the issue is repaired by calling again (the open one is reused)."""
    from ews.letters.render import letter_bytes
    from ews.register.database import session_factory
    from ews.runtime.storage import output_store

    with session_factory(settings.db_url).begin() as session:
        row, data, is_new = issue_on_demand(session, municipality, settings, now, actor=actor,
                                            hvb_name=hvb_name, hvb_function=hvb_function,
                                            contact_person=contact_person)
        az, docx = row.az, str(row.docx_path)
    output_store(settings).put(docx, letter_bytes(data, settings.office, settings.templates_dir))
    if not settings.letters.pdf:
        return docx, az, is_new
    made, failure = convert_stored([docx], settings)
    if failure is not None:
        raise failure
    return made[docx], az, is_new
