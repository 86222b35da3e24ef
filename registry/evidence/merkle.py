"""RFC 9162 Merkle tree hashing over stored hashes.

The tree is never rebuilt to answer a question. When record ``n`` is appended,
its leaf hash and the hash of every complete subtree it closes are stored, at
dense storage indexes laid out as in Go's ``golang.org/x/mod/sumdb/tlog``
(whose algorithms this module ports; BSD licence, Copyright 2019 The Go
Authors). A tree head, an inclusion proof or a consistency proof of a tree of
any size up to the stored one then needs O(log n) stored hashes.

Each question is answered in three steps, so that a database can answer it in
one query: ``*_indexes`` names the storage indexes needed, the ``HashReader``
fetches them in that order, and the stored hashes are combined. The readers'
contract: ``read_hashes(indexes)`` returns ``[stored[i] for i in indexes]``.

Proofs are laid out as RFC 9162 section 2.1.3 and 2.1.4 lay them out, so the
verifiers here accept proofs from any RFC 9162 (or RFC 6962) log and vice versa.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence

from registry.evidence.errors import VerificationError

__all__ = [
    "HASH_SIZE",
    "HashReadError",
    "HashReader",
    "MemoryHashStore",
    "consistency_proof",
    "consistency_proof_indexes",
    "inclusion_proof",
    "inclusion_proof_indexes",
    "leaf_hash",
    "node_hash",
    "split_stored_hash_index",
    "stored_hash_count",
    "stored_hash_index",
    "stored_hashes_for_record",
    "tree_hash",
    "tree_hash_indexes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32

HashReader = Callable[[Sequence[int]], list[bytes]]
"""Return the stored hashes at the given storage indexes, in the order asked."""

_EMPTY_TREE_HASH = hashlib.sha256(b"").digest()


class HashReadError(Exception):
    """A ``HashReader`` did not return one 32-byte hash per index asked for.

    This is a storage fault (missing rows, a tree size beyond what is stored),
    not a property of any proof, so it is not a ``VerificationError``.
    """


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 9162 hash of a leaf: SHA-256(0x00 || data). Never fails."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 hash of an interior node: SHA-256(0x01 || left || right).

    Never fails; the caller is responsible for passing 32-byte hashes.
    """
    return hashlib.sha256(b"\x01" + left + right).digest()


# --- Storage layout -------------------------------------------------------------


def stored_hash_index(level: int, n: int) -> int:
    """Return the storage index of the ``n``th hash at ``level`` (0 = leaves).

    The layout is tlog's: each record's leaf hash is followed by the hashes of
    the subtrees it completes, lowest first. Raises ``ValueError`` if ``level``
    or ``n`` is negative.
    """
    if level < 0 or n < 0:
        raise ValueError(f"no stored hash at level {level}, position {n}")
    # Level L's nth hash is written right after level L+1's (2n+1)th hash...
    # i.e. right after leaf ((n + 1) << level) - 1 and its lower subtrees.
    n = ((n + 1) << level) - 1
    # Leaf n is written at n + n//2 + n//4 + ... which is 2n - popcount(n).
    return 2 * n - n.bit_count() + level


def split_stored_hash_index(index: int) -> tuple[int, int]:
    """Return ``(level, n)`` such that ``stored_hash_index(level, n) == index``.

    Raises ``ValueError`` if ``index`` is negative.
    """
    if index < 0:
        raise ValueError(f"no stored hash at index {index}")
    # stored_hash_index(0, n) <= 2n, so the record that wrote this hash is at
    # least index // 2 and at most log2(index) records further on.
    n = index // 2
    index_n = stored_hash_index(0, n)
    while True:
        # Record n + 1 is written after record n's 1 + trailing_zeros(n + 1) hashes.
        after = index_n + 1 + _trailing_zeros(n + 1)
        if after > index:
            break
        n += 1
        index_n = after
    # The hash was written with record n: it is one of (0, n), (1, n/2), (2, n/4), ...
    level = index - index_n
    return level, n >> level


def stored_hash_count(n: int) -> int:
    """Return how many hashes are stored for a tree of ``n`` records.

    Raises ``ValueError`` if ``n`` is negative.
    """
    if n < 0:
        raise ValueError(f"no tree has {n} records")
    if n == 0:
        return 0
    # Everything up to the last leaf, then the subtrees that leaf completes.
    return stored_hash_index(0, n - 1) + 1 + _trailing_zeros(n)


def record_hash_indexes(n: int) -> list[int]:
    """Return the storage indexes ``stored_hashes_for_record(n, ...)`` reads, in order."""
    return [stored_hash_index(i, (n >> i) - 1) for i in reversed(range(_trailing_zeros(n + 1)))]


