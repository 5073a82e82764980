"""Pages of the round: Übersicht, Bewerbungen (with the XLSX export), Auswahl (with the notices
after a preview and a confirmation) and Postausgang (I/O: the register, through the functions
the CLI calls; the notices write letters and send mail)."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.exc import SQLAlchemyError

from ews.casefile.follow_ups import follow_up_records
from ews.circulars.reports import circular_records
from ews.core.deadlines import BERLIN
from ews.core.errors import EwsError
from ews.core.models import OUTBOX_STATE_LABELS
from ews.core.municipalities import by_key
from ews.operations.health import register_health
from ews.outbox.queue import outgoing_records
from ews.outbox.sending import send_again
from ews.register.database import transaction
from ews.register.reports import application_records
from ews.retention.records import note_export
from ews.selection import decisions as selection
from ews.selection.export_xlsx import export_register
from ews.selection.notices import send_notices
from ews.web.base import ForLeitung, ForStaff, SignedIn, web_of
from ews.web.notice_preview import preview_notices

router = APIRouter()
STATUS_DE = {"registered": "fristgerecht", "late": "verspätet", "replaced": "ersetzt"}
DECISION_DE = {None: "offen", "angenommen": "angenommen", "warteliste": "Warteliste",
               "abgelehnt": "abgelehnt", "zurueckgezogen": "zurückgezogen"}
SORTS = {"az": "az", "kommune": "kommune_name", "eingang": "received_at", "status": "status",
         "bezirk": "bezirk", "entscheidung": "entscheidung"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORTS = "exporte"  # in the data folder: the register downloads, until the deletion run


def _district(ags: str) -> str:
    found = by_key(ags).municipality
    return found.regierungsbezirk if found else "–"


def _overview(settings: Any) -> tuple[list[dict[str, object]], int]:
    with transaction(settings.db_url) as session:
        return (selection.round_overview(session, settings.round.name),
                len(selection.accepted(session, settings.round.name)))


@router.get("/")
def overview(request: Request, staff: SignedIn) -> Response:
    web = web_of(request)
    settings, now = web.settings, web.now()
    records = application_records(settings)
    _, taken = _overview(settings)
    health = register_health(settings, now)
    return web.page(request, "uebersicht.html", staff,
                    states=Counter(STATUS_DE.get(r["status"], r["status"]) for r in records),
                    total=len(records), taken=taken, health=health,
                    follow_ups=follow_up_records(settings, now),
                    circulars=circular_records(settings)[:5])


def _applications(settings: Any) -> list[dict[str, Any]]:
    decisions = {str(r["az"]): r for r in _overview(settings)[0]}
    rows = []
    for record in application_records(settings):
        decision: dict[str, Any] = dict(decisions.get(record["az"], {}))
        rows.append({**record, "bezirk": _district(record["ags"]),
                     "status_de": STATUS_DE.get(record["status"], record["status"]),
                     "entscheidung": decision.get("entscheidung"),
                     "entscheidung_de": DECISION_DE.get(decision.get("entscheidung"), "–")})
    return rows


def _matches(row: dict[str, Any], query: dict[str, str]) -> bool:
    text = query.get("suche", "").strip().casefold()
    return ((not text or text in f"{row['az']} {row['kommune_name']} {row['ags']}".casefold())
            and query.get("status", "") in ("", row["status"])
            and query.get("bezirk", "") in ("", row["bezirk"])
            and query.get("entscheidung", "") in ("", row["entscheidung"] or "offen"))


@router.get("/bewerbungen")
def applications(request: Request, staff: SignedIn) -> Response:
    web = web_of(request)
    query = dict(request.query_params)
    rows = _applications(web.settings)
    districts = sorted({row["bezirk"] for row in rows})
    shown = [row for row in rows if _matches(row, query)]
    key = SORTS.get(query.get("sortierung", "az"), "az")
    shown.sort(key=lambda row: str(row.get(key) or ""), reverse=query.get("absteigend") == "1")
    template = "bewerbungen_tabelle.html" if request.headers.get("HX-Request") else \
        "bewerbungen.html"
    return web.page(request, template, staff, rows=shown, total=len(rows), query=query,
                    districts=districts, states=STATUS_DE, decisions=DECISION_DE)


@router.get("/bewerbungen/register.xlsx")
def export(request: Request, staff: SignedIn) -> Response:
    """The register as ``ews auswahl export`` writes it, as a download. The file is kept in
    the exports folder and recorded like the command's export (who, when), so the deletion
    run removes it after ``[exporte] tage``."""
    web = web_of(request)
    now = web.now()
    stamp = now.astimezone(BERLIN).strftime("%Y-%m-%d_%H%M%S")
    folder = web.settings.data_dir / EXPORTS
    folder.mkdir(parents=True, exist_ok=True)
    target = export_register(web.settings,
                             folder / f"register_{stamp}_{uuid.uuid4().hex[:8]}.xlsx")
    note_export(web.settings, "register", target, actor=staff.user.name, now=now)
    name = f"register-{now.astimezone(BERLIN):%Y-%m-%d}.xlsx"
    return Response(target.read_bytes(), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/auswahl")
def choice(request: Request, staff: SignedIn) -> Response:
    web = web_of(request)
    records, taken = _overview(web.settings)
    waiting = sorted((r for r in records if r["entscheidung"] == "warteliste"),
                     key=lambda r: int(str(r["rang"] or 0)))
    return web.page(request, "auswahl.html", staff, records=records, taken=taken,
                    waiting=waiting, decisions=DECISION_DE, states=STATUS_DE)


@router.post("/auswahl/bescheide/vorschau")
def notices_preview(request: Request, checked: ForLeitung) -> Response:
    web = web_of(request)
    return web.page(request, "bescheide_vorschau.html", checked[0],
                    plan=preview_notices(web.settings))


@router.post("/auswahl/bescheide")
def notices_send(request: Request, checked: ForLeitung) -> Response:
    web = web_of(request)
    staff, form = checked
    if form.get("bestaetigt") != "ja":
        raise HTTPException(400, "Bitte den Versand auf der Vorschauseite bestätigen.")
    try:
        report = send_notices(web.settings, web.now(), actor=staff.user.name)
    except (EwsError, OSError, SQLAlchemyError) as exc:
        return web.page(request, "meldung.html", staff, status=500, title="Versand unterbrochen",
                        message=f"{exc} – Nichts ist doppelt: der nächste Versand setzt an "
                                "dieser Stelle fort.")
    return web.page(request, "bescheide_ergebnis.html", staff, report=report,
                    smtp=bool(web.settings.smtp.host))


@router.get("/postausgang")
def outbox(request: Request, staff: SignedIn) -> Response:
    web = web_of(request)
    return web.page(request, "postausgang.html", staff, mails=outgoing_records(web.settings),
                    states=OUTBOX_STATE_LABELS, message=request.query_params.get("meldung", ""))


@router.post("/postausgang/{mail_id}/erneut")
def outbox_again(request: Request, mail_id: int, checked: ForStaff) -> Response:
    web = web_of(request)
    message = send_again(web.settings, mail_id, actor=checked[0].user.name, now=web.now())
    return web.page(request, "postausgang.html", checked[0],
                    mails=outgoing_records(web.settings), states=OUTBOX_STATE_LABELS,
                    message=message)
