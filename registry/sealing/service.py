"""Sealing a version's confidential fields, opening them for a reader, shredding them.

What else belongs to a version (its attachments) is sealed under the same data key, so
shredding the version's key erases it too."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from registry.ip.models import IdeaVersion, Sensitivity
from registry.sealing import crypto
from registry.sealing.keys import KeyEncryptionKeys
from registry.sealing.models import DataKey, SealedField

# Which fields each sensitivity seals. Openings of a sealed version are sealed too,
# as "opening:<field>".
SEALED: dict[Sensitivity, tuple[str, ...]] = {
    Sensitivity.PUBLIC: (),
    Sensitivity.ALLIANCE: (),
    Sensitivity.COMMERCIAL: ("body",),
    Sensitivity.CONFIDENTIAL: ("title", "summary", "body"),
}
OPENING = "opening:"


def sealed_fields(sensitivity: Sensitivity) -> tuple[str, ...]:
    return SEALED[sensitivity]


def is_sealed(sensitivity: Sensitivity) -> bool:
    return bool(SEALED[sensitivity])


class ShreddedError(crypto.SealError):
    """The version's data key was deleted: its sealed content is gone for everyone."""


@dataclass(frozen=True)
class Sealing:
    """Seals and opens versions' fields with the KEKs of this host."""

    keks: KeyEncryptionKeys

    def seal(self, session: Session, version: IdeaVersion, values: Mapping[str, bytes]) -> None:
        """Store ``values`` (field -> bytes) sealed under a fresh data key for ``version``.

        Runs in the caller's transaction. Raises :class:`SealError` if no KEK exists.
        """
        kek_id, kek = self.keks.current()
        data_key = crypto.new_key()
        session.add(
            DataKey(
                version_id=version.id,
                kek_id=kek_id,
                wrapped=crypto.wrap(kek, kek_id, version.id, data_key),
            )
        )
        for field, value in values.items():
            sealed = crypto.seal(
                data_key, value, crypto.field_aad(version.idea_id, version.number, field)
            )
            session.add(
                SealedField(
                    version_id=version.id,
                    field=field,
                    nonce=sealed.nonce,
                    ciphertext=sealed.ciphertext,
                )
            )
        session.flush()

    def open(
        self,
        session: Session,
        version_id: int,
        idea_id: uuid.UUID,
        number: int,
        fields: Iterable[str],
    ) -> dict[str, bytes]:
        """The plaintext of ``fields`` of a version (those it sealed).

        Raises :class:`ShreddedError` if its data key was deleted and :class:`SealError`
        if a KEK is missing or a ciphertext does not open (moved or tampered).
        """
        fields = list(fields)
        if not fields:
            return {}
        opened = self.open_many(session, {version_id: (idea_id, number, fields)})
        if version_id not in opened:
            raise ShreddedError(f"version {version_id} was shredded: its data key is deleted")
        return opened[version_id]

    def open_many(
        self, session: Session, wanted: Mapping[int, tuple[uuid.UUID, int, Iterable[str]]]
    ) -> dict[int, dict[str, bytes]]:
        """The plaintext of sealed fields of several versions, in two queries: ``wanted``
        maps a version's id to its idea's id, its number and the fields to open. Versions
        whose data key was deleted (shredded) are left out of the answer.

        Raises :class:`SealError` if a KEK is missing or a ciphertext does not open.
        """
        fields = {version_id: set(names) for version_id, (_, _, names) in wanted.items()}
        if not any(fields.values()):
            return {}
        data_keys = {
            row.version_id: self._unwrap(row)
            for row in session.scalars(select(DataKey).where(DataKey.version_id.in_(fields)))
        }
        rows = session.execute(
            select(
                SealedField.version_id, SealedField.field, SealedField.nonce, SealedField.ciphertext
            ).where(
                SealedField.version_id.in_(data_keys),
                SealedField.field.in_(set().union(*fields.values())),
            )
        )
        opened: dict[int, dict[str, bytes]] = {version_id: {} for version_id in data_keys}
        for row in rows:
            if row.field not in fields[row.version_id]:
                continue  # another version's field: never opened when not asked for
            idea_id, number, _ = wanted[row.version_id]
            opened[row.version_id][row.field] = crypto.open_sealed(
                data_keys[row.version_id],
                crypto.Sealed(row.nonce, row.ciphertext),
                crypto.field_aad(idea_id, number, row.field),
            )
        return opened

    def seal_extra(
        self, session: Session, version: IdeaVersion, values: Mapping[str, bytes]
    ) -> dict[str, bytes]:
        """``values`` (field -> bytes) sealed under the data key ``version`` already has, for
        the caller to store: field -> nonce || ciphertext. Each is bound to the idea, the
        version and its field name (``crypto.field_aad``), so it opens nowhere else.

        Raises :class:`ShreddedError` if the version has no data key (shredded, or never
        sealed) and :class:`SealError` if its KEK is missing.
        """
        data_key = self._data_key(session, version.id)
        sealed = {
            field: crypto.seal(
                data_key, value, crypto.field_aad(version.idea_id, version.number, field)
            )
            for field, value in values.items()
        }
        return {field: s.nonce + s.ciphertext for field, s in sealed.items()}

    def open_extra(
        self,
        session: Session,
        version_id: int,
        idea_id: uuid.UUID,
        number: int,
        sealed: Mapping[str, bytes],
    ) -> dict[str, bytes]:
        """The plaintext of values :meth:`seal_extra` sealed (field -> nonce || ciphertext).

        Raises :class:`ShreddedError` if the version's data key was deleted and
        :class:`SealError` if a KEK is missing or a value does not open under this field
        name of this version (moved from another field or row, or tampered).
        """
        if not sealed:
            return {}
        data_key = self._data_key(session, version_id)
        return {
            field: crypto.open_sealed(
                data_key,
                crypto.Sealed(value[: crypto.NONCE_BYTES], value[crypto.NONCE_BYTES :]),
                crypto.field_aad(idea_id, number, field),
            )
            for field, value in sealed.items()
        }

    def _data_key(self, session: Session, version_id: int) -> bytes:
        row = session.get(DataKey, version_id)
        if row is None:
            raise ShreddedError(f"version {version_id} was shredded: its data key is deleted")
        return self._unwrap(row)

    def _unwrap(self, row: DataKey) -> bytes:
        """A data key, unwrapped with its KEK. Raises :class:`SealError` if this host does
        not hold the KEK or the wrapped key does not open under it."""
        return crypto.unwrap(self.keks.get(row.kek_id), row.kek_id, row.version_id, row.wrapped)

    @staticmethod
    def shred(session: Session, idea_id: uuid.UUID) -> int:
        """Delete the data keys of every version of an idea; returns how many. Runs in the
        caller's transaction. The ciphertexts stay, unreadable by anyone from then on."""
        version_ids = select(IdeaVersion.id).where(IdeaVersion.idea_id == idea_id)
        result = session.execute(delete(DataKey).where(DataKey.version_id.in_(version_ids)))
        return result.rowcount or 0

    def rewrap(
        self,
        session: Session,
        kek_id: str,
        progress: Callable[[int], None] = lambda _n: None,
        batch: int = 500,
    ) -> int:
        """Rewrap every data key not yet under KEK ``kek_id`` with it; returns how many.

        Commits after each batch, so a long rotation can be interrupted and run again.
        Raises :class:`SealError` if an old KEK is missing or a wrapped key does not open.
        """
        new = self.keks.get(kek_id)
        done = 0
        while True:
            rows = list(
                session.scalars(
                    select(DataKey)
                    .where(DataKey.kek_id != kek_id)
                    .order_by(DataKey.version_id)
                    .limit(batch)
                )
            )
            if not rows:
                return done
            for row in rows:
                data_key = self._unwrap(row)
                row.wrapped = crypto.wrap(new, kek_id, row.version_id, data_key)
                row.kek_id = kek_id
            session.commit()
            done += len(rows)
            progress(len(rows))

    @staticmethod
    def pending(session: Session, kek_id: str) -> int:
        """How many data keys are not wrapped by KEK ``kek_id`` yet."""
        return session.scalar(select(func.count()).where(DataKey.kek_id != kek_id)) or 0

    @staticmethod
    def holds_keys(session: Session, idea_id: uuid.UUID) -> bool:
        """Does any version of the idea still have a data key (sealed content to shred)?"""
        return bool(
            session.scalar(
                select(
                    exists().where(
                        DataKey.version_id == IdeaVersion.id, IdeaVersion.idea_id == idea_id
                    )
                )
            )
        )