def stored_hashes_for_record(n: int, record_hash: bytes, read_hashes: HashReader) -> list[bytes]:
    """Return the hashes to store when appending record ``n`` with leaf hash ``record_hash``.

    They go at storage indexes ``stored_hash_index(0, n)`` onwards: the leaf
    hash, then one hash per subtree the record completes. Records ``0..n-1``
    must already be stored. Raises ``ValueError`` if ``n`` is negative or
    ``record_hash`` is not 32 bytes, and ``HashReadError`` if the reader fails
    its contract.
    """
    if n < 0:
        raise ValueError(f"no record has index {n}")
    if len(record_hash) != HASH_SIZE:
        raise ValueError(f"a record hash is {HASH_SIZE} bytes, not {len(record_hash)}")
    # Each trailing 1 bit of n completes a subtree whose left half is already stored.
    m = _trailing_zeros(n + 1)
    old = _read(read_hashes, record_hash_indexes(n))
    hashes = [record_hash]
    h = record_hash
    for i in range(m):
        h = node_hash(old[m - 1 - i], h)
        hashes.append(h)
    return hashes


# --- Tree hash ------------------------------------------------------------------


def tree_hash_indexes(size: int) -> list[int]:
    """Return the storage indexes ``tree_hash(size, ...)`` reads, in order.

    Raises ``ValueError`` if ``size`` is negative.
    """
    if size < 0:
        raise ValueError(f"no tree has size {size}")
    return _sub_tree_index(0, size, [])


def tree_hash(size: int, read_hashes: HashReader) -> bytes:
    """Return the RFC 9162 root hash of the first ``size`` records.

    The empty tree's hash is SHA-256 of nothing. Raises ``ValueError`` if
    ``size`` is negative and ``HashReadError`` if the reader fails its contract.
    """
    indexes = tree_hash_indexes(size)
    if not indexes:
        return _EMPTY_TREE_HASH
    hashes = iter(_read(read_hashes, indexes))
    return _sub_tree_hash(0, size, hashes)


# --- Inclusion ------------------------------------------------------------------


def inclusion_proof_indexes(tree_size: int, index: int) -> list[int]:
    """Return the storage indexes ``inclusion_proof(tree_size, index, ...)`` reads, in order.

    Raises ``ValueError`` unless ``0 <= index < tree_size``.
    """
    if not 0 <= index < tree_size:
        raise ValueError(f"record {index} is not in a tree of size {tree_size}")
    return _leaf_proof_index(0, tree_size, index, [])


def inclusion_proof(tree_size: int, index: int, read_hashes: HashReader) -> list[bytes]:
    """Return the RFC 9162 inclusion proof of record ``index`` in the tree of ``tree_size``.

    Raises ``ValueError`` unless ``0 <= index < tree_size`` and
    ``HashReadError`` if the reader fails its contract.
    """
    indexes = inclusion_proof_indexes(tree_size, index)
    if not indexes:
        return []
    hashes = iter(_read(read_hashes, indexes))
    return _leaf_proof(0, tree_size, index, hashes)


def verify_inclusion(
    proof: Sequence[bytes], tree_size: int, root: bytes, index: int, record_hash: bytes
) -> None:
    """Check that ``proof`` shows record ``index`` of ``(tree_size, root)`` has ``record_hash``.

    ``record_hash`` is the record's leaf hash. Returns ``None`` on success.
    Raises ``VerificationError`` with check ``"inclusion"`` if the index is
    outside the tree, the proof has the wrong number of hashes for that index
    and size or a hash of the wrong length, or the proof does not lead to
    ``root``.
    """
    if not 0 <= index < tree_size:
        raise VerificationError("inclusion", f"index {index} is outside a tree of size {tree_size}")
    expected = _inclusion_proof_length(tree_size, index)
    if len(proof) != expected:
        raise VerificationError(
            "inclusion",
            f"proof has {len(proof)} hashes; index {index} in a tree of size {tree_size} "
            f"needs {expected}",
        )
    _check_hash_sizes("inclusion", proof)
    computed = _run_record_proof(proof, len(proof), 0, tree_size, index, record_hash)
    if computed != root:
        raise VerificationError(
            "inclusion",
            f"proof leads to root {computed.hex()}, not the expected {root.hex()}",
        )


# --- Consistency ----------------------------------------------------------------


def consistency_proof_indexes(tree_size: int, old_size: int) -> list[int]:
    """Return the storage indexes ``consistency_proof(tree_size, old_size, ...)`` reads, in order.

    Raises ``ValueError`` unless ``1 <= old_size <= tree_size``.
    """
    if not 1 <= old_size <= tree_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {tree_size}")
    return _tree_proof_index(0, tree_size, old_size, [])


