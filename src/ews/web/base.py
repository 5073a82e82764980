"""What every page of the web interface uses: the Jinja environment (autoescaped, German dates
in Berlin time), the signed-in user, form and upload parsing, the CSRF check and the role
check (no I/O beyond reading the user's row)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ews.core.deadlines import BERLIN
from ews.runtime.settings import Settings
from ews.web.accounts import ROLES, User, active_user
from ews.web.sessions import COOKIE, Session, SessionKeys

TEMPLATES = Path(__file__).parent / "templates"
MAX_FORM_BYTES = 1_000_000
#: the pages of the navigation: path, German name
NAVIGATION = (("/", "Übersicht"), ("/bewerbungen", "Bewerbungen"), ("/auswahl", "Auswahl"),
              ("/netzwerk", "Netzwerk"), ("/rundschreiben", "Rundschreiben"),
              ("/postausgang", "Postausgang"),
              ("/vorlagen", "Vorlagen"))


def when_de(value: datetime | date | str | None, with_time: bool = True) -> str:
    """A moment as German Berlin time (``05.12.2026 14:03``), a date as ``05.12.2026``."""
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if len(value) > 10 else date.fromisoformat(value)
    if isinstance(value, datetime):
        local = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(BERLIN)
        return local.strftime("%d.%m.%Y %H:%M" if with_time else "%d.%m.%Y")
    return value.strftime("%d.%m.%Y")


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES),
                      autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["zeit"] = when_de
    env.filters["datum"] = lambda value: when_de(value, with_time=False)
    return env


@dataclass(frozen=True)
class Staff:
    """The signed-in user of a request and the session's CSRF token."""

    user: User
    session: Session
    csrf: str


@dataclass
class Web:
    """The app's state: settings, keys, templates and the clock (tests pass their own)."""

    settings: Settings
    keys: SessionKeys
    env: Environment
    now: Callable[[], datetime]

    def page(self, request: Request, template: str, staff: Staff | None, status: int = 200,
             **values: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(
            request=request, staff=staff, navigation=NAVIGATION, roles=ROLES,
            round=self.settings.round, path=request.url.path, **values)
        return HTMLResponse(html, status_code=status)


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


def staff_of(request: Request) -> Staff:
    """The signed-in user, or a redirect to the sign-in page (303)."""
    web = web_of(request)
    session = web.keys.check(request.cookies.get(COOKIE), web.now())
    user = active_user(web.settings, session.name, session.issued) if session else None
    if session is None or user is None:
        raise HTTPException(303, headers={"Location": "/anmelden"})
    return Staff(user, session, web.keys.csrf(session.sid))


async def body_of(request: Request, limit: int, refusal: str) -> bytes:
    """The request's body, refused with 413 and ``refusal`` as soon as it passes ``limit``
    bytes (read in chunks: a huge body is never held in memory, signed in or not)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, refusal)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, refusal)
    return bytes(body)


async def form_of(request: Request) -> dict[str, str]:
    """The fields of an ``application/x-www-form-urlencoded`` body (the last of each name)."""
    body = await body_of(request, MAX_FORM_BYTES, "Das Formular ist zu groß.")
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def upload_parts(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """The fields of a ``multipart/form-data`` body: name → (file name, bytes)."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + body)
    parts: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts() if message.is_multipart() else ():
        assert isinstance(part, Message)
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            parts[name] = (part.get_filename(), payload)
    return parts


@dataclass(frozen=True)
class Upload:
    """A ``multipart/form-data`` form, checked: its text fields, all its parts (name → (file
    name or None, bytes)), sent by ``staff``."""

    staff: Staff
    fields: dict[str, str]
    parts: dict[str, tuple[str | None, bytes]]


async def upload_of(request: Request, limit: int, refusal: str, role: str) -> Upload:
    """The upload form of ``request``: the body read in chunks up to ``limit`` (else 413 with
    ``refusal``), its text fields checked like every form (CSRF, the ``role``)."""
    body = await body_of(request, limit, refusal)
    parts = upload_parts(request.headers.get("content-type", ""), body)
    fields = {name: value.decode("utf-8", "replace") for name, (file, value) in parts.items()
              if file is None}
    return Upload(authorize(request, fields, role), fields, parts)


def authorize(request: Request, form: dict[str, str], role: str) -> Staff:
    """Signed in, the form's CSRF token matches the session, and the user's role has at least
    the rights of ``role``; else 403 (or the redirect to the sign-in)."""
    staff = staff_of(request)
    if not web_of(request).keys.csrf_ok(staff.session.sid, form.get("csrf", "")):
        raise HTTPException(403, "Das Formular ist abgelaufen oder kam nicht von dieser "
                                 "Seite (Sicherheitsprüfung). Bitte die Seite neu laden.")
    if not staff.user.may(role):
        raise HTTPException(403, f"Ihre Rolle „{staff.user.role_de}“ darf das nicht; "
                                 f"nötig ist mindestens „{ROLES[role]}“.")
    return staff


def changing(role: str) -> Callable[[Request], Awaitable[tuple[Staff, dict[str, str]]]]:
    """A dependency of every POST that changes something (``authorize`` on its form)."""

    async def check(request: Request) -> tuple[Staff, dict[str, str]]:
        form = await form_of(request)
        return authorize(request, form, role), form

    return check


SignedIn = Annotated[Staff, Depends(staff_of)]
ForStaff = Annotated[tuple[Staff, dict[str, str]], Depends(changing("sachbearbeitung"))]
ForLeitung = Annotated[tuple[Staff, dict[str, str]], Depends(changing("leitung"))]
