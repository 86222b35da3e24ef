"""What an attachment stores. Rows are written once, never changed (the database refuses it).

For a version whose sensitivity seals content (commercial, confidential), the content,
the filename and the openings of their commitments are stored sealed under the
version's own data key: shredding the idea makes them unreadable with the rest of it.
For public and alliance versions they are stored in clear.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from registry.db import UUIDPrimaryKey, db
from registry.ip.models import IdeaVersion
from registry.sealing.service import OPENING, Sealing, is_sealed

# What an attachment keeps, by name (as sealed, and as its openings are named in
# receipts without the prefix), and the column that holds it.
COLUMNS = {
    "content": "content",
    "filename": "filename",
    OPENING + "content": "content_opening",
    OPENING + "filename": "filename_opening",
}


class Attachment(UUIDPrimaryKey, db.Model):
    """A file attached to one version of an idea, committed by its own statement."""

    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("version_id", "position"),)

    version_id: Mapped[int] = mapped_column(ForeignKey("idea_versions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    # The statement that commits to the attachment (type "idea-attachment").
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), unique=True)
    # In clear (the filename as UTF-8, the 32-byte salts), or sealed: the 12-byte nonce
    # followed by the AES-256-GCM ciphertext under the version's data key.
    filename: Mapped[bytes] = mapped_column(LargeBinary)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    content_opening: Mapped[bytes] = mapped_column(LargeBinary(60))
    filename_opening: Mapped[bytes] = mapped_column(LargeBinary(60))

    def sealed_name(self, name: str) -> str:
        """The field name its value is sealed under: bound to this attachment, so a
        ciphertext copied to another attachment or column does not open."""
        return f"attachment:{self.id}:{name}"

    def keep(
        self,
        session: Session,
        sealing: Sealing,
        version: IdeaVersion,
        values: Mapping[str, bytes],
    ) -> None:
        """Set the columns from ``values`` (every name in :data:`COLUMNS`), sealed under
        the version's data key where its sensitivity seals content.

        Raises ``ShreddedError`` if that key was deleted, ``SealError`` without a KEK.
        """
        if set(values) != set(COLUMNS):
            raise ValueError(f"an attachment keeps exactly {', '.join(COLUMNS)}")
        if is_sealed(version.sensitivity):
            sealed = sealing.seal_extra(
                session, version, {self.sealed_name(n): v for n, v in values.items()}
            )
            values = {n: sealed[self.sealed_name(n)] for n in values}
        for name, value in values.items():
            setattr(self, COLUMNS[name], value)

    def reveal(
        self,
        session: Session,
        sealing: Sealing,
        version: IdeaVersion,
        names: Iterable[str],
    ) -> dict[str, bytes]:
        """The plaintext of ``names`` (of :data:`COLUMNS`).

        Raises ``ShreddedError`` if the version's data key was deleted, and ``SealError``
        if a KEK is missing or a sealed value does not open (moved or tampered).
        """
        stored = {name: getattr(self, COLUMNS[name]) for name in names}
        if not is_sealed(version.sensitivity):
            return stored
        opened = sealing.open_extra(
            session,
            version.id,
            version.idea_id,
            version.number,
            {self.sealed_name(n): v for n, v in stored.items()},
        )
        return {name: opened[self.sealed_name(name)] for name in stored}


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_attachments(session: Session, _context, _instances) -> None:
    # The database refuses these too (triggers, migration 0006); failing here first gives
    # a clear message.
    for obj in session.dirty:
        if isinstance(obj, Attachment) and session.is_modified(obj):
            raise RuntimeError("Attachment is immutable once stored")
    for obj in session.deleted:
        if isinstance(obj, Attachment):
            raise RuntimeError("Attachment can never be deleted")
