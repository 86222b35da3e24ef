"""The transparency log (RFC 9162 Merkle tree, C2SP checkpoints) stored in the database.

Hashes are stored in the layout of Go's ``golang.org/x/mod/sumdb/tlog``, so every
proof is a handful of stored hashes read in one query, never a recomputation.
Appending locks the one ``log_head`` row: on PostgreSQL with ``FOR UPDATE``,
on SQLite by the write transaction itself. So with any number of workers and
hosts, indexes have no gaps and no duplicates.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from registry.evidence import merkle, note
from registry.evidence.models import Checkpoint, LogHash, LogHead

HEAD_ID = 1


class TransparencyLog:
    def __init__(self, session: Session, origin: str):
        self.session = session
        self.origin = origin

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        found = self._fetch(set(indexes))
        try:
            return [found[i] for i in indexes]
        except KeyError as missing:
            raise merkle.HashReadError(f"stored hash {missing} is missing") from None

    def lock(self) -> LogHead:
        """Lock the log's head row until the transaction ends, and return it.

        On PostgreSQL this waits for any append in flight to commit; on SQLite the
        writing transaction already holds the database lock. What the transaction
        reads after this sees every entry before the one it will append, so
        statements can name earlier ones (``previous``, ``derived_from``) in log
        order. Raises ``RuntimeError`` if the log has no head row.
        """
        # populate_existing: the row as locked, even if this session saw it before.
        head = self.session.scalar(
            select(LogHead)
            .where(LogHead.id == HEAD_ID)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if head is None:
            raise RuntimeError("the log has no head row: run `registry init`")
        return head

    def append(self, leaf: bytes, signing_key: Ed25519PrivateKey) -> tuple[int, Checkpoint]:
        """Add ``leaf`` (canonical statement bytes) and sign the new checkpoint.

        Returns the leaf's index and the checkpoint. Must run inside the caller's
        transaction; raises ``VerificationError`` rather than sign a checkpoint
        inconsistent with the last one.
        """
        head = self.lock()
        index, size = head.size, head.size + 1
        first = merkle.stored_hash_index(0, index)
        # Everything this append reads, in one query: the hashes the new leaf joins,
        # those the new root is made of, and the proof that the new tree extends the
        # old one. Those at or past `first` are the ones being written now.
        wanted = set(merkle.record_hash_indexes(index)) | set(merkle.tree_hash_indexes(size))
        if index:
            wanted |= set(merkle.consistency_proof_indexes(size, index))
        known = self._fetch({i for i in wanted if i < first})

        def read(indexes: Sequence[int]) -> list[bytes]:
            try:
                return [known[i] for i in indexes]
            except KeyError as missing:
                raise merkle.HashReadError(f"stored hash {missing} is missing") from None

        hashes = merkle.stored_hashes_for_record(index, merkle.leaf_hash(leaf), read)
        known.update((first + i, h) for i, h in enumerate(hashes))
        root = merkle.tree_hash(size, read)
        if index:
            # Consistent by construction; checked anyway against the root last
            # signed, since a signed inconsistent pair would prove the log forked.
            merkle.verify_consistency(
                merkle.consistency_proof(size, index, read), size, root, index, head.root_hash
            )
        self.session.execute(
            insert(LogHash), [{"idx": first + i, "hash": h} for i, h in enumerate(hashes)]
        )
        text = note.Checkpoint(origin=self.origin, size=size, root_hash=root).to_text()
        checkpoint = Checkpoint(
            tree_size=size, root_hash=root, note=note.sign_note(text, self.origin, signing_key)
        )
        self.session.add(checkpoint)
        head.size, head.root_hash = size, root
        return index, checkpoint

    def _fetch(self, indexes: set[int]) -> dict[int, bytes]:
        if not indexes:
            return {}
        return dict(
            self.session.execute(
                select(LogHash.idx, LogHash.hash).where(LogHash.idx.in_(indexes))
            ).all()
        )

    def size(self) -> int:
        return self.session.scalar(select(LogHead.size).where(LogHead.id == HEAD_ID)) or 0

    def checkpoint(self, tree_size: int | None = None) -> Checkpoint | None:
        """The signed checkpoint for ``tree_size``, or the latest."""
        query = select(Checkpoint)
        if tree_size is None:
            query = query.order_by(Checkpoint.tree_size.desc()).limit(1)
        else:
            query = query.where(Checkpoint.tree_size == tree_size)
        return self.session.scalar(query)

    def inclusion(self, index: int, tree_size: int) -> list[bytes]:
        return merkle.inclusion_proof(tree_size, index, self.read_hashes)

    def consistency(self, tree_size: int, old_size: int) -> list[bytes]:
        return merkle.consistency_proof(tree_size, old_size, self.read_hashes)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
