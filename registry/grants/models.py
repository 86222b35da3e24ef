"""A grant: an idea shared by its owner's side, until it expires or is revoked.

Grants are evidence too: a row is never deleted, and only its revocation is ever
written to it (the database refuses anything else; see migration 0003).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import CheckConstraint, ColumnElement, ForeignKey, and_, false, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from registry.alliance.models import Group, Organisation, Person, Role
from registry.auth.principal import Principal
from registry.db import UUIDPrimaryKey, db, utcnow


class GranteeKind(enum.StrEnum):
    ORGANISATION = "organisation"
    GROUP = "group"
    PERSON = "person"


class GrantStatus(enum.StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


# Grants to an organisation reach the people who take part in it, not its auditors
# or administrators.
GRANTEE_ROLES = frozenset({Role.MEMBER, Role.CCG_STAFF})


class Grant(UUIDPrimaryKey, db.Model):
    """An idea shared with exactly one organisation, group or person."""

    __tablename__ = "grants"
    __table_args__ = (
        CheckConstraint(
            "(organisation_id IS NOT NULL AND group_id IS NULL AND person_id IS NULL)"
            " OR (organisation_id IS NULL AND group_id IS NOT NULL AND person_id IS NULL)"
            " OR (organisation_id IS NULL AND group_id IS NULL AND person_id IS NOT NULL)",
            name="one_grantee",
        ),
    )

    idea_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ideas.id"), index=True)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )
    group_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("groups.id"), index=True)
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id"), index=True)
    granted_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    granted_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    # The statement that records the grant, and the one that records its revocation.
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), unique=True)
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id"))
    revocation_statement_id: Mapped[int | None] = mapped_column(
        ForeignKey("statements.id"), unique=True
    )

    organisation: Mapped[Organisation | None] = relationship(lazy="joined")
    group: Mapped[Group | None] = relationship(lazy="joined")
    person: Mapped[Person | None] = relationship(lazy="joined", foreign_keys=[person_id])

    @property
    def grantee_kind(self) -> GranteeKind:
        if self.organisation_id is not None:
            return GranteeKind.ORGANISATION
        if self.group_id is not None:
            return GranteeKind.GROUP
        return GranteeKind.PERSON

    @property
    def grantee_id(self) -> uuid.UUID:
        return self.organisation_id or self.group_id or self.person_id

    @property
    def grantee_name(self) -> str:
        grantee = self.organisation or self.group or self.person
        return grantee.display_name if isinstance(grantee, Person) else grantee.name

    def status(self, at: datetime) -> GrantStatus:
        if self.revoked_at is not None:
            return GrantStatus.REVOKED
        if self.expires_at is not None and self.expires_at <= at:
            return GrantStatus.EXPIRED
        return GrantStatus.ACTIVE


def active(at: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    """SQL: the grant is neither revoked nor expired at ``at`` (a time, or a bound
    parameter that will hold one)."""
    return and_(Grant.revoked_at.is_(None), or_(Grant.expires_at.is_(None), Grant.expires_at > at))


def active_grants_to(
    principal: Principal, at: datetime | ColumnElement[datetime]
) -> ColumnElement[bool]:
    """SQL: the grant is active at ``at`` and names ``principal``: their person, an
    organisation they are a member or CCG staff of, or a group they are in.

    The one definition of being a grantee: the policy's list filter uses it in an
    EXISTS, and :func:`registry.grants.services.shared_with` for single ideas.
    """
    if principal.is_anonymous:
        return false()
    organisations = sorted(
        {o for o, _kind, role in principal.memberships if role in GRANTEE_ROLES}, key=str
    )
    named = [Grant.person_id == principal.person_id]
    if organisations:
        named.append(Grant.organisation_id.in_(organisations))
    if principal.group_ids:
        named.append(Grant.group_id.in_(sorted(principal.group_ids, key=str)))
    return and_(active(at), or_(*named))


def shared_with(
    session: Session,
    principal: Principal,
    idea_ids: Iterable[uuid.UUID],
    at: datetime | None = None,
) -> frozenset[uuid.UUID]:
    """Those of ``idea_ids`` that an active grant (at ``at``, by default now) shares
    with ``principal``: what :func:`registry.access.policy.relations` takes as ``granted``."""
    ids = list(set(idea_ids))
    if not ids or principal.is_anonymous:
        return frozenset()
    return frozenset(
        session.scalars(
            select(Grant.idea_id)
            .where(Grant.idea_id.in_(ids), active_grants_to(principal, at or utcnow()))
            .distinct()
        )
    )
