"""The Vorlagen page: download a letter template; upload a changed one, which replaces the old
only when ``ews vorlagen pruefen``'s check finds nothing (the old is kept as a version). I/O:
the templates folder and the register's event log."""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from ews.core.deadlines import BERLIN
from ews.core.models import LetterKind
from ews.letters.render import template_path
from ews.letters.templates import check_templates
from ews.register.cases import log_event
from ews.register.database import transaction
from ews.runtime.folders import write_atomic
from ews.runtime.settings import Settings
from ews.web.base import SignedIn, Staff, upload_of, web_of

router = APIRouter()
MAX_UPLOAD = 10_000_000
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
VERSIONS = "versionen"


def _kind(value: str) -> LetterKind:
    try:
        return LetterKind(value)
    except ValueError:
        raise HTTPException(404) from None


def _page(request: Request, staff: Staff, status: int = 200, **values: Any) -> Response:
    web = web_of(request)
    folder = web.settings.templates_dir / VERSIONS
    return web.page(request, "vorlagen.html", staff, status=status, kinds=list(LetterKind),
                    versions=sorted(p.name for p in folder.glob("*.docx")) if folder.is_dir()
                    else [], **values)


@router.get("/vorlagen")
def templates(request: Request, staff: SignedIn) -> Response:
    return _page(request, staff)


@router.get("/vorlagen/datei")
def download(request: Request, staff: SignedIn, art: str) -> Response:
    path = template_path(web_of(request).settings.templates_dir, _kind(art))
    if not path.is_file():
        raise HTTPException(404)
    return Response(path.read_bytes(), media_type=DOCX, headers={
        "Content-Disposition": f'attachment; filename="{path.name}"'})


def check_replacement(settings: Settings, kind: LetterKind, data: bytes) -> list[str]:
    """The template check's findings for ``data`` in place of the template of ``kind``,
    run on a copy of the templates folder (the real one is untouched)."""
    with tempfile.TemporaryDirectory(prefix="ews-vorlage-") as folder:
        trial = Path(folder)
        for other in LetterKind:
            source = template_path(settings.templates_dir, other)
            if source.is_file():
                shutil.copy2(source, template_path(trial, other))
        template_path(trial, kind).write_bytes(data)
        name = template_path(trial, kind).name
        return [p.replace(str(trial), str(settings.templates_dir))
                for p in check_templates(trial, settings.office) if name in p]


@router.post("/vorlagen/hochladen")
async def upload(request: Request) -> Response:
    web = web_of(request)
    form = await upload_of(request, MAX_UPLOAD, "Die Datei ist zu groß (höchstens 10 MB).",
                           "sachbearbeitung")
    staff = form.staff
    kind = _kind(form.fields.get("art", ""))
    data = form.parts.get("datei", (None, b""))[1]
    problems = ["Es wurde keine Word-Datei (.docx) gewählt."] if not data else \
        check_replacement(web.settings, kind, data)
    if problems:
        return _page(request, staff, status=422, kind=kind, problems=problems)
    _replace(web.settings, kind, data, actor=staff.user.name, now=web.now())
    name = template_path(web.settings.templates_dir, kind).name
    return _page(request, staff, notice=f"Die Vorlage {name} ist geprüft und ersetzt; die "
                                        f"alte liegt im Unterordner „{VERSIONS}“.")


def _replace(settings: Settings, kind: LetterKind, data: bytes, *, actor: str,
             now: datetime) -> None:
    path = template_path(settings.templates_dir, kind)
    if path.is_file():
        stamp = now.astimezone(BERLIN).strftime("%Y-%m-%d_%H%M%S")
        write_atomic(settings.templates_dir / VERSIONS / f"{path.stem}_{stamp}.docx",
                     path.read_bytes(), overwrite=False)
    write_atomic(path, data)
    with transaction(settings.db_url) as session:
        log_event(session, actor=actor, action="vorlage-ersetzt", subject=path.name,
                  detail={"bytes": len(data)})

