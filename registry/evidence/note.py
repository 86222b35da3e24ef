"""Signed notes and log checkpoints, as C2SP specifies them, with Ed25519 keys only.

A checkpoint (https://c2sp.org/tlog-checkpoint) is the text of a signed note
(https://c2sp.org/signed-note): the log's origin, its size and its root hash. Using
the same format as the Go checksum database, Sigstore and the witness network means
anyone can check the registry's log heads with tools the registry did not write.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from registry.evidence.errors import VerificationError

_ED25519 = b"\x01"  # the signature type byte the spec assigns to Ed25519
_SIGNATURE_PREFIX = "\u2014 "  # em dash, space
# The spec asks verifiers to cap the signatures they read and to accept at least 16;
# Go's implementation stops at 100, and so do we.
_MAX_SIGNATURES = 100
_MAX_TREE_SIZE = 2**63 - 1  # Go's tlog reads sizes as int64; larger ones would not interoperate
_TREE_SIZE = re.compile(r"0|[1-9][0-9]*")  # [0-9], not \d, which also matches non-ASCII digits


def key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """The 4-byte key ID of an Ed25519 key: SHA-256(name || 0x0A || 0x01 || key)[:4].

    Raises ``ValueError`` if ``name`` is not a valid key name.
    """
    _check_name(name)
    return hashlib.sha256(name.encode() + b"\n" + _ED25519 + _raw(public_key)).digest()[:4]


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """The verifier key ``<name>+<key ID in hex>+<base64(0x01 || key)>`` that verifiers configure.

    Raises ``ValueError`` if ``name`` is not a valid key name.
    """
    encoded = base64.b64encode(_ED25519 + _raw(public_key)).decode()
    return f"{name}+{key_id(name, public_key).hex()}+{encoded}"


def parse_verifier_key(vkey: str) -> tuple[str, Ed25519PublicKey, bytes]:
    """Split a verifier key into its name, public key and key ID.

    Raises ``VerificationError("verifier key", ...)`` if it does not have three
    ``+``-separated parts, the name is invalid, the key is not Ed25519, or the key ID
    in the string is not the one the name and key give.
    """
    # Only the first two '+' separate fields: the base64 key may hold '+' itself.
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise VerificationError("verifier key", "expected <name>+<key id>+<key>")
    name, hex_id, encoded = parts
    try:
        _check_name(name)
    except ValueError as exc:
        raise VerificationError("verifier key", str(exc)) from None
    if not re.fullmatch(r"[0-9a-fA-F]{8}", hex_id):
        raise VerificationError("verifier key", "key ID is not 8 hexadecimal digits")
    raw = _b64decode(encoded)
    if raw is None:
        raise VerificationError("verifier key", "key is not valid base64")
    if raw[:1] != _ED25519:
        raise VerificationError("verifier key", "key is not an Ed25519 key (type byte 0x01)")
    if len(raw) != 33:
        raise VerificationError("verifier key", "Ed25519 key is not 32 bytes")
    public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
    computed = key_id(name, public_key)
    if computed != bytes.fromhex(hex_id):
        raise VerificationError("verifier key", "key ID does not match the name and key")
    return name, public_key, computed


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Sign ``text`` and return the signed note: the text, a blank line, one signature line.

    Raises ``ValueError`` if the text is empty, does not end in a newline or holds a
    control character other than newline, or if ``name`` is not a valid key name.
    """
    _check_text(text)
    kid = key_id(name, private_key.public_key())
    signature = private_key.sign(text.encode())
    return f"{text}\n{_SIGNATURE_PREFIX}{name} {base64.b64encode(kid + signature).decode()}\n"