def consistency_proof(tree_size: int, old_size: int, read_hashes: HashReader) -> list[bytes]:
    """Return the RFC 9162 consistency proof from the tree of ``old_size`` to ``tree_size``.

    The proof from a tree to itself is empty. Raises ``ValueError`` unless
    ``1 <= old_size <= tree_size`` and ``HashReadError`` if the reader fails
    its contract.
    """
    indexes = consistency_proof_indexes(tree_size, old_size)
    if not indexes:
        return []
    hashes = iter(_read(read_hashes, indexes))
    return _tree_proof(0, tree_size, old_size, hashes)


def verify_consistency(
    proof: Sequence[bytes], tree_size: int, root: bytes, old_size: int, old_root: bytes
) -> None:
    """Check that ``proof`` shows the tree ``(tree_size, root)`` extends ``(old_size, old_root)``.

    Returns ``None`` on success. Raises ``VerificationError`` with check
    ``"consistency"`` if the sizes are not ``1 <= old_size <= tree_size``, the
    proof has the wrong number of hashes for those sizes or a hash of the wrong
    length, or the proof does not lead to ``old_root`` or to ``root``.
    """
    if not 1 <= old_size <= tree_size:
        raise VerificationError(
            "consistency",
            f"old size {old_size} and new size {tree_size} are not 1 <= old <= new",
        )
    expected = _consistency_proof_length(tree_size, old_size)
    if len(proof) != expected:
        raise VerificationError(
            "consistency",
            f"proof has {len(proof)} hashes; sizes {old_size} to {tree_size} need {expected}",
        )
    _check_hash_sizes("consistency", proof)
    computed_old, computed = _run_tree_proof(proof, len(proof), 0, tree_size, old_size, old_root)
    if computed_old != old_root:
        raise VerificationError(
            "consistency",
            f"proof leads to old root {computed_old.hex()}, not the expected {old_root.hex()}",
        )
    if computed != root:
        raise VerificationError(
            "consistency",
            f"proof leads to root {computed.hex()}, not the expected {root.hex()}",
        )


# --- A store in memory ----------------------------------------------------------


class MemoryHashStore:
    """Stored hashes in a list: for tests, tools and checking a log offline."""

    def __init__(self) -> None:
        self._hashes: list[bytes] = []
        self._size = 0

    @property
    def size(self) -> int:
        """The number of records appended."""
        return self._size

    def append_record(self, data: bytes) -> int:
        """Append a record and return its index. Never fails."""
        n = self._size
        self._hashes.extend(stored_hashes_for_record(n, leaf_hash(data), self.read_hashes))
        self._size = n + 1
        return n

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        """Return the stored hashes at ``indexes``; ``HashReadError`` if one is not stored."""
        stored = self._hashes
        for i in indexes:
            # Checked, not caught: a negative index would read from the end of the list.
            if not 0 <= i < len(stored):
                raise HashReadError(f"no hash stored at index {i}; {len(stored)} are stored")
        return [stored[i] for i in indexes]


# --- The tlog algorithms ----------------------------------------------------------
#
# Each function works on the subtree holding records [lo, hi). The *_index
# functions list the storage indexes needed in the order the matching builders
# consume them from an iterator; the builders and the _run_* verifiers follow
# RFC 9162's recursive definitions of MTH, PATH and SUBPROOF.


def _read(read_hashes: HashReader, indexes: list[int]) -> list[bytes]:
    if not indexes:  # spare a database backend an empty query
        return []
    hashes = read_hashes(indexes)
    if len(hashes) != len(indexes):
        raise HashReadError(f"asked for {len(indexes)} hashes, the reader returned {len(hashes)}")
    for h in hashes:
        if len(h) != HASH_SIZE:
            raise HashReadError(f"the reader returned a {len(h)}-byte hash")
    return hashes


def _check_hash_sizes(check: str, proof: Sequence[bytes]) -> None:
    for i, h in enumerate(proof):
        if len(h) != HASH_SIZE:
            raise VerificationError(check, f"proof hash {i} is {len(h)} bytes, not {HASH_SIZE}")


def _trailing_zeros(n: int) -> int:
    return (n & -n).bit_length() - 1


def _maxpow2(n: int) -> tuple[int, int]:
    """Return ``(k, level)``: the largest power of two ``k = 2**level`` below ``n`` (n >= 2)."""
    level = (n - 1).bit_length() - 1
    return 1 << level, level


def _sub_tree_index(lo: int, hi: int, need: list[int]) -> list[int]:
    # [lo, hi) splits into complete subtrees, largest first; each is stored.
    while lo < hi:
        k, level = _maxpow2(hi - lo + 1)
        need.append(stored_hash_index(level, lo >> level))
        lo += k
    return need


