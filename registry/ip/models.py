from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from registry.alliance.models import Group, Organisation, Person, _enum
from registry.db import UUIDPrimaryKey, db, utcnow


class Origin(enum.StrEnum):
    PROVIDER = "provider"  # a provider's pre-existing idea: stays the provider's
    FORUM = "forum"  # new IP evolved in a forum, cluster or the Executive Group: the CCG's


class Sensitivity(enum.StrEnum):
    PUBLIC = "public"
    ALLIANCE = "alliance"
    COMMERCIAL = "commercial"
    CONFIDENTIAL = "confidential"


class IdeaState(enum.StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class Idea(UUIDPrimaryKey, db.Model):
    """An idea and what never changes about it: origin, owner, group.

    Reclassifying origin or owner is a recorded decision, not an edit, so the
    API never updates these columns.
    """

    __tablename__ = "ideas"

    origin: Mapped[Origin] = mapped_column(_enum(Origin, "idea_origin"), index=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    group_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("groups.id"), index=True)
    state: Mapped[IdeaState] = mapped_column(
        _enum(IdeaState, "idea_state"), default=IdeaState.ACTIVE
    )
    latest_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id"))
    withdrawal_reason: Mapped[str | None] = mapped_column(String(2000))

    owner: Mapped[Organisation] = relationship(lazy="joined")
    group: Mapped[Group | None] = relationship(lazy="joined")
    versions: Mapped[list[IdeaVersion]] = relationship(
        back_populates="idea", order_by="IdeaVersion.number", lazy="raise_on_sql"
    )


class IdeaVersion(db.Model):
    """One submitted version of an idea. Stored once, never changed."""

    __tablename__ = "idea_versions"
    __table_args__ = (UniqueConstraint("idea_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ideas.id"))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(String(4000))
    body: Mapped[str] = mapped_column(Text)
    sensitivity: Mapped[Sensitivity] = mapped_column(_enum(Sensitivity, "idea_sensitivity"))
    submitted_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)

    idea: Mapped[Idea] = relationship(back_populates="versions")
    submitted_by: Mapped[Person] = relationship(lazy="joined")
    tag_rows: Mapped[list[VersionTag]] = relationship(
        lazy="selectin", order_by="VersionTag.position", cascade="save-update"
    )
    derivation_rows: Mapped[list[Derivation]] = relationship(
        lazy="selectin", order_by="Derivation.position", cascade="save-update"
    )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]

    @property
    def derived_from(self) -> list[uuid.UUID]:
        return [row.source_idea_id for row in self.derivation_rows]


class VersionTag(db.Model):
    __tablename__ = "version_tags"
    # Search's tag facet reads the tags of every idea found by version: this index holds
    # both, so it never reads the table.
    __table_args__ = (Index("ix_version_tags_version_id_tag", "version_id", "tag"),)

    version_id: Mapped[int] = mapped_column(ForeignKey("idea_versions.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), index=True)


class Derivation(db.Model):
    """A version builds on an earlier idea. The earlier idea is never touched."""

    __tablename__ = "derivations"

    version_id: Mapped[int] = mapped_column(ForeignKey("idea_versions.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    source_idea_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ideas.id"), index=True)


IMMUTABLE = (IdeaVersion, VersionTag, Derivation)


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_versions(session: Session, _context, _instances) -> None:
    # The database refuses these too (triggers in the migrations); failing here
    # first gives a clear message and never reaches the wire.
    for obj in session.dirty:
        # Collections count: a tag or source appended to a stored version changes it too.
        if isinstance(obj, IMMUTABLE) and session.is_modified(obj, include_collections=True):
            raise RuntimeError(f"{type(obj).__name__} is immutable once stored")
    for obj in session.deleted:
        if isinstance(obj, IMMUTABLE):
            raise RuntimeError(f"{type(obj).__name__} can never be deleted")
