"""Drafts changed by staff (the web interface, ``ews rundschreiben neu``): created, their text
saved, attachments added, each change logged with its actor (I/O: files, register events)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ews.circulars.distribution import ListSpec
from ews.circulars.drafts import (
    DRAFT_FILE,
    attachment_name,
    create_draft,
    draft_content,
    split_front_matter,
)
from ews.core.errors import CircularError
from ews.register.cases import log_event
from ews.register.database import transaction
from ews.runtime.folders import write_atomic
from ews.runtime.settings import Settings


def new_draft(settings: Settings, *, title: str, az: str, list_spec: ListSpec, actor: str,
              name: str | None = None) -> Path:
    """A new draft from the skeleton (``create_draft``), logged; returns its file."""
    path = create_draft(settings.drafts_dir, settings.templates_dir, title=title, az=az,
                        list_spec=list_spec, name=name)
    _log(settings, actor, "rundschreiben-entwurf-angelegt", path.parent.name,
         {"titel": title, "aktenzeichen": az, "verteiler": str(list_spec)})
    return path


def save_draft_text(settings: Settings, folder: Path, content: str, *, actor: str) -> None:
    """Replace the draft's ``rundschreiben.md`` (header and text) with ``content`` as staff
    wrote it, problems and all (``read_draft`` reports them), and log it."""
    text = content.replace("\r\n", "\n")
    write_atomic(folder / DRAFT_FILE, text.encode("utf-8"))
    _log(settings, actor, "rundschreiben-entwurf-geaendert", folder.name,
         {"zeichen": len(text)})


def add_attachment(settings: Settings, folder: Path, given_name: str, data: bytes, *,
                   actor: str) -> str:
    """Put ``data`` into the draft's folder under a safe name (``attachment_name``; a file of
    that name is replaced) and list it under ``anlagen`` in the header; returns the name.
    CircularError for a refused name or a header that cannot take it."""
    name = attachment_name(given_name)
    path = folder / DRAFT_FILE
    header, text = split_front_matter(path.read_text(encoding="utf-8-sig"))
    listed = header.get("anlagen") or []
    if not isinstance(listed, list):
        raise CircularError(["Im Kopf des Entwurfs muss „anlagen“ eine Liste sein (je Zeile "
                             "„- Dateiname.pdf“); die Anlage wurde nicht gespeichert."])
    write_atomic(folder / name, data)
    if name not in [str(item) for item in listed]:
        header["anlagen"] = [*listed, name]
        write_atomic(path, draft_content(header, text).encode("utf-8"))
    _log(settings, actor, "rundschreiben-anlage", folder.name,
         {"datei": name, "bytes": len(data)})
    return name


def _log(settings: Settings, actor: str, action: str, subject: str,
         detail: dict[str, Any]) -> None:
    with transaction(settings.db_url) as session:
        log_event(session, actor=actor, action=action, subject=subject, detail=detail)
