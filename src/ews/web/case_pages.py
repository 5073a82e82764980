"""The Akte page: one case with its form fields, documents (PDFs shown inline), mails,
decisions, events and follow-ups, and the forms for an Eingangsstempel and a decision (I/O:
the register and the stores, through the functions the CLI calls)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from ews.casefile.akte import KIND_LABELS, document_suffix, load_case
from ews.core.deadlines import BERLIN
from ews.core.errors import SelectionError
from ews.core.models import OUTCOME_LABELS
from ews.core.sniff import is_pdf
from ews.core.wording import REJECTION_REASONS
from ews.intake.pipeline import restamp
from ews.register.case_entries import CaseDocument
from ews.register.case_file import CaseFile
from ews.register.cases import application_by_az
from ews.register.database import transaction
from ews.register.reports import input_id_for
from ews.runtime.storage import read_location
from ews.selection.deciding import decide_now
from ews.selection.decisions import DECISIONS
from ews.web.base import ForStaff, SignedIn, Staff, Web, web_of

router = APIRouter()
#: how the decision form names the fields a refusal points to
FORM_FIELDS = {"rang": "Feld „Rang“", "grund": "Feld „Begründungsart“",
               "ausnahme": "Feld „Ausnahme“"}
DECISION_LABELS = {"angenommen": "Zusage (angenommen)", "warteliste": "Warteliste",
                   "abgelehnt": "Absage (abgelehnt)", "zurueckgezogen": "zurückgezogen"}


def _case(web: Web, az: str) -> CaseFile:
    case = load_case(web.settings, az)
    if case is None:
        raise HTTPException(404)
    return case


def documents_of(case: CaseFile) -> list[CaseDocument]:
    """The case's documents in entry order; their index is their number on the page."""
    return [document for entry in case.entries for document in entry.documents]


def _fields(web: Web, case: CaseFile) -> dict[str, Any]:
    """The form fields as read (none for a case without an application of this Az.)."""
    with transaction(web.settings.db_url) as session:
        application = application_by_az(session, case.az)
        return dict(application.fields or {}) if application else {}


def _page(request: Request, staff: Staff, case: CaseFile, status: int = 200,
          **values: Any) -> Response:
    web = web_of(request)
    documents = documents_of(case)
    rows, number = [], 0
    for entry in case.entries:
        rows.append((entry, list(enumerate(entry.documents, start=number))))
        number += len(entry.documents)
    return web.page(request, "akte.html", staff, status=status, case=case,
                    fields=_fields(web, case), labels=KIND_LABELS, rows=rows,
                    pdfs=[n for n, d in enumerate(documents) if document_suffix(d) == ".pdf"],
                    documents=documents, suffix=document_suffix, reasons=REJECTION_REASONS,
                    decisions=DECISION_LABELS, form=values.pop("form", {}), **values)


@router.get("/akte")
def case_page(request: Request, staff: SignedIn, az: str = "") -> Response:
    web = web_of(request)
    if not az.strip():
        return web.page(request, "akte_suche.html", staff)
    return _page(request, staff, _case(web, az.strip()))


@router.get("/akte/dokument")
def document(request: Request, az: str, nr: int, staff: SignedIn) -> Response:
    """A document of the case, found by its number among the case's documents (never by a
    path from the request), read from its store and checked: the SHA-256 recorded when it came
    in must match, and only a real PDF is shown inline."""
    web = web_of(request)
    documents = documents_of(_case(web, az))
    if not 0 <= nr < len(documents):
        raise HTTPException(404)
    found = documents[nr]
    try:
        data = read_location(found.location, web.settings.storage.options)
    except OSError as exc:
        raise HTTPException(410, "Das Dokument ist im Ablagespeicher nicht (mehr) "
                                 "vorhanden.") from exc
    if found.sha256 and hashlib.sha256(data).hexdigest() != found.sha256:
        raise HTTPException(409, "Das Dokument ist nicht mehr so, wie es eingegangen ist "
                                 "(Prüfsumme weicht ab); es wird nicht angezeigt.")
    name = found.name + document_suffix(found)
    if document_suffix(found) == ".pdf" and is_pdf(data):
        return Response(data, media_type="application/pdf",
                        headers={"Content-Disposition": disposition("inline", name)})
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": disposition("attachment", name)})


def disposition(kind: str, name: str) -> str:
    """A Content-Disposition header for any file name (RFC 6266: ASCII and UTF-8 forms)."""
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _moment(text: str) -> datetime | None:
    for pattern in ("%Y-%m-%dT%H:%M", "%d.%m.%Y %H:%M"):
        try:
            return datetime.strptime(text.strip(), pattern).replace(tzinfo=BERLIN)
        except ValueError:
            continue
    return None


@router.post("/akte/stempel")
def stamp(request: Request, checked: ForStaff) -> Response:
    """An Eingangsstempel for the case's input, as ``ews posteingang stempel AZ ZEIT``."""
    web = web_of(request)
    staff, form = checked
    case = _case(web, form.get("az", ""))
    stamped = _moment(form.get("zeitpunkt", ""))
    if stamped is None:
        return _page(request, staff, case, status=422, form=form,
                     stamp_error=f"„{form.get('zeitpunkt', '')}“ ist kein Zeitpunkt (Datum und "
                                 "Uhrzeit, z. B. 28.02.2027 14:30).")
    input_id = input_id_for(web.settings, case.az)
    if input_id is None:
        return _page(request, staff, case, status=422, form=form,
                     stamp_error="Zu dieser Akte gibt es keinen Eingang für einen Stempel.")
    result = restamp(input_id, stamped, web.settings, web.now(), actor=staff.user.name)
    return _page(request, staff, _case(web, case.az),
                 notice=f"Eingangsstempel {stamped:%d.%m.%Y %H:%M} Uhr erfasst für Eingang "
                        f"{input_id}: {OUTCOME_LABELS[result.outcome.value]}.")


def _rank(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


@router.post("/akte/entscheidung")
def decision(request: Request, checked: ForStaff) -> Response:
    """A decision with the rules of ``ews auswahl entscheiden``; a refusal in German."""
    web = web_of(request)
    staff, form = checked
    case = _case(web, form.get("az", ""))
    chosen = form.get("entscheidung", "")
    if chosen not in DECISIONS:
        return _page(request, staff, case, status=422, form=form,
                     decision_error="Bitte eine Entscheidung wählen.")
    if form.get("rang", "").strip() and _rank(form["rang"]) is None:
        return _page(request, staff, case, status=422, form=form,
                     decision_error="Der Rang ist eine ganze Zahl (1, 2, …).")
    try:
        changes = decide_now(web.settings, case.az, chosen, actor=staff.user.name,
                             rank=_rank(form.get("rang", "")),
                             reason=form.get("grund") or None,
                             override=form.get("ausnahme", "").strip() or None, now=web.now())
    except SelectionError as exc:
        return _page(request, staff, case, status=409, form=form,
                     decision_error=f"Nicht möglich: {exc.worded(FORM_FIELDS)}")
    lines = [f"{c.az} {c.kommune}: {c.before or 'offen'} → {c.after}"
             + (" – rückt von der Warteliste nach" if c.moved_up else "") for c in changes]
    return _page(request, staff, _case(web, case.az), notice="Entscheidung gespeichert. "
                 + " ".join(lines))

