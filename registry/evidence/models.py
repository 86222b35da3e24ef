"""What the evidence layer stores. Rows here are append-only (the database refuses changes)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import db, utcnow


class SigningKey(db.Model):
    """A public key the registry signs with, and when it was in use.

    The private halves live in the instance folder, never in the database.
    """

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))  # "statement" or "checkpoint"
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    valid_from: Mapped[datetime] = mapped_column(default=utcnow)
    valid_until: Mapped[datetime | None]


class Statement(db.Model):
    __tablename__ = "statements"

    id: Mapped[int] = mapped_column(primary_key=True)
    log_index: Mapped[int] = mapped_column(BigInteger, unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    idea_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ideas.id"), index=True)
    version_number: Mapped[int | None] = mapped_column(Integer)
    canonical: Mapped[bytes] = mapped_column(LargeBinary)
    statement_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    kid: Mapped[str] = mapped_column(ForeignKey("signing_keys.kid"))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    timestamps: Mapped[list[StatementTimestamp]] = relationship(
        lazy="selectin", order_by="StatementTimestamp.id"
    )


class StatementTimestamp(db.Model):
    """An RFC 3161 token over a statement's hash, from our TSA or an external one."""

    __tablename__ = "statement_timestamps"

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), index=True)
    tsa: Mapped[str] = mapped_column(String(500))
    token: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Opening(db.Model):
    """The salt that opens one field's commitment in a version's statement."""

    __tablename__ = "openings"

    version_id: Mapped[int] = mapped_column(ForeignKey("idea_versions.id"), primary_key=True)
    field: Mapped[str] = mapped_column(String(32), primary_key=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))


class LogHash(db.Model):
    """One stored hash of the Merkle tree, at its tlog storage index."""

    __tablename__ = "log_hashes"

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LogHead(db.Model):
    """The one row that says how large the log is. Appending locks it."""

    __tablename__ = "log_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    # The root at ``size``: each append proves itself consistent with it.
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class Checkpoint(db.Model):
    """A signed checkpoint (C2SP signed note) for one tree size."""

    __tablename__ = "log_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
