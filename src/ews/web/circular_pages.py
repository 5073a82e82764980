"""The Rundschreiben page: drafts written in the browser with a live preview of the document
and of one recipient's mail, attachments, a Probelauf, the issue after a confirmation that
names its number (Leitung), and each issued circular's recipients with their states. I/O:
through ``ews.circulars``, the functions the CLI calls."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from ews.circulars.distribution import LIST_KINDS, ListSpec
from ews.circulars.drafts import (
    DRAFT_FILE,
    draft_names,
    existing_draft,
    read_draft,
)
from ews.circulars.editing import add_attachment, new_draft, save_draft_text
from ews.circulars.issuing import check_document, issue_circular, next_label
from ews.circulars.mailing import probelauf, send_circulars
from ews.circulars.preview import draft_recipients, preview_draft
from ews.circulars.reports import circular_details, circular_records, send_summary
from ews.core.errors import CircularError, EwsError, error_problems
from ews.runtime.settings import Settings
from ews.web.base import (
    ForLeitung,
    ForStaff,
    SignedIn,
    Staff,
    upload_of,
    web_of,
)

router = APIRouter()
MAX_ATTACHMENT = 10_000_000


def _folder(settings: Settings, name: str) -> Path:
    try:
        return existing_draft(settings.drafts_dir, name)
    except CircularError:
        raise HTTPException(404) from None


def issued_from(records: list[dict[str, Any]], name: str) -> list[str]:
    """The numbers of the circulars issued from the draft ``name`` (oldest first)."""
    return [r["nummer"] for r in reversed(records) if r.get("entwurf") == name]


def _drafts(settings: Settings, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for name in draft_names(settings.drafts_dir):
        try:
            draft = read_draft(settings.drafts_dir / name, settings.round.name)
        except CircularError as exc:
            rows.append({"name": name, "problems": exc.problems,
                         "ausgegeben": issued_from(records, name)})
            continue
        rows.append({"name": name, "titel": draft.title, "aktenzeichen": draft.az,
                     "verteiler": draft.list_spec.label(), "anlagen": draft.attachments,
                     "problems": [], "ausgegeben": issued_from(records, name)})
    return rows


def _overview(request: Request, staff: Staff, status: int = 200, **values: Any) -> Response:
    settings = web_of(request).settings
    kinds = {kind: text.format(runde=settings.round.name) for kind, text in LIST_KINDS.items()}
    records = circular_records(settings)
    return web_of(request).page(
        request, "rundschreiben.html", staff, status=status, drafts=_drafts(settings, records),
        issued=records, kinds=kinds, summary=send_summary,
        default_az=settings.rundschreiben.az, **values)


@router.get("/rundschreiben")
def circulars(request: Request, staff: SignedIn) -> Response:
    return _overview(request, staff)


@router.post("/rundschreiben/neu")
def create(request: Request, checked: ForStaff) -> Response:
    settings = web_of(request).settings
    staff, form = checked
    title = form.get("titel", "").strip()
    try:
        if not title:
            raise CircularError(["Bitte einen Titel angeben."])
        spec = ListSpec.parse(form.get("verteiler", ""), settings.round.name)
        path = new_draft(settings, title=title, list_spec=spec, actor=staff.user.name,
                         az=form.get("aktenzeichen", "").strip() or settings.rundschreiben.az)
    except EwsError as exc:
        return _overview(request, staff, status=422, problems=error_problems(exc), form=form)
    return RedirectResponse(f"/rundschreiben/entwurf/{quote(path.parent.name)}",
                            status_code=303)


def _draft_page(request: Request, staff: Staff, folder: Path, content: str | None = None,
                ags: str | None = None, status: int = 200, **values: Any) -> Response:
    web = web_of(request)
    if content is None:
        content = (folder / DRAFT_FILE).read_text(encoding="utf-8-sig", errors="replace")
    files = sorted(p.name for p in folder.iterdir()
                   if p.is_file() and p.name != DRAFT_FILE and not p.name.startswith("."))
    return web.page(request, "rundschreiben_entwurf.html", staff, status=status,
                    name=folder.name, content=content, files=files, chosen=ags,
                    preview=preview_draft(web.settings, folder, content, web.now(), ags),
                    **values)


@router.get("/rundschreiben/entwurf/{name}")
def draft_page(request: Request, name: str, staff: SignedIn, empfaenger: str = ""
               ) -> Response:
    return _draft_page(request, staff, _folder(web_of(request).settings, name),
                       ags=empfaenger or None)


@router.post("/rundschreiben/entwurf/{name}/vorschau")
def live_preview(request: Request, name: str, checked: ForStaff) -> Response:
    """The preview of the text in the editor, not saved (htmx swaps it in)."""
    web = web_of(request)
    folder = _folder(web.settings, name)
    form = checked[1]
    ags = form.get("empfaenger") or None
    return web.page(request, "rundschreiben_vorschau.html", checked[0], chosen=ags,
                    preview=preview_draft(web.settings, folder, form.get("inhalt", ""),
                                          web.now(), ags))


@router.post("/rundschreiben/entwurf/{name}/speichern")
def save(request: Request, name: str, checked: ForStaff) -> Response:
    web = web_of(request)
    staff, form = checked
    folder = _folder(web.settings, name)
    save_draft_text(web.settings, folder, form.get("inhalt", ""), actor=staff.user.name)
    return _draft_page(request, staff, folder, ags=form.get("empfaenger") or None,
                       notice="Der Entwurf ist gespeichert.")


@router.post("/rundschreiben/entwurf/{name}/anlage")
async def attach(request: Request, name: str) -> Response:
    """An attachment into the draft's folder (the body read in chunks, at most 10 MB)."""
    web = web_of(request)
    form = await upload_of(request, MAX_ATTACHMENT,
                           "Die Anlage ist zu groß (höchstens 10 MB).", "sachbearbeitung")
    staff = form.staff
    folder = _folder(web.settings, name)
    given, data = form.parts.get("datei", (None, b""))
    try:
        if not given or not data:
            raise CircularError(["Es wurde keine Datei gewählt (oder sie ist leer)."])
        saved = add_attachment(web.settings, folder, given, data, actor=staff.user.name)
    except CircularError as exc:
        return _draft_page(request, staff, folder, status=422, upload_problems=exc.problems)
    return _draft_page(request, staff, folder,
                       notice=f"Die Anlage „{saved}“ liegt im Entwurf und ist im Kopf unter "
                              "„anlagen“ eingetragen.")


