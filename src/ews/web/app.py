"""The web interface as a FastAPI app: sign-in and sign-out, security headers, German error
pages, static files and the page routers (I/O: the register through the pages' functions)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ews.runtime.settings import Settings
from ews.web import (
    case_pages,
    circular_pages,
    network_pages,
    round_pages,
    template_pages,
)
from ews.web.accounts import AccountError, sign_in
from ews.web.base import Web, environment, form_of, staff_of, web_of
from ews.web.sessions import COOKIE, PRE_COOKIE, SessionKeys

STATIC = Path(__file__).parent / "static"
#: same-origin only; PDFs are shown in an <iframe> of this origin
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'self'; "
                               "frame-src 'self'; frame-ancestors 'self'; form-action 'self'; "
                               "base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
    "X-Frame-Options": "SAMEORIGIN", "Cache-Control": "no-store"}


def create_app(settings: Settings, *, now: Callable[[], datetime] | None = None) -> FastAPI:
    """The app; ``now`` is the clock of sessions and changes (tests pass their own)."""
    app = FastAPI(title="EWS", docs_url=None, redoc_url=None, openapi_url=None)
    keys = SessionKeys(settings.web.secret.get_secret_value(),
                       timedelta(minutes=settings.web.session_minutes))
    app.state.web = Web(settings, keys, environment(), now or (lambda: datetime.now(UTC)))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(round_pages.router)
    app.include_router(case_pages.router)
    app.include_router(network_pages.router)
    app.include_router(template_pages.router)
    app.include_router(circular_pages.router)
    app.add_api_route("/anmelden", signin_form, methods=["GET"])
    app.add_api_route("/anmelden", signin, methods=["POST"])
    app.add_api_route("/abmelden", signout, methods=["POST"])
    app.add_exception_handler(StarletteHTTPException, german_error)  # type: ignore[arg-type]
    app.middleware("http")(security_headers)
    return app


async def security_headers(request: Request,
                           call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


async def german_error(request: Request, exc: StarletteHTTPException) -> Response:
    if exc.status_code in (302, 303) and exc.headers:
        return RedirectResponse(exc.headers["Location"], status_code=exc.status_code)
    web = web_of(request)
    try:
        staff = staff_of(request)
    except HTTPException:
        staff = None
    detail = exc.detail if isinstance(exc.detail, str) and exc.status_code != 404 else \
        "Diese Seite gibt es nicht."
    return web.page(request, "fehler.html", staff, status=exc.status_code, message=detail)


def _cookie(response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict",
                        path="/")


async def signin_form(request: Request, message: str = "", status: int = 200) -> Response:
    web = web_of(request)
    cookie = request.cookies.get(PRE_COOKIE)
    sid = web.keys.pre_sid(cookie)
    if sid is None:
        cookie = web.keys.pre_cookie()
        sid = web.keys.pre_sid(cookie)
    response = web.page(request, "anmelden.html", None, status=status, message=message,
                        csrf=web.keys.csrf(sid or ""))
    _cookie(response, PRE_COOKIE, cookie or "", None)
    return response


async def signin(request: Request) -> Response:
    web = web_of(request)
    form = await form_of(request)
    sid = web.keys.pre_sid(request.cookies.get(PRE_COOKIE))
    if sid is None or not web.keys.csrf_ok(sid, form.get("csrf", "")):
        raise HTTPException(403, "Das Anmeldeformular ist abgelaufen. Bitte die Seite neu "
                                 "laden und erneut anmelden.")
    client = request.client.host if request.client else "unbekannt"
    try:
        user = sign_in(web.settings, form.get("name", "").strip(), form.get("passwort", ""),
                       client, web.now())
    except AccountError as exc:
        return await signin_form(request, str(exc), status=401)
    cookie, _ = web.keys.issue(user.name, web.now())
    response = RedirectResponse("/", status_code=303)
    _cookie(response, COOKIE, cookie, web.settings.web.session_minutes * 60)
    response.delete_cookie(PRE_COOKIE, path="/")
    return response


async def signout(request: Request) -> Response:
    web = web_of(request)
    staff = staff_of(request)
    form = await form_of(request)
    if not web.keys.csrf_ok(staff.session.sid, form.get("csrf", "")):
        raise HTTPException(403, "Das Formular kam nicht von dieser Seite.")
    web.keys.revoke(staff.session, web.now())
    response = RedirectResponse("/anmelden", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
