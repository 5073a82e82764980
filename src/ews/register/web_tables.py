"""Tables of the office's web interface: its users and their failed sign-ins (SQLAlchemy ORM
declarations on the register's ``Base``; no I/O)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ews.register.schema import Base


class WebUserRow(Base):
    """A person who signs in to the web interface: ``name`` (unique), the argon2 hash of the
    password (never the password), ``role`` (lesen | sachbearbeitung | leitung), ``active``
    (False: locked by ``ews betrieb benutzer sperren``)."""

    __tablename__ = "web_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    password_changed_at: Mapped[datetime]


class WebSigninFailure(Base):
    """One failed sign-in: the name tried (whether or not such a user exists), the client's
    address and when; the throttle counts these within a window."""

    __tablename__ = "web_signin_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
