"""The web interface's users: argon2 password hashes, roles, sign-in with throttling of failed
attempts per user name and per client address (I/O: the register)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ews.core.errors import EwsError
from ews.register import web_users
from ews.register.database import transaction
from ews.runtime.settings import Settings

#: role key → German name, in increasing rights
ROLES = {"lesen": "Lesen", "sachbearbeitung": "Sachbearbeitung", "leitung": "Leitung"}
MIN_PASSWORD = 10
_HASHER = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so that a wrong name costs as long as a
    wrong password (the answer's timing does not tell which names exist). Made at the first
    sign-in, not at import: hashing takes a noticeable fraction of a second, and every ``ews``
    command imports this module."""
    return _HASHER.hash("kein-benutzer-mit-diesem-namen")


class AccountError(EwsError):
    """A user could not be added or changed; the message is German."""


@dataclass(frozen=True)
class User:
    name: str
    role: str

    @property
    def role_de(self) -> str:
        return ROLES[self.role]

    def may(self, role: str) -> bool:
        """Whether this user has at least the rights of ``role``."""
        return list(ROLES).index(self.role) >= list(ROLES).index(role)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"Das Passwort ist zu kurz: mindestens {MIN_PASSWORD} Zeichen.")


def create_user(settings: Settings, name: str, password: str, role: str, *, actor: str,
                now: datetime) -> None:
    name = name.strip()
    if not name or len(name) > 128 or any(ch.isspace() for ch in name):
        raise AccountError("Der Benutzername darf nicht leer sein, keine Leerzeichen enthalten "
                           "und höchstens 128 Zeichen lang sein.")
    if role not in ROLES:
        raise AccountError(f"Unbekannte Rolle „{role}“: lesen, sachbearbeitung oder leitung.")
    check_password(password)
    with transaction(settings.db_url) as session:
        if web_users.user_named(session, name) is not None:
            raise AccountError(f"Den Benutzer „{name}“ gibt es schon.")
        web_users.add_user(session, name, _HASHER.hash(password), role, actor=actor, now=now)


def change_password(settings: Settings, name: str, password: str, *, actor: str,
                    now: datetime) -> None:
    check_password(password)
    with transaction(settings.db_url) as session:
        row = web_users.user_named(session, name)
        if row is None:
            raise AccountError(f"Den Benutzer „{name}“ gibt es nicht.")
        web_users.set_password_hash(session, row, _HASHER.hash(password), actor=actor, now=now)


def set_locked(settings: Settings, name: str, locked: bool, *, actor: str) -> None:
    with transaction(settings.db_url) as session:
        row = web_users.user_named(session, name)
        if row is None:
            raise AccountError(f"Den Benutzer „{name}“ gibt es nicht.")
        web_users.set_active(session, row, not locked, actor=actor)


def user_list(settings: Settings) -> list[dict[str, object]]:
    with transaction(settings.db_url) as session:
        return [{"name": row.name, "rolle": ROLES.get(row.role, row.role),
                 "aktiv": row.active, "angelegt": row.created_at.isoformat(),
                 "von": row.created_by} for row in web_users.all_users(session)]


def active_user(settings: Settings, name: str, signed_in_at: datetime) -> User | None:
    """The user of a session signed in at ``signed_in_at``, if still there, not locked, and
    the password not changed since (a new password ends the sessions of the old one)."""
    with transaction(settings.db_url) as session:
        row = web_users.user_named(session, name)
        if row is None or not row.active or row.password_changed_at > signed_in_at:
            return None
        return User(row.name, row.role)


def sign_in(settings: Settings, name: str, password: str, client: str,
            now: datetime) -> User:
    """The user, if name and password match an active user and neither the name nor the
    address failed too often lately; otherwise ``AccountError`` (logged as an event)."""
    since = now - timedelta(minutes=settings.web.throttle_minutes)
    refusal = ("Anmeldung fehlgeschlagen: Benutzername oder Passwort falsch, oder der Zugang "
               "ist gesperrt.")
    with transaction(settings.db_url) as session:
        by_name = web_users.failures_since(session, since, name=name)
        by_client = web_users.failures_since(session, since, client=client)
        row = web_users.user_named(session, name)
        if max(by_name, by_client) >= settings.web.max_failures:
            refusal = ("Zu viele fehlgeschlagene Anmeldungen. Bitte in "
                       f"{settings.web.throttle_minutes} Minuten erneut versuchen.")
        elif _matches(row.password_hash if row else _dummy_hash(), password) and row and \
                row.active:
            web_users.clear_failures(session, name)
            web_users.note_signin(session, name, client)
            return User(row.name, row.role)
    with transaction(settings.db_url) as session:
        web_users.note_failure(session, name, client, now)
    raise AccountError(refusal)


def _matches(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