def _sub_tree_hash(lo: int, hi: int, hashes: Iterator[bytes]) -> bytes:
    # Take the stored hashes of the complete subtrees of [lo, hi), largest
    # (leftmost) first, and fold them together from the right.
    parts = []
    while lo < hi:
        k, _ = _maxpow2(hi - lo + 1)
        parts.append(next(hashes))
        lo += k
    h = parts[-1]
    for left in reversed(parts[:-1]):
        h = node_hash(left, h)
    return h


def _leaf_proof_index(lo: int, hi: int, n: int, need: list[int]) -> list[int]:
    if lo + 1 == hi:
        return need
    k, _ = _maxpow2(hi - lo)
    if n < lo + k:
        _leaf_proof_index(lo, lo + k, n, need)
        _sub_tree_index(lo + k, hi, need)
    else:
        _sub_tree_index(lo, lo + k, need)
        _leaf_proof_index(lo + k, hi, n, need)
    return need


def _leaf_proof(lo: int, hi: int, n: int, hashes: Iterator[bytes]) -> list[bytes]:
    if lo + 1 == hi:
        # The verifier has the leaf hash; the path starts at its sibling.
        return []
    k, _ = _maxpow2(hi - lo)
    if n < lo + k:
        proof = _leaf_proof(lo, lo + k, n, hashes)
        sibling = _sub_tree_hash(lo + k, hi, hashes)
    else:
        sibling = _sub_tree_hash(lo, lo + k, hashes)
        proof = _leaf_proof(lo + k, hi, n, hashes)
    proof.append(sibling)
    return proof


def _inclusion_proof_length(hi: int, n: int) -> int:
    lo, length = 0, 0
    while hi - lo > 1:
        k, _ = _maxpow2(hi - lo)
        if n < lo + k:
            hi = lo + k
        else:
            lo += k
        length += 1
    return length


def _run_record_proof(
    proof: Sequence[bytes], end: int, lo: int, hi: int, n: int, record_hash: bytes
) -> bytes:
    # proof[:end] is the path from record n up to the root of [lo, hi); its
    # length was checked beforehand, so it runs out exactly at the leaf.
    if lo + 1 == hi:
        return record_hash
    k, _ = _maxpow2(hi - lo)
    sibling = proof[end - 1]
    if n < lo + k:
        return node_hash(_run_record_proof(proof, end - 1, lo, lo + k, n, record_hash), sibling)
    return node_hash(sibling, _run_record_proof(proof, end - 1, lo + k, hi, n, record_hash))


def _tree_proof_index(lo: int, hi: int, n: int, need: list[int]) -> list[int]:
    if n == hi:
        if lo == 0:
            return need
        return _sub_tree_index(lo, hi, need)
    k, _ = _maxpow2(hi - lo)
    if n <= lo + k:
        _tree_proof_index(lo, lo + k, n, need)
        _sub_tree_index(lo + k, hi, need)
    else:
        _sub_tree_index(lo, lo + k, need)
        _tree_proof_index(lo + k, hi, n, need)
    return need


def _tree_proof(lo: int, hi: int, n: int, hashes: Iterator[bytes]) -> list[bytes]:
    if n == hi:
        if lo == 0:
            # This subtree is the old tree, whose root the verifier holds.
            return []
        return [_sub_tree_hash(lo, hi, hashes)]
    k, _ = _maxpow2(hi - lo)
    if n <= lo + k:
        proof = _tree_proof(lo, lo + k, n, hashes)
        sibling = _sub_tree_hash(lo + k, hi, hashes)
    else:
        sibling = _sub_tree_hash(lo, lo + k, hashes)
        proof = _tree_proof(lo + k, hi, n, hashes)
    proof.append(sibling)
    return proof


def _consistency_proof_length(hi: int, n: int) -> int:
    lo, length = 0, 0
    while n != hi:
        k, _ = _maxpow2(hi - lo)
        if n <= lo + k:
            hi = lo + k
        else:
            lo += k
        length += 1
    return length + (lo != 0)


def _run_tree_proof(
    proof: Sequence[bytes], end: int, lo: int, hi: int, n: int, old_root: bytes
) -> tuple[bytes, bytes]:
    # Returns the hashes of [lo, n) and [lo, hi) that proof[:end] implies; its
    # length was checked beforehand, so it runs out exactly at common ground.
    if n == hi:
        if lo == 0:
            return old_root, old_root
        return proof[0], proof[0]
    k, _ = _maxpow2(hi - lo)
    sibling = proof[end - 1]
    if n <= lo + k:
        old, new = _run_tree_proof(proof, end - 1, lo, lo + k, n, old_root)
        return old, node_hash(new, sibling)
    old, new = _run_tree_proof(proof, end - 1, lo + k, hi, n, old_root)
    return node_hash(sibling, old), node_hash(sibling, new)
