"""The declarations of the Kommunen-Netzwerk and its roster of members in the register
(adapter: database via SQLAlchemy; the caller's transaction).

Holds no rules: ``ews.network`` decides what is issued, filed and recorded; this module finds,
adds and lists the rows.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ews.core.models import DeclarationState
from ews.register.schema import DeclarationRow, Input, NetworkMember


def declaration_by_az(session: Session, az: str) -> DeclarationRow | None:
    return session.scalars(select(DeclarationRow).where(DeclarationRow.az == az)).first()


def declaration_of_application(session: Session, application_id: int) -> DeclarationRow | None:
    """The declaration issued under an application's Az., if any."""
    return session.scalars(select(DeclarationRow).where(
        DeclarationRow.application_id == application_id)).first()


def declaration_of(session: Session, declaration_id: int | None) -> DeclarationRow | None:
    return None if declaration_id is None else session.get(DeclarationRow, declaration_id)


def open_declaration(session: Session, ags: str) -> DeclarationRow | None:
    """The latest declaration of a municipality that is issued and not yet returned."""
    return session.scalars(select(DeclarationRow).where(
        DeclarationRow.ags == ags, DeclarationRow.state == DeclarationState.ISSUED)
        .order_by(DeclarationRow.id.desc())).first()


def add_declaration(session: Session, row: DeclarationRow, *, flush: bool = False
                    ) -> DeclarationRow:
    """Record a new declaration; with ``flush`` its ``id`` is set at once."""
    session.add(row)
    if flush:
        session.flush()
    return row


def input_of(session: Session, input_id: int) -> Input | None:
    """An input by its Eingangsnummer (a return filed by hand names it)."""
    return session.get(Input, input_id)


def member_by_ags(session: Session, ags: str) -> NetworkMember | None:
    return session.scalars(select(NetworkMember).where(NetworkMember.ags == ags)).first()


def add_member(session: Session, member: NetworkMember) -> NetworkMember:
    session.add(member)
    return member


def save(session: Session) -> None:
    """Write pending changes of the roster now (inside the transaction)."""
    session.flush()


def members(session: Session) -> list[NetworkMember]:
    """Every member of the roster, by name."""
    return list(session.scalars(select(NetworkMember).order_by(NetworkMember.kommune_name)))


def all_members(session: Session) -> list[NetworkMember]:
    """Every member of the roster, in the order the register keeps them."""
    return list(session.scalars(select(NetworkMember)))
