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
(``ews.intake.declaration_returns.file_return_by_hand``, ``ews netzwerk zuordnen``), logged
with their name. The rules are ``ews.network.rules``; the roster is ``ews.network.roster``.
"""

from __future__ import annotations

from datetime import date, datetime

from ews.core.deadlines import BERLIN, answer_due
from ews.core.errors import ConfigurationError
from ews.core.forms import assess_fields
from ews.core.models import (
    DeclarationMark,
    DeclarationState,
    FollowUpKind,
    LetterKind,
    Municipality,
    MunicipalityKind,
    Outcome,
    Recipient,
)
from ews.core.municipalities import by_key
from ews.documents.declaration_code import qr_payload
from ews.letters.context import LetterData
from ews.letters.render import letter_bytes
from ews.network import rules
from ews.network.roster import join
from ews.network.rules import MIN_KEY_CHARS, Issued, Verdict
from ews.outbox.conversion import convert_stored
from ews.outbox.letters import letter_path
from ews.register import cases as register
from ews.register import declarations as declarations_register
from ews.register import follow_ups, inputs
from ews.register.database import Session, transaction
from ews.register.schema import ApplicationRow, DeclarationRow, Input
from ews.runtime.settings import Settings
from ews.runtime.storage import output_store


def plan_declaration_for(session: Session, application: ApplicationRow, recipient: Recipient,
                         settings: Settings, now: datetime, *, actor: str) -> DeclarationRow:
    """Issue the declaration of an accepted application under its Az. and plan its document
    as a letter of the case (caller's transaction; once per application)."""
    existing = declarations_register.declaration_of_application(session, application.id)
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
    declarations_register.add_declaration(session, row)
    register.plan_letter(session, input_id=application.input_id, application_id=application.id,
                         kind=LetterKind.GEMEINSAME_ERKLAERUNG.value, reference=row.az,
                         docx_path=row.docx_path, data=data.model_dump(mode="json"))
    expect_return(session, row, settings, now, actor=actor)
    return row


def expect_return(session: Session, row: DeclarationRow, settings: Settings, now: datetime,
                  *, actor: str) -> None:
    """The signed declaration is asked back within ``round.declaration_days``: a follow-up
    (once per declaration)."""
    session.flush()  # the declaration's id
    follow_ups.open_follow_up(
        session, az=row.az, kind=FollowUpKind.DECLARATION, actor=actor, now=now,
        due_on=answer_due(now.astimezone(BERLIN).date(), settings.round.declaration_days),
        application_id=row.application_id, declaration_id=row.id)


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
    key: bytes | ConfigurationError
    try:
        key = qr_key(settings)
    except ConfigurationError as exc:
        key = exc
    return rules.unproven_reason(mark, key, accept_unsigned=settings.network.accept_unsigned)


def issue_on_demand(session: Session, municipality: Municipality, settings: Settings,
                    now: datetime, *, actor: str, hvb_name: str = "", hvb_function: str = "",
                    contact_person: str = "") -> tuple[DeclarationRow, LetterData, bool]:
    """A declaration for any NRW municipality (caller's transaction). One not yet returned
    is reused (with updated names), else a new one is issued under a new Az. Returns the row,
    its document's data and whether it is new; the caller renders the document."""
    open_one = declarations_register.open_declaration(session, municipality.ags)
    is_new = open_one is None
    if open_one is None:
        year = now.astimezone(BERLIN).year
        az, _ = register.issue_az(session, year, settings.az)
        open_one = declarations_register.add_declaration(session, DeclarationRow(
            az=az, ags=municipality.ags, kommune_name=municipality.letter_name, state="issued",
            issued_by=actor, issued_at=now), flush=True)
    open_one.hvb_name = hvb_name.strip() or open_one.hvb_name or ""
    open_one.hvb_function = hvb_function.strip() or open_one.hvb_function or ""
    open_one.contact_person = contact_person.strip() or open_one.contact_person or ""
    data = declaration_data(open_one, municipality_recipient(municipality, open_one), settings,
                            now)
    open_one.docx_path = letter_path(data, settings)
    expect_return(session, open_one, settings, now, actor=actor)
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
    input's outcome (``rules.return_verdict`` decides)."""
    refusal = unproven_reason(mark, settings)
    declaration = None if refusal is not None else \
        declarations_register.declaration_by_az(session, mark.az)
    issued = None if declaration is None else \
        Issued(ags=declaration.ags, returned=declaration.state == DeclarationState.RETURNED)
    verdict = rules.return_verdict(mark, refusal, issued)
    if verdict.verdict is Verdict.REFUSED:
        inputs.set_outcome(row, Outcome.INVALID, [str(verdict.reason)])
        register.log_event(session, actor="posteingang", action="erklaerung-abgewiesen",
                           subject=mark.az, detail={"eingang": row.id, "ags": mark.ags,
                                                    "erkannt": mark.method, "grund": refusal})
        return None
    if verdict.verdict is Verdict.UNKNOWN or declaration is None:
        inputs.set_outcome(row, Outcome.INVALID, [str(verdict.reason)])
        return None
    return file_return(session, row, declaration, mark, settings, now, received,
                       actor="posteingang", recognised=mark.method)


def file_return(session: Session, row: Input, declaration: DeclarationRow,
                mark: DeclarationMark, settings: Settings, now: datetime, received: datetime,
                *, actor: str, recognised: str) -> LetterData | None:
    """File input ``row`` as the signed return of ``declaration`` (caller's transaction) and
    return the Beitrittsbestätigung to write, None when it was returned before."""
    inputs.set_outcome(row, Outcome.DECLARATION)
    row.declaration_id = declaration.id
    row.application_id = declaration.application_id
    row.kommune_name, row.ags = declaration.kommune_name, declaration.ags
    if declaration.state == DeclarationState.RETURNED:
        returned_on = declaration.returned_at.astimezone(BERLIN).date() \
            if declaration.returned_at else None
        row.reasons = [rules.on_file_reason(declaration.az, returned_on,
                                            declaration.returned_input_id)]
        return None
    signatory = mark.signatory or declaration.hvb_name
    function = mark.function or declaration.hvb_function
    signed_on = mark.signed_on or received.astimezone(BERLIN).date()
    row.reasons = rules.filing_notes(mark, known_signatory=declaration.hvb_name)
    declaration.state, declaration.returned_input_id = DeclarationState.RETURNED, row.id
    declaration.returned_at = received
    joined = received.astimezone(BERLIN).date()
    member = join(session, declaration, signatory=signatory, function=function,
                  signed_on=signed_on, joined_on=joined, actor=actor, now=now)
    register.log_event(session, actor=actor, action="erklaerung-eingegangen",
                       subject=declaration.az,
                       detail={"eingang": row.id, "ags": declaration.ags, "erkannt": recognised,
                               "unterzeichnet_von": signatory, "funktion": function,
                               "datum": signed_on.isoformat()})
    follow_ups.close_for_declaration(
        session, declaration.id, actor=actor, now=now,
        note=f"Unterzeichnete Erklärung eingegangen (Eingang {row.id}).")
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
    municipality = by_key(declaration.ags).municipality
    if municipality is None:
        return Recipient(lines=[declaration.kommune_name],
                         salutation="Sehr geehrte Damen und Herren,")
    return municipality_recipient(municipality, declaration)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def issue_declaration_document(settings: Settings, municipality: Municipality, now: datetime,
                               *, actor: str, hvb_name: str = "", hvb_function: str = "",
                               contact_person: str = "") -> tuple[str, str, bool]:
    """``ews erklaerung``: issue (or reissue) a municipality's declaration and write it as
    .docx and PDF/A into its case folder. Returns the document's location, its Az. and whether
    it is new. A crash after the issue is repaired by calling again (the open one is reused)."""

    with transaction(settings.db_url) as session:
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