@router.post("/rundschreiben/entwurf/{name}/probelauf")
def trial(request: Request, name: str, checked: ForStaff) -> Response:
    """What ``ews rundschreiben probelauf`` does: every mail to the office's test address,
    no number taken, nothing to the municipalities."""
    web = web_of(request)
    staff = checked[0]
    folder = _folder(web.settings, name)
    try:
        draft = read_draft(folder, web.settings.round.name)
        report = probelauf(web.settings, draft, web.now(), actor=staff.user.name)
    except EwsError as exc:
        return _draft_page(request, staff, folder, status=422, action_problems=error_problems(exc))
    return web.page(request, "rundschreiben_probelauf.html", staff, name=name, draft=draft,
                    report=report, smtp=bool(web.settings.smtp.host))


@router.post("/rundschreiben/entwurf/{name}/ausgeben/bestaetigen")
def confirm_issue(request: Request, name: str, checked: ForLeitung) -> Response:
    """The confirmation: the number the circular will take and who gets it."""
    web = web_of(request)
    staff = checked[0]
    folder = _folder(web.settings, name)
    now = web.now()
    try:
        draft = read_draft(folder, web.settings.round.name)
        check_document(web.settings, draft, now)
        people, _ = draft_recipients(web.settings, draft.list_spec, draft.address_to)
    except EwsError as exc:
        return _draft_page(request, staff, folder, status=422, action_problems=error_problems(exc))
    return web.page(request, "rundschreiben_ausgeben.html", staff, name=name, draft=draft,
                    number=next_label(web.settings, now), people=people, today=now,
                    before=issued_from(circular_records(web.settings), name))


@router.post("/rundschreiben/entwurf/{name}/ausgeben")
def issue(request: Request, name: str, checked: ForLeitung) -> Response:
    web = web_of(request)
    staff, form = checked
    if form.get("bestaetigt") != "ja" or not form.get("nummer"):
        raise HTTPException(400, "Bitte die Ausgabe auf der Bestätigungsseite bestätigen.")
    folder = _folder(web.settings, name)
    now = web.now()
    before = issued_from(circular_records(web.settings), name)
    try:
        draft = read_draft(folder, web.settings.round.name)
        issued = issue_circular(web.settings, draft, actor=staff.user.name, now=now,
                                expected=form["nummer"])
    except EwsError as exc:
        after = issued_from(circular_records(web.settings), name)
        if form["nummer"] in after and form["nummer"] not in before:  # taken, then failed
            return _details(request, staff, form["nummer"], status=500, unfinished=(
                f"Mitteilung {form['nummer']} ist ausgegeben, ihr Dokument aber noch nicht "
                f"fertig: {' '.join(error_problems(exc))} Versendet wird noch nichts; „ews "
                "rundschreiben senden“ oder der nächste geplante Versand stellt es fertig "
                "und versendet es."))
        return web.page(request, "meldung.html", staff, status=409,
                        title="Nicht ausgegeben", message=" ".join(error_problems(exc)))
    return _details(request, staff, issued.label, sending=_send(web.settings, issued.id, now),
                    issued=issued)


def _send(settings: Settings, circular_id: int, now: datetime) -> str:
    """The mails of a circular just issued sent (as ``ews rundschreiben ausgeben``); a German
    line on what happened."""
    try:
        report = send_circulars(settings, now, only=circular_id)
    except (EwsError, OSError) as exc:
        return (f"Der Versand wurde unterbrochen: {exc}. Nichts geht doppelt hinaus; "
                "„ews rundschreiben senden“ oder der nächste geplante Versand setzt fort.")
    return report.summary(mail_server=bool(settings.smtp.host))


def _details(request: Request, staff: Staff, label: str, status: int = 200,
             **values: Any) -> Response:
    try:
        record, entries = circular_details(web_of(request).settings, label)
    except EwsError:
        raise HTTPException(404) from None
    return web_of(request).page(request, "rundschreiben_zeigen.html", staff, status=status,
                                record=record, entries=entries, summary=send_summary,
                                **values)


@router.get("/rundschreiben/mitteilung/{year}/{number}")
def details(request: Request, year: int, number: int, staff: SignedIn) -> Response:
    return _details(request, staff, f"{number}/{year}")
