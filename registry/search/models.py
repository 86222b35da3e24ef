"""What search keeps beside the index itself (which is a backend's own table)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.alliance.models import _enum
from registry.db import db, utcnow
from registry.ip.models import IdeaState, Origin, Sensitivity

WORD_MAX = 32


class SearchWord(db.Model):
    """A word seen in a clear field of some idea: the vocabulary "did you mean" draws
    from. Never a word of a sealed field. A suggestion is offered only when it finds
    ideas the searcher may read (registry/search/service.py)."""

    __tablename__ = "search_words"

    word: Mapped[str] = mapped_column(String(WORD_MAX), primary_key=True)


class IndexedIdea(db.Model):
    """What a search filters on, decides access by and counts, for each idea as of its
    latest version: copied from ``ideas`` and ``idea_versions`` in the transactions that
    index the version and that withdraw the idea (registry/search/indexer.py).

    A search reads this one narrow row for each index entry that matches, found by its
    primary key, instead of two lookups into the register's wide tables: at 100,000
    ideas that is most of what a search costs. `registry search check` compares every
    row with the register.
    """

    __tablename__ = "search_ideas"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("idea_versions.id"), primary_key=True, autoincrement=False
    )
    idea_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ideas.id"), unique=True)
    origin: Mapped[Origin] = mapped_column(_enum(Origin, "idea_origin"))
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    group_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("groups.id"))
    sensitivity: Mapped[Sensitivity] = mapped_column(_enum(Sensitivity, "idea_sensitivity"))
    state: Mapped[IdeaState] = mapped_column(_enum(IdeaState, "idea_state"))
    registered_at: Mapped[datetime]


# The search rows' table, written with Core statements: the ORM's bulk insert costs more
# than the rest of indexing a submission.
ROWS = IndexedIdea.__table__


class SearchCheckpoint(db.Model):
    """How far a `registry search reindex` got: the last idea it indexed (ideas are
    indexed in id order), committed with that batch, so a killed run continues."""

    __tablename__ = "search_checkpoints"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    idea_id: Mapped[uuid.UUID | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- the Whoosh backend's outbox (registry/search/whoosh.py) ------------------------------


class SearchOutboxEntry(db.Model):
    """A change to the Whoosh index, written in the transaction that changes the register
    and deleted once a drain has applied it (registry/search/whoosh.py).

    ``scope`` and ``document`` name an entry to store (the document's fields, sealed
    ones as blind terms only); both NULL: forget every entry of the version. Rows are
    applied in ``id`` order, never changed.
    """

    __tablename__ = "search_outbox"
    # AUTOINCREMENT: an id is never reused after the drain deletes the newest rows.
    __table_args__ = (
        CheckConstraint("(scope IS NULL) = (document IS NULL)", name="put_or_remove"),
        CheckConstraint("scope IN (0, 1)", name="scope"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("idea_versions.id"))
    scope: Mapped[int | None] = mapped_column(SmallInteger)
    document: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    enqueued_at: Mapped[datetime] = mapped_column(default=utcnow)
