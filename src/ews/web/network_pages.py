"""The Netzwerk page: the roster with its criteria, a form to record or change a member (as
``ews netzwerk setzen``) and one to issue the Gemeinsame Erklärung for any NRW municipality (as
``ews netzwerk erklaerung``). I/O: the register, and the declaration's files."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ews.core.errors import EwsError, NetworkError
from ews.core.municipalities import Municipality, all_municipalities, by_key_or_name
from ews.network.declarations import issue_declaration_document
from ews.network.roster import roster, update_member
from ews.network.rules import EHRENAMTSKARTE
from ews.register.database import transaction
from ews.web.base import ForStaff, SignedIn, Staff, web_of

router = APIRouter()
CHOICES = {"": None, "ja": True, "nein": False}


def _municipality(text: str) -> Municipality | str:
    """The municipality named by AGS or name, or the German reason why none."""
    match = by_key_or_name(text)
    return match.municipality or (match.reason or f"„{text}“ ist keine NRW-Kommune.")


def _page(request: Request, staff: Staff, status: int = 200, **values: Any) -> Response:
    web = web_of(request)
    with transaction(web.settings.db_url) as session:
        members = roster(session)
    chosen = request.query_params.get("ags", "")
    member = next((m for m in members if m["ags"] == chosen), None)
    return web.page(request, "netzwerk.html", staff, status=status, members=members,
                    karte=EHRENAMTSKARTE, municipalities=all_municipalities(),
                    member=values.pop("member", member) or {}, **values)


@router.get("/netzwerk")
def network(request: Request, staff: SignedIn) -> Response:
    return _page(request, staff)


def _changes(form: dict[str, str]) -> dict[str, Any] | str:
    changes: dict[str, Any] = {
        "ehrenamtskarte": form.get("ehrenamtskarte") or None,
        "contact_person": form.get("ansprechperson", "").strip() or None,
        "contact_email": form.get("email", "").strip() or None,
        "cross_cutting_task": CHOICES.get(form.get("querschnitt", "")),
        "continuous_cooperation": CHOICES.get(form.get("mitarbeit", "")),
        "note": form.get("notiz", "").strip() or None}
    changes = {key: value for key, value in changes.items() if value is not None}
    if form.get("beitritt", "").strip():
        try:
            changes["joined_on"] = datetime.strptime(form["beitritt"].strip(), "%Y-%m-%d").date()
        except ValueError:
            return f"„{form['beitritt']}“ ist kein Datum."
    return changes


@router.post("/netzwerk/setzen")
def set_member(request: Request, checked: ForStaff) -> Response:
    web = web_of(request)
    staff, form = checked
    municipality = _municipality(form.get("kommune", ""))
    changes = _changes(form)
    if isinstance(municipality, str) or isinstance(changes, str):
        return _page(request, staff, status=422, member_error=str(
            municipality if isinstance(municipality, str) else changes))
    try:
        with transaction(web.settings.db_url) as session:
            update_member(session, municipality, actor=staff.user.name, now=web.now(),
                          changes=changes)
    except NetworkError as exc:
        return _page(request, staff, status=409, member_error=f"Nicht möglich: {exc}")
    return _page(request, staff, notice=f"{municipality.letter_name}: Eintrag im "
                                        "Netzwerkverzeichnis gespeichert.")


@router.post("/netzwerk/erklaerung")
def declaration(request: Request, checked: ForStaff) -> Response:
    web = web_of(request)
    staff, form = checked
    municipality = _municipality(form.get("kommune", ""))
    if isinstance(municipality, str):
        return _page(request, staff, status=422, declaration_error=municipality)
    try:
        _, az, is_new = issue_declaration_document(
            web.settings, municipality, web.now(), actor=staff.user.name,
            hvb_name=form.get("name", "").strip(), hvb_function=form.get("funktion", "").strip(),
            contact_person=form.get("ansprechperson", "").strip())
    except (EwsError, OSError) as exc:
        return _page(request, staff, status=500, declaration_error=f"Nicht möglich: {exc}")
    state = "erstellt" if is_new else "erneut erstellt (noch nicht unterschrieben zurück)"
    return _page(request, staff, declared=az,
                 notice=f"Gemeinsame Erklärung für {municipality.letter_name} {state}: "
                        f"Aktenzeichen {az}.")
