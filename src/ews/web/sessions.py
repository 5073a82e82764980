"""Signed session cookies and CSRF tokens of the web interface (HMAC-SHA256 over the user's
name, a random session id and the sign-in time; no I/O). A session ends after the configured
minutes or at sign-out (its id is then revoked in this process)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

COOKIE = "ews_sitzung"
PRE_COOKIE = "ews_anmeldung"  # before sign-in: binds the sign-in form's CSRF token


@dataclass(frozen=True)
class Session:
    name: str
    sid: str
    issued: datetime


class SessionKeys:
    """Signs and checks cookies and CSRF tokens with one secret; remembers revoked sessions
    until they would have expired anyway."""

    def __init__(self, secret: str, lifetime: timedelta) -> None:
        self._key = (secret or secrets.token_urlsafe(32)).encode()
        self.lifetime = lifetime
        self._revoked: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def _mac(self, purpose: str, payload: str) -> str:
        digest = hmac.new(self._key, f"{purpose}|{payload}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self, name: str, now: datetime) -> tuple[str, Session]:
        session = Session(name, secrets.token_urlsafe(18), now)
        payload = base64.urlsafe_b64encode(json.dumps(
            {"u": name, "s": session.sid, "t": now.timestamp()}).encode()).decode()
        return f"{payload}.{self._mac('sitzung', payload)}", session

    def check(self, cookie: str | None, now: datetime) -> Session | None:
        """The session of a cookie: signed by us, not expired, not signed out."""
        if not cookie or "." not in cookie:
            return None
        payload, mac = cookie.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac("sitzung", payload)):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(payload.encode()))
            issued = datetime.fromtimestamp(float(data["t"]), tz=now.tzinfo)
            session = Session(str(data["u"]), str(data["s"]), issued)
        except (ValueError, KeyError, TypeError):
            return None
        if not issued <= now < issued + self.lifetime:
            return None
        with self._lock:
            return None if session.sid in self._revoked else session

    def revoke(self, session: Session, now: datetime) -> None:
        with self._lock:
            self._revoked = {sid: until for sid, until in self._revoked.items() if until > now}
            self._revoked[session.sid] = session.issued + self.lifetime

    def csrf(self, sid: str) -> str:
        """The token every form of this session (or sign-in form) carries."""
        return self._mac("csrf", sid)

    def csrf_ok(self, sid: str, token: str) -> bool:
        return bool(token) and hmac.compare_digest(token, self.csrf(sid))

    def pre_cookie(self) -> str:
        nonce = secrets.token_urlsafe(18)
        return f"{nonce}.{self._mac('vor', nonce)}"

    def pre_sid(self, cookie: str | None) -> str | None:
        if not cookie or "." not in cookie:
            return None
        nonce, mac = cookie.rsplit(".", 1)
        return nonce if hmac.compare_digest(mac, self._mac("vor", nonce)) else None
