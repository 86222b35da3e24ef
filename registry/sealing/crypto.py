"""AES-256-GCM sealing of one field, and wrapping of data keys by a KEK.

Each version has its own 256-bit data key; each field is sealed under it with a fresh
96-bit nonce and associated data naming the idea, the version and the field, so a
ciphertext copied to another row or field does not open. The data key is stored only
wrapped (AES-256-GCM again) by a key-encryption key (KEK) that never enters the database.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12


class SealError(Exception):
    """A sealed value or wrapped key did not open: wrong key, wrong place, or tampered."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Sealed:
    """One sealed field: the nonce and the ciphertext (with its 16-byte GCM tag)."""

    nonce: bytes
    ciphertext: bytes


def new_key() -> bytes:
    """A fresh random 256-bit key (a data key or a KEK)."""
    return AESGCM.generate_key(bit_length=256)


def field_aad(idea_id: uuid.UUID, number: int, field: str) -> bytes:
    """The associated data binding a ciphertext to its idea, version and field."""
    return f"registry-sealed-field/v1|{idea_id}|{number}|{field}".encode()


def _wrap_aad(kek_id: str, version_id: int) -> bytes:
    return f"registry-data-key/v1|{kek_id}|{version_id}".encode()


def seal(key: bytes, plaintext: bytes, aad: bytes) -> Sealed:
    """Encrypt ``plaintext`` under ``key`` with a fresh nonce, bound to ``aad``.

    Raises ``ValueError`` if ``key`` is not 32 bytes.
    """
    _check_key(key)
    nonce = os.urandom(NONCE_BYTES)
    return Sealed(nonce, AESGCM(key).encrypt(nonce, plaintext, aad))


def open_sealed(key: bytes, sealed: Sealed, aad: bytes) -> bytes:
    """The plaintext of ``sealed``.

    Raises :class:`SealError` if it does not authenticate under ``key`` and ``aad``:
    the wrong key, a ciphertext moved from another row or field, or any changed byte.
    """
    _check_key(key)
    try:
        return AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, aad)
    except InvalidTag:
        raise SealError("sealed field does not open: wrong key, wrong place or tampered") from None


def wrap(kek: bytes, kek_id: str, version_id: int, data_key: bytes) -> bytes:
    """``data_key`` encrypted under ``kek``: nonce || ciphertext, bound to the KEK id
    and the version. Raises ``ValueError`` for keys that are not 32 bytes."""
    _check_key(data_key)
    sealed = seal(kek, data_key, _wrap_aad(kek_id, version_id))
    return sealed.nonce + sealed.ciphertext


def unwrap(kek: bytes, kek_id: str, version_id: int, wrapped: bytes) -> bytes:
    """The data key in ``wrapped``.

    Raises :class:`SealError` if it does not open under ``kek`` for this KEK id and
    version (the wrong KEK, a wrapped key copied from another version, or tampering).
    """
    sealed = Sealed(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:])
    try:
        return open_sealed(kek, sealed, _wrap_aad(kek_id, version_id))
    except SealError:
        raise SealError(
            f"data key of version {version_id} does not open under KEK {kek_id}"
        ) from None


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise ValueError("AES-256-GCM keys are 32 bytes")
