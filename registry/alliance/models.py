from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import UUIDPrimaryKey, db, utcnow


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as the value, checked by a CHECK constraint on every backend.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )


class OrganisationKind(enum.StrEnum):
    CCG = "ccg"
    PROVIDER = "provider"


class GroupKind(enum.StrEnum):
    FORUM = "forum"
    CLUSTER = "cluster"
    EXECUTIVE = "executive"


class Role(enum.StrEnum):
    MEMBER = "member"
    CCG_STAFF = "ccg_staff"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Organisation(UUIDPrimaryKey, db.Model):
    __tablename__ = "organisations"

    kind: Mapped[OrganisationKind] = mapped_column(_enum(OrganisationKind, "organisation_kind"))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    ods_code: Mapped[str | None] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Group(UUIDPrimaryKey, db.Model):
    """A forum, cluster or the Executive Group: where CCG-owned ideas evolve."""

    __tablename__ = "groups"

    kind: Mapped[GroupKind] = mapped_column(_enum(GroupKind, "group_kind"))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Person(UUIDPrimaryKey, db.Model):
    """Someone acting in the registry.

    A registered service client (a provider's system) acts through a person of
    its own with no email, so every action has one kind of actor.
    """

    __tablename__ = "people"

    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="person", lazy="selectin", cascade="all, delete-orphan"
    )
    group_memberships: Mapped[list[GroupMembership]] = relationship(
        back_populates="person", lazy="selectin", cascade="all, delete-orphan"
    )


class Membership(db.Model):
    """A person's place in an organisation, with the role they hold there."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("person_id", "organisation_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "membership_role"))

    person: Mapped[Person] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship(lazy="joined")


class GroupMembership(db.Model):
    __tablename__ = "group_memberships"
    __table_args__ = (UniqueConstraint("person_id", "group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), index=True)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id"), index=True)

    person: Mapped[Person] = relationship(back_populates="group_memberships")
    group: Mapped[Group] = relationship(lazy="joined")