def verify_note(note: str, vkey: str) -> str:
    """Return the text of ``note`` if the key ``vkey`` signed it.

    Signature lines from other keys are ignored, as the spec requires. Raises
    ``VerificationError("checkpoint signature", ...)`` if the note is malformed, has no
    signature by this key, or a signature by this key does not verify; and
    ``VerificationError("verifier key", ...)`` if ``vkey`` itself is malformed.
    """
    name, public_key, kid = parse_verifier_key(vkey)
    text, lines = _split(note)
    verified = False
    for line in lines:
        signer, _, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
        if not signer or "+" in signer or any(char.isspace() for char in signer):
            raise VerificationError("checkpoint signature", "malformed key name in signature line")
        raw = _b64decode(encoded)
        if not encoded or raw is None or len(raw) < 5:
            raise VerificationError("checkpoint signature", "signature is not valid base64")
        if signer != name or raw[:4] != kid:
            continue
        try:
            public_key.verify(raw[4:], text.encode())
        except InvalidSignature:
            # A known key's bad signature condemns the whole note, not just the line:
            # the spec lets clients reject it, and nothing good explains one.
            raise VerificationError(
                "checkpoint signature", f"signature by {name} does not verify"
            ) from None
        verified = True
    if not verified:
        raise VerificationError("checkpoint signature", f"no signature by {name}+{kid.hex()}")
    return text


@dataclass(frozen=True)
class Checkpoint:
    """A log head: who the log is, how many entries it has, and their Merkle root."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise ValueError("origin must be one non-empty line")
        if not 0 <= self.size <= _MAX_TREE_SIZE:
            raise ValueError("size must be between 0 and 2**63 - 1")
        if len(self.root_hash) != 32:
            raise ValueError("root hash must be 32 bytes")
        if any(not line or "\n" in line for line in self.extensions):
            raise ValueError("extension lines must be single non-empty lines")

    def to_text(self) -> str:
        """The checkpoint as note text, every line ending in a newline."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode()]
        return "".join(f"{line}\n" for line in [*lines, *self.extensions])

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Read a checkpoint from note text (as :func:`verify_note` returns it).

        Raises ``VerificationError("checkpoint", ...)`` unless the text has at least
        three non-empty lines ending in newlines, a canonical decimal size and a
        canonically base64-encoded 32-byte root hash.
        """
        if not text.endswith("\n"):
            raise VerificationError("checkpoint", "text does not end in a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise VerificationError("checkpoint", "fewer than three lines")
        if any(not line for line in lines):
            raise VerificationError("checkpoint", "empty line")
        origin, size, root, *extensions = lines
        if not _TREE_SIZE.fullmatch(size) or int(size) > _MAX_TREE_SIZE:
            raise VerificationError("checkpoint", f"size {size!r} is not a canonical decimal")
        root_hash = _b64decode(root)
        if root_hash is None or base64.b64encode(root_hash).decode() != root:
            raise VerificationError("checkpoint", "root hash is not canonical base64")
        if len(root_hash) != 32:
            raise VerificationError("checkpoint", "root hash is not 32 bytes")
        return cls(origin, int(size), root_hash, tuple(extensions))


def _split(note: str) -> tuple[str, list[str]]:
    """Split a note into its text and signature lines, or raise if it is malformed."""
    if any(ord(char) < 0x20 and char != "\n" for char in note):
        raise VerificationError("checkpoint signature", "note holds a control character")
    try:
        note.encode()
    except UnicodeEncodeError:  # lone surrogates: the note did not come from valid UTF-8
        raise VerificationError("checkpoint signature", "note is not valid UTF-8") from None
    # The text may hold blank lines itself; only the last one separates the signatures.
    split = note.rfind("\n\n")
    if split < 0:
        raise VerificationError("checkpoint signature", "no blank line before signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        raise VerificationError("checkpoint signature", "no signature lines")
    lines = block[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise VerificationError("checkpoint signature", "too many signature lines")
    if any(not line.startswith(_SIGNATURE_PREFIX) for line in lines):
        raise VerificationError("checkpoint signature", "malformed signature line")
    return text, lines


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise ValueError("note text must end in a newline")
    if any(ord(char) < 0x20 and char != "\n" for char in text):
        raise ValueError("note text must not hold control characters other than newline")
    text.encode()  # raises UnicodeEncodeError (a ValueError) on lone surrogates


def _check_name(name: str) -> None:
    if not name or "+" in name or any(char.isspace() for char in name):
        raise ValueError(f"key name {name!r} must be non-empty, without spaces or '+'")


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _b64decode(encoded: str) -> bytes | None:
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError:  # binascii.Error is one, and so is the error for non-ASCII input
        return None
