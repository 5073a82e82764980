"""Tables of the Löschkonzept: the deletion log, legal holds and the exports the service
wrote (SQLAlchemy ORM declarations on the register's ``Base``; no I/O)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ews.register.schema import Base


class DeletionLogRow(Base):
    """One deletion, anonymisation or access export: when (``at``), by whom (``actor``: the
    user or "zeitplan"), by which rule (``rule``: the retention class), in which way
    (``way``: geloescht | anonymisiert | auskunft | sperre …) and in what extent (``az``,
    ``record_ids``, ``counts``). Never the deleted content: no names, addresses or file
    names, only Az., record numbers and counts."""

    __tablename__ = "deletion_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    rule: Mapped[str] = mapped_column(String(64))
    way: Mapped[str] = mapped_column(String(32))
    az: Mapped[str | None] = mapped_column(String(64), index=True)
    #: e.g. {"bewerbungen": [3], "eingaenge": [7, 9], "mails": [2]}
    record_ids: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: e.g. {"bewerbungen": 1, "dateien": 4}
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: the staff's reason for a request or hold (entered by staff, never copied data)
    note: Mapped[str] = mapped_column(Text, default="")


class LegalHold(Base):
    """A legal hold (Sperre) on a case: exempt from deletion until ``lifted_at``."""

    __tablename__ = "legal_holds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    az: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(128))
    set_at: Mapped[datetime]
    lifted_by: Mapped[str | None] = mapped_column(String(128))
    lifted_at: Mapped[datetime | None]
    lift_reason: Mapped[str | None] = mapped_column(Text)


class ExportRow(Base):
    """An export with personal data the service wrote (an XLSX of the register or the
    roster, an access export); deleted after ``config/aufbewahrung.toml`` [exporte]."""

    __tablename__ = "exports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # register | netzwerk | auskunft
    location: Mapped[str] = mapped_column(String(1024))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]
