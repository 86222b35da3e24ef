"""What sealing stores. Sealed fields are append-only; a data key may be rewrapped
(`registry keys rotate-kek`) or deleted (shredding), never read without its KEK."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import db, utcnow


class DataKey(db.Model):
    """A version's data key, wrapped by the KEK ``kek_id``. Deleted, the version's
    sealed fields are gone for everyone (crypto-shredding)."""

    __tablename__ = "data_keys"

    version_id: Mapped[int] = mapped_column(ForeignKey("idea_versions.id"), primary_key=True)
    kek_id: Mapped[str] = mapped_column(String(64), index=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary(60))


class SealedField(db.Model):
    """One field of a version, sealed under its data key (AES-256-GCM)."""

    __tablename__ = "sealed_fields"

    version_id: Mapped[int] = mapped_column(ForeignKey("idea_versions.id"), primary_key=True)
    field: Mapped[str] = mapped_column(String(32), primary_key=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)


class Shredding(db.Model):
    """That an idea's sealed content was shredded, by whom and when (see its statement)."""

    __tablename__ = "shreddings"

    idea_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ideas.id"), primary_key=True)
    shredded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    shredded_at: Mapped[datetime] = mapped_column(default=utcnow)
