"""What the access log stores. Entries are append-only (the database refuses changes)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.alliance.models import _enum
from registry.db import db

HEAD_ID = 1
# The hash the first entry chains to.
GENESIS = bytes(32)


class AccessOutcome(enum.StrEnum):
    READ = "read"
    REFUSED = "refused"


class AccessField(enum.StrEnum):
    BODY = "body"
    OPENINGS = "openings"
    ATTACHMENT = "attachment"  # a version's attachments: their names, or one's content


class AccessLogEntry(db.Model):
    """One read of protected content, or one refusal, on an idea.

    ``hash`` is SHA-256(the previous entry's hash || JCS of the entry's fields), so
    an entry edited, removed or slipped in breaks the chain (`registry audit`).
    """

    __tablename__ = "access_log_entries"

    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    idea_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ideas.id"), index=True)
    version: Mapped[int | None] = mapped_column(Integer)
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id"))
    organisations: Mapped[list[str]] = mapped_column(JSON)
    fields: Mapped[list[str]] = mapped_column(JSON)
    at: Mapped[datetime]
    endpoint: Mapped[str] = mapped_column(String(100))
    request_id: Mapped[str] = mapped_column(String(128))
    outcome: Mapped[AccessOutcome] = mapped_column(_enum(AccessOutcome, "access_outcome"))
    # Break-glass: the reason an administrator stated; None for every other entry.
    reason: Mapped[str | None] = mapped_column(String(500))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AccessLogHead(db.Model):
    """The one row that says how long the chain is and how it ends. Appending locks it."""

    __tablename__ = "access_log_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
