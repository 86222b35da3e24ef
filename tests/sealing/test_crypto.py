"""AES-256-GCM sealing and key wrapping: round trips, and every way a value must not open."""

import uuid

import pytest

from registry.sealing import crypto
from registry.sealing.crypto import SealError

IDEA = uuid.UUID("00000000-0000-4000-8000-000000000001")
HERE = crypto.field_aad(IDEA, 1, "body")


def test_a_sealed_field_opens_with_its_key_and_place():
    key = crypto.new_key()
    sealed = crypto.seal(key, b"secret text", HERE)
    assert b"secret" not in sealed.ciphertext
    assert crypto.open_sealed(key, sealed, HERE) == b"secret text"


def test_each_seal_uses_a_fresh_nonce():
    key = crypto.new_key()
    assert crypto.seal(key, b"same", HERE) != crypto.seal(key, b"same", HERE)


@pytest.mark.parametrize(
    "elsewhere",
    [
        pytest.param(crypto.field_aad(IDEA, 2, "body"), id="another version"),
        pytest.param(crypto.field_aad(IDEA, 1, "title"), id="another field"),
        pytest.param(crypto.field_aad(uuid.uuid4(), 1, "body"), id="another idea"),
    ],
)
def test_a_ciphertext_moved_to_another_row_or_field_does_not_open(elsewhere):
    key = crypto.new_key()
    sealed = crypto.seal(key, b"secret text", HERE)
    with pytest.raises(SealError, match="wrong key, wrong place or tampered"):
        crypto.open_sealed(key, sealed, elsewhere)


def test_a_changed_byte_does_not_open():
    key = crypto.new_key()
    sealed = crypto.seal(key, b"secret text", HERE)
    tampered = crypto.Sealed(
        sealed.nonce, bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    )
    with pytest.raises(SealError, match="tampered"):
        crypto.open_sealed(key, tampered, HERE)


def test_a_wrapped_key_opens_with_its_kek():
    kek, data_key = crypto.new_key(), crypto.new_key()
    wrapped = crypto.wrap(kek, "k1", 7, data_key)
    assert data_key not in wrapped
    assert crypto.unwrap(kek, "k1", 7, wrapped) == data_key


def test_a_wrong_kek_does_not_unwrap():
    wrapped = crypto.wrap(crypto.new_key(), "k1", 7, crypto.new_key())
    with pytest.raises(SealError, match="data key of version 7 does not open under KEK k1"):
        crypto.unwrap(crypto.new_key(), "k1", 7, wrapped)


def test_a_wrapped_key_copied_to_another_version_does_not_unwrap():
    kek = crypto.new_key()
    wrapped = crypto.wrap(kek, "k1", 7, crypto.new_key())
    with pytest.raises(SealError, match="data key of version 8 does not open"):
        crypto.unwrap(kek, "k1", 8, wrapped)


def test_keys_of_the_wrong_size_are_refused():
    with pytest.raises(ValueError, match="32 bytes"):
        crypto.seal(b"short", b"x", HERE)
