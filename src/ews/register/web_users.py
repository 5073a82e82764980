"""The web interface's users and failed sign-ins in the register: add, list, lock, change the
password hash, count failures (I/O: database, in the caller's session). Hashing is the
caller's (ews.web.accounts); here only the hash is stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from ews.register.cases import log_event
from ews.register.web_tables import WebSigninFailure, WebUserRow


def user_named(session: Session, name: str) -> WebUserRow | None:
    return session.scalars(select(WebUserRow).where(WebUserRow.name == name)).first()


def all_users(session: Session) -> list[WebUserRow]:
    return list(session.scalars(select(WebUserRow).order_by(WebUserRow.name)))


def add_user(session: Session, name: str, password_hash: str, role: str, *, actor: str,
             now: datetime) -> WebUserRow:
    row = WebUserRow(name=name, password_hash=password_hash, role=role, active=True,
                     created_at=now, created_by=actor, password_changed_at=now)
    session.add(row)
    log_event(session, actor=actor, action="web-benutzer-angelegt", subject=f"benutzer:{name}",
              detail={"rolle": role})
    return row


def set_active(session: Session, row: WebUserRow, active: bool, *, actor: str) -> None:
    row.active = active
    log_event(session, actor=actor, action="web-benutzer-" + ("entsperrt" if active
                                                              else "gesperrt"),
              subject=f"benutzer:{row.name}", detail={})


def set_password_hash(session: Session, row: WebUserRow, password_hash: str, *, actor: str,
                      now: datetime) -> None:
    row.password_hash, row.password_changed_at = password_hash, now
    log_event(session, actor=actor, action="web-passwort-geaendert",
              subject=f"benutzer:{row.name}", detail={})


def note_failure(session: Session, name: str, client: str, now: datetime) -> None:
    session.add(WebSigninFailure(name=name[:128], client=client[:64], at=now))
    log_event(session, actor=name[:128] or "unbekannt", action="web-anmeldung-fehlgeschlagen",
              subject=f"benutzer:{name[:128]}", detail={"adresse": client[:64]})


def failures_since(session: Session, since: datetime, *, name: str | None = None,
                   client: str | None = None) -> int:
    """Failed sign-ins since ``since`` for this name or (if given) from this address."""
    conditions = []
    if name is not None:
        conditions.append(WebSigninFailure.name == name)
    if client is not None:
        conditions.append(WebSigninFailure.client == client)
    query = select(func.count()).select_from(WebSigninFailure).where(
        WebSigninFailure.at >= since, or_(*conditions))
    return int(session.scalar(query) or 0)


def clear_failures(session: Session, name: str) -> None:
    """After a successful sign-in: this name's failures no longer count."""
    session.execute(delete(WebSigninFailure).where(WebSigninFailure.name == name))


def note_signin(session: Session, name: str, client: str) -> None:
    log_event(session, actor=name, action="web-anmeldung", subject=f"benutzer:{name}",
              detail={"adresse": client[:64]})
