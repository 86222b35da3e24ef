"""RFC 9162 Merkle trees over stored hashes.

The module under test is checked three ways: against the certificate-transparency
known answers, against an independent implementation of RFC 9162 section 2.1
written here straight from the RFC's recursive definitions, and against a
brute-force simulation of the storage layout.
"""

from __future__ import annotations

import hashlib
import random

import pytest

from registry.evidence import merkle
from registry.evidence.errors import VerificationError
from registry.evidence.merkle import (
    HashReadError,
    MemoryHashStore,
    consistency_proof,
    consistency_proof_indexes,
    inclusion_proof,
    inclusion_proof_indexes,
    leaf_hash,
    split_stored_hash_index,
    stored_hash_count,
    stored_hash_index,
    tree_hash,
    tree_hash_indexes,
    verify_consistency,
    verify_inclusion,
)

# --- An independent RFC 9162 section 2.1 ------------------------------------------


class ReferenceTree:
    """RFC 9162 MTH, PATH and PROOF computed from the leaves, as the RFC defines them.

    ``D[lo:hi]`` in the RFC is the pair ``lo, hi`` here; subtree hashes are memoised so
    that thousands of proofs over 10,000 leaves stay cheap.
    """

    def __init__(self, entries: list[bytes]):
        self.d = entries
        self._mth: dict[tuple[int, int], bytes] = {}

    @staticmethod
    def split(n: int) -> int:
        """k: the largest power of two smaller than n (n > 1)."""
        k = 1
        while k * 2 < n:
            k *= 2
        return k

    def mth(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) of RFC 9162 section 2.1.1."""
        key = (lo, hi)
        if key not in self._mth:
            n = hi - lo
            if n == 0:
                h = hashlib.sha256(b"").digest()
            elif n == 1:
                h = hashlib.sha256(b"\x00" + self.d[lo]).digest()
            else:
                k = self.split(n)
                h = hashlib.sha256(b"\x01" + self.mth(lo, lo + k) + self.mth(lo + k, hi)).digest()
            self._mth[key] = h
        return self._mth[key]

    def path(self, m: int, lo: int, hi: int) -> list[bytes]:
        """PATH(m, D[lo:hi]) of RFC 9162 section 2.1.3.1; m is relative to lo."""
        n = hi - lo
        if n == 1:
            return []
        k = self.split(n)
        if m < k:
            return [*self.path(m, lo, lo + k), self.mth(lo + k, hi)]
        return [*self.path(m - k, lo + k, hi), self.mth(lo, lo + k)]

    def proof(self, m: int, n: int) -> list[bytes]:
        """PROOF(m, D[0:n]) of RFC 9162 section 2.1.4.1."""
        return self.subproof(m, 0, n, True)

    def subproof(self, m: int, lo: int, hi: int, b: bool) -> list[bytes]:
        """SUBPROOF(m, D[lo:hi], b); m is relative to lo."""
        n = hi - lo
        if m == n:
            return [] if b else [self.mth(lo, hi)]
        k = self.split(n)
        if m <= k:
            return [*self.subproof(m, lo, lo + k, b), self.mth(lo + k, hi)]
        return [*self.subproof(m - k, lo + k, hi, False), self.mth(lo, lo + k)]


def entry(i: int) -> bytes:
    return b"entry %d" % i


@pytest.fixture(scope="module")
def big():
    """10,000 entries in a MemoryHashStore and in the reference tree, built once."""
    store = MemoryHashStore()
    entries = [entry(i) for i in range(10_000)]
    for i, data in enumerate(entries):
        assert store.append_record(data) == i
    return store, ReferenceTree(entries)


def flip(proof: list[bytes], i: int) -> list[bytes]:
    """The proof with the lowest bit of hash i flipped."""
    tampered = list(proof)
    tampered[i] = bytes([tampered[i][0] ^ 1]) + tampered[i][1:]
    return tampered


# --- Known answers: the certificate-transparency test tree ------------------------

CT_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (index, tree size) -> audit path; CT numbers leaves from 1, these from 0.
CT_INCLUSION = {
    (0, 1): [],
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 3): ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    (1, 5): [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}
# (old size, new size) -> consistency proof.
CT_CONSISTENCY = {
    (1, 1): [],
    (1, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
    (6, 7): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}


@pytest.fixture(scope="module")
def ct():
    store = MemoryHashStore()
    for data in CT_LEAVES:
        store.append_record(data)
    return store


def test_ct_roots(ct):
    assert [tree_hash(n, ct.read_hashes).hex() for n in range(9)] == CT_ROOTS
    # Anchors the oracle the other tests compare against.
    reference = ReferenceTree(CT_LEAVES)
    assert [reference.mth(0, n).hex() for n in range(9)] == CT_ROOTS


def test_hash_prefixes():
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert (
        merkle.node_hash(b"L" * 32, b"R" * 32)
        == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    )


@pytest.mark.parametrize(("index", "size"), list(CT_INCLUSION))
def test_ct_inclusion_proofs(ct, index, size):
    proof = inclusion_proof(size, index, ct.read_hashes)
    assert [h.hex() for h in proof] == CT_INCLUSION[(index, size)]
    root = bytes.fromhex(CT_ROOTS[size])
    verify_inclusion(proof, size, root, index, leaf_hash(CT_LEAVES[index]))


@pytest.mark.parametrize(("old", "size"), list(CT_CONSISTENCY))
def test_ct_consistency_proofs(ct, old, size):
    proof = consistency_proof(size, old, ct.read_hashes)
    assert [h.hex() for h in proof] == CT_CONSISTENCY[(old, size)]
    verify_consistency(
        proof, size, bytes.fromhex(CT_ROOTS[size]), old, bytes.fromhex(CT_ROOTS[old])
    )


# --- Against the reference, exhaustively for small trees --------------------------


def test_every_root_inclusion_and_consistency_up_to_64(big):
    store, reference = big
    for size in range(1, 65):
        root = tree_hash(size, store.read_hashes)
        assert root == reference.mth(0, size), size
        for index in range(size):
            proof = inclusion_proof(size, index, store.read_hashes)
            assert proof == reference.path(index, 0, size), (index, size)
            verify_inclusion(proof, size, root, index, leaf_hash(entry(index)))
        for old in range(1, size + 1):
            proof = consistency_proof(size, old, store.read_hashes)
            assert proof == reference.proof(old, size), (old, size)
            verify_consistency(proof, size, root, old, reference.mth(0, old))


def test_random_pairs_up_to_10000(big):
    store, reference = big
    rng = random.Random(9162)  # noqa: S311 - reproducible test inputs, not secrets
    pairs = [(10_000, 0), (10_000, 9_999), (8_192, 8_191), (8_193, 8_192), (4_096, 4_095)]
    pairs += [(size, rng.randrange(size)) for size in (rng.randint(1, 10_000) for _ in range(200))]
    for size, index in pairs:
        root = tree_hash(size, store.read_hashes)
        assert root == reference.mth(0, size), size
        proof = inclusion_proof(size, index, store.read_hashes)
        assert proof == reference.path(index, 0, size), (index, size)
        verify_inclusion(proof, size, root, index, leaf_hash(entry(index)))
        old = index + 1  # any 1 <= old <= size, drawn at random above
        proof = consistency_proof(size, old, store.read_hashes)
        assert proof == reference.proof(old, size), (old, size)
        verify_consistency(proof, size, root, old, reference.mth(0, old))


def test_a_smaller_store_gives_the_same_answers(big):
    # A proof for tree size n reads only hashes stored by record n - 1, so a log
    # can answer for any earlier size; an exact-size store must agree.
    store, _ = big
    small = MemoryHashStore()
    for i in range(1_000):
        small.append_record(entry(i))
    assert tree_hash(1_000, small.read_hashes) == tree_hash(1_000, store.read_hashes)
    for index in (0, 1, 511, 512, 999):
        expected = inclusion_proof(1_000, index, store.read_hashes)
        assert inclusion_proof(1_000, index, small.read_hashes) == expected
    for old in (1, 511, 512, 513, 999, 1_000):
        expected = consistency_proof(1_000, old, store.read_hashes)
        assert consistency_proof(1_000, old, small.read_hashes) == expected


def test_each_question_is_one_read_of_the_listed_indexes(big):
    store, _ = big
    calls: list[list[int]] = []

    def reader(indexes):
        calls.append(list(indexes))
        return store.read_hashes(indexes)

    for size, index, old in [(1, 0, 1), (8, 5, 6), (1_000, 617, 300), (10_000, 9_999, 8_192)]:
        for question, arguments, indexes in [
            (tree_hash, (size,), tree_hash_indexes(size)),
            (inclusion_proof, (size, index), inclusion_proof_indexes(size, index)),
            (consistency_proof, (size, old), consistency_proof_indexes(size, old)),
        ]:
            calls.clear()
            question(*arguments, reader)
            assert calls == ([indexes] if indexes else []), (question, arguments)
            assert all(i < stored_hash_count(size) for i in indexes)


# --- Verification refuses what it should ------------------------------------------


def test_every_tampered_proof_up_to_32_is_refused(big):
    store, reference = big
    for size in range(1, 33):
        root = reference.mth(0, size)
        for index in range(size):
            proof = inclusion_proof(size, index, store.read_hashes)
            record = leaf_hash(entry(index))
            for i in range(len(proof)):
                with pytest.raises(VerificationError, match=r"^inclusion: proof leads to root"):
                    verify_inclusion(flip(proof, i), size, root, index, record)
        for old in range(1, size + 1):
            proof = consistency_proof(size, old, store.read_hashes)
            old_root = reference.mth(0, old)
            for i in range(len(proof)):
                with pytest.raises(
                    VerificationError, match=r"^consistency: proof leads to (old )?root"
                ):
                    verify_consistency(flip(proof, i), size, root, old, old_root)


@pytest.fixture
def thirteen(big):
    """A tree of 13 entries, no power of two: its root and a proof for entry 5."""
    store, reference = big
    root = reference.mth(0, 13)
    proof = inclusion_proof(13, 5, store.read_hashes)
    assert len(proof) == 4
    verify_inclusion(proof, 13, root, 5, leaf_hash(entry(5)))
    return store, reference, root, proof


def test_inclusion_refuses_a_flipped_bit(thirteen):
    _, _, root, proof = thirteen
    with pytest.raises(
        VerificationError, match=r"^inclusion: proof leads to root [0-9a-f]{64}, not"
    ):
        verify_inclusion(flip(proof, 2), 13, root, 5, leaf_hash(entry(5)))


def test_inclusion_refuses_a_truncated_proof(thirteen):
    _, _, root, proof = thirteen
    with pytest.raises(VerificationError, match=r"^inclusion: proof has 3 hashes; .* needs 4"):
        verify_inclusion(proof[:-1], 13, root, 5, leaf_hash(entry(5)))


def test_inclusion_refuses_an_extended_proof(thirteen):
    _, _, root, proof = thirteen
    with pytest.raises(VerificationError, match=r"^inclusion: proof has 5 hashes; .* needs 4"):
        verify_inclusion([*proof, root], 13, root, 5, leaf_hash(entry(5)))


def test_inclusion_refuses_a_wrong_index(thirteen):
    _, _, root, proof = thirteen
    record = leaf_hash(entry(5))
    with pytest.raises(VerificationError, match=r"^inclusion: proof leads to root"):
        verify_inclusion(proof, 13, root, 4, record)
    with pytest.raises(VerificationError, match=r"^inclusion: proof has 4 hashes; .* needs 2"):
        verify_inclusion(proof, 13, root, 12, record)  # the lone right-hand leaf
    for index in (13, -1):
        with pytest.raises(VerificationError, match=r"^inclusion: index .* is outside a tree"):
            verify_inclusion(proof, 13, root, index, record)


def test_inclusion_refuses_a_wrong_size(thirteen):
    _, reference, root, proof = thirteen
    record = leaf_hash(entry(5))
    # The size fixes the shape of the path; the root it is paired with (in a
    # signed checkpoint) must then be the one the path leads to.
    for size in (12, 14):
        with pytest.raises(VerificationError, match=r"^inclusion: proof leads to root"):
            verify_inclusion(proof, size, reference.mth(0, size), 5, record)
    with pytest.raises(VerificationError, match=r"^inclusion: proof has 4 hashes; .* needs 3"):
        verify_inclusion(proof, 8, reference.mth(0, 8), 5, record)
    with pytest.raises(VerificationError, match=r"^inclusion: index 5 is outside a tree of size 0"):
        verify_inclusion(proof, 0, root, 5, record)


def test_inclusion_refuses_a_wrong_root_or_record(thirteen):
    _, reference, root, proof = thirteen
    with pytest.raises(VerificationError, match=r"^inclusion: proof leads to root"):
        verify_inclusion(proof, 13, reference.mth(0, 12), 5, leaf_hash(entry(5)))
    with pytest.raises(VerificationError, match=r"^inclusion: proof leads to root"):
        verify_inclusion(proof, 13, root, 5, leaf_hash(entry(6)))


def test_inclusion_refuses_a_short_hash(thirteen):
    _, _, root, proof = thirteen
    with pytest.raises(VerificationError, match=r"^inclusion: proof hash 1 is 31 bytes"):
        verify_inclusion([proof[0], proof[1][:31], *proof[2:]], 13, root, 5, leaf_hash(entry(5)))


@pytest.fixture
def six_to_thirteen(big):
    """The consistency proof from 6 entries to 13: neither size a power of two."""
    store, reference = big
    old_root, root = reference.mth(0, 6), reference.mth(0, 13)
    proof = consistency_proof(13, 6, store.read_hashes)
    assert len(proof) == 4
    verify_consistency(proof, 13, root, 6, old_root)
    return reference, proof, root, old_root


def test_consistency_refuses_a_flipped_bit(six_to_thirteen):
    _, proof, root, old_root = six_to_thirteen
    with pytest.raises(VerificationError, match=r"^consistency: proof leads to root"):
        verify_consistency(flip(proof, 3), 13, root, 6, old_root)
    with pytest.raises(VerificationError, match=r"^consistency: proof leads to old root"):
        verify_consistency(flip(proof, 0), 13, root, 6, old_root)


def test_consistency_refuses_a_truncated_proof(six_to_thirteen):
    _, proof, root, old_root = six_to_thirteen
    with pytest.raises(VerificationError, match=r"^consistency: proof has 3 hashes; .* need 4"):
        verify_consistency(proof[:-1], 13, root, 6, old_root)


def test_consistency_refuses_an_extended_proof(six_to_thirteen):
    _, proof, root, old_root = six_to_thirteen
    with pytest.raises(VerificationError, match=r"^consistency: proof has 5 hashes; .* need 4"):
        verify_consistency([*proof, root], 13, root, 6, old_root)


def test_consistency_refuses_a_wrong_old_size(six_to_thirteen):
    reference, proof, root, _ = six_to_thirteen
    with pytest.raises(VerificationError, match=r"^consistency: proof leads to old root"):
        verify_consistency(proof, 13, root, 10, reference.mth(0, 10))
    with pytest.raises(VerificationError, match=r"^consistency: proof has 4 hashes; .* need 5"):
        verify_consistency(proof, 13, root, 7, reference.mth(0, 7))
    with pytest.raises(VerificationError, match=r"^consistency: proof has 4 hashes; .* need 1"):
        verify_consistency(proof, 13, root, 8, reference.mth(0, 8))
    for old in (0, 14):
        with pytest.raises(
            VerificationError, match=r"^consistency: old size .* not 1 <= old <= new"
        ):
            verify_consistency(proof, 13, root, old, reference.mth(0, 6))


def test_consistency_refuses_a_wrong_new_size(six_to_thirteen):
    reference, proof, _, old_root = six_to_thirteen
    with pytest.raises(VerificationError, match=r"^consistency: proof leads to root"):
        verify_consistency(proof, 14, reference.mth(0, 14), 6, old_root)
    with pytest.raises(VerificationError, match=r"^consistency: proof has 4 hashes; .* need 3"):
        verify_consistency(proof, 8, reference.mth(0, 8), 6, old_root)


def test_consistency_refuses_a_wrong_root(six_to_thirteen, big):
    reference, proof, root, old_root = six_to_thirteen
    with pytest.raises(VerificationError, match=r"^consistency: proof leads to root"):
        verify_consistency(proof, 13, reference.mth(0, 12), 6, old_root)
    with pytest.raises(VerificationError, match=r"^consistency: proof leads to old root"):
        verify_consistency(proof, 13, root, 6, reference.mth(0, 5))
    # When the old tree is a complete left subtree the proof leaves its root out,
    # so a wrong old root shows up as a wrong new root.
    store, _ = big
    proof = consistency_proof(13, 8, store.read_hashes)
    with pytest.raises(VerificationError, match=r"^consistency: proof leads to root"):
        verify_consistency(proof, 13, root, 8, reference.mth(0, 7))


def test_consistency_of_a_tree_with_itself(six_to_thirteen):
    _, _, root, old_root = six_to_thirteen
    verify_consistency([], 13, root, 13, root)
    with pytest.raises(VerificationError, match=r"^consistency: proof leads to root"):
        verify_consistency([], 13, root, 13, old_root)
    with pytest.raises(VerificationError, match=r"^consistency: proof has 1 hashes; .* need 0"):
        verify_consistency([root], 13, root, 13, root)


def test_verification_error_names_the_check(thirteen):
    _, _, root, proof = thirteen
    with pytest.raises(VerificationError) as caught:
        verify_inclusion(proof, 13, root, 4, leaf_hash(entry(5)))
    assert caught.value.check == "inclusion"


# --- Proof generation refuses bad questions ----------------------------------------


def test_generation_refuses_impossible_questions(ct):
    with pytest.raises(ValueError, match=r"record 8 is not in a tree of size 8"):
        inclusion_proof(8, 8, ct.read_hashes)
    with pytest.raises(ValueError, match=r"record -1 is not in a tree"):
        inclusion_proof(8, -1, ct.read_hashes)
    with pytest.raises(ValueError, match=r"no consistency proof from size 0 to size 8"):
        consistency_proof(8, 0, ct.read_hashes)
    with pytest.raises(ValueError, match=r"no consistency proof from size 9 to size 8"):
        consistency_proof(8, 9, ct.read_hashes)
    with pytest.raises(ValueError, match=r"no tree has size -1"):
        tree_hash(-1, ct.read_hashes)


def test_reading_beyond_the_store_is_a_storage_error(ct):
    with pytest.raises(HashReadError, match=r"no hash stored at index"):
        tree_hash(9, ct.read_hashes)
    with pytest.raises(HashReadError, match=r"no hash stored at index -1"):
        ct.read_hashes([0, -1])


def test_a_reader_that_breaks_its_contract_is_a_storage_error(ct):
    with pytest.raises(HashReadError, match=r"asked for 3 hashes, the reader returned 1"):
        inclusion_proof(8, 5, lambda indexes: ct.read_hashes(indexes)[:1])
    with pytest.raises(HashReadError, match=r"returned a 31-byte hash"):
        tree_hash(8, lambda indexes: [h[:31] for h in ct.read_hashes(indexes)])


def test_empty_tree():
    assert tree_hash(0, MemoryHashStore().read_hashes) == hashlib.sha256(b"").digest()
    assert tree_hash_indexes(0) == []
    assert stored_hash_count(0) == 0


# --- The storage layout against a simulation ---------------------------------------


def test_storage_layout_matches_a_simulation():
    # Appending record n stores its leaf, then each subtree it completes, lowest first.
    layout: list[tuple[int, int]] = []
    for n in range(1_000):
        layout.append((0, n))
        level = 1
        while (n + 1) % (1 << level) == 0:
            layout.append((level, (n + 1 >> level) - 1))
            level += 1
        assert stored_hash_count(n + 1) == len(layout), n
    for index, (level, n) in enumerate(layout):
        assert stored_hash_index(level, n) == index, (level, n)
        assert split_stored_hash_index(index) == (level, n), index


def test_stored_hashes_match_the_simulated_layout(big):
    store, reference = big
    for index in range(stored_hash_count(300)):
        level, n = split_stored_hash_index(index)
        lo = n << level
        expected = reference.mth(lo, lo + (1 << level))
        assert store.read_hashes([index]) == [expected], (level, n)


def test_store_counts_records():
    store = MemoryHashStore()
    assert store.size == 0
    assert store.append_record(b"a") == 0
    assert store.append_record(b"b") == 1
    assert store.size == 2


def test_layout_functions_refuse_negative_arguments():
    with pytest.raises(ValueError, match=r"no stored hash at level -1"):
        stored_hash_index(-1, 0)
    with pytest.raises(ValueError, match=r"no stored hash at index -1"):
        split_stored_hash_index(-1)
    with pytest.raises(ValueError, match=r"no tree has -1 records"):
        stored_hash_count(-1)
