"""Ed25519 keys that sign statements and checkpoints.

Private keys are files in the instance folder (mode 0600); the database holds
each public key with the window it signed in, so every host publishes the same
key set and old receipts keep verifying after a rotation.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.db import utcnow
from registry.evidence.models import SigningKey
from registry.keyfiles import read_secret, write_secret

KEY_DIR = "keys"
STATEMENT = "statement"
CHECKPOINT = "checkpoint"


class MissingKeyError(RuntimeError):
    """The current signing key's private half is not on this host."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def thumbprint(public: bytes) -> str:
    """The RFC 7638 JWK thumbprint of an Ed25519 public key: its ``kid``."""
    members = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": b64url(public)}, separators=(",", ":")
    )
    return b64url(hashlib.sha256(members.encode()).digest())


def key_path(instance: Path, purpose: str, kid: str) -> Path:
    """Where the private key file for ``kid`` lives."""
    return instance / KEY_DIR / f"{purpose}-ed25519-{kid}.pem"


def create_key(instance: Path, purpose: str) -> str:
    """Create a new private key file (0600) and return its kid."""
    key = Ed25519PrivateKey.generate()
    kid = thumbprint(raw_public(key.public_key()))
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_secret(key_path(instance, purpose, kid), pem)
    return kid


def ensure_keys(instance: Path) -> list[str]:
    """Create a statement key and a checkpoint key unless one of each exists."""
    created = []
    for purpose in (STATEMENT, CHECKPOINT):
        if not list((instance / KEY_DIR).glob(f"{purpose}-ed25519-*.pem")):
            created.append(create_key(instance, purpose))
    return created


def register_keys(session: Session, instance: Path, now: datetime | None = None) -> None:
    """Record in the database the public half of every key file it does not know yet.

    For statements, a newly registered key becomes the current one and the key it
    replaces stops signing now: this is how `registry keys rotate` takes effect.
    """
    now = now or utcnow()
    known = set(session.scalars(select(SigningKey.kid)))
    for purpose in (STATEMENT, CHECKPOINT):
        files = sorted((instance / KEY_DIR).glob(f"{purpose}-ed25519-*.pem"), key=_mtime)
        for path in files:
            private = _load(path)
            kid = thumbprint(raw_public(private.public_key()))
            if kid in known:
                continue
            for current in session.scalars(
                select(SigningKey).where(
                    SigningKey.purpose == purpose, SigningKey.valid_until.is_(None)
                )
            ):
                current.valid_until = now
            session.add(
                SigningKey(
                    kid=kid,
                    purpose=purpose,
                    public_key=raw_public(private.public_key()),
                    valid_from=now,
                )
            )
            session.flush()
            known.add(kid)


def _mtime(path: Path) -> float:
    return path.stat().st_mtime


def _load(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(read_secret(path), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 key")
    return key


@dataclass(frozen=True)
class KeyRing:
    """The private keys this host holds, by kid."""

    private: dict[str, Ed25519PrivateKey]
    # Where to look for a key created after loading (`registry keys rotate`).
    instance: Path | None = None

    @classmethod
    def load(cls, instance: Path) -> KeyRing:
        keys = {}
        for path in (instance / KEY_DIR).glob("*-ed25519-*.pem"):
            key = _load(path)
            keys[thumbprint(raw_public(key.public_key()))] = key
        return cls(keys, instance)

    def current(self, session: Session, purpose: str) -> tuple[str, Ed25519PrivateKey]:
        """The kid and key that sign ``purpose`` now. Raises MissingKeyError if this
        host lacks it (copy the key file from the host that rotated)."""
        return self.signing(session, purpose)[purpose]

    def signing(self, session: Session, *purposes: str) -> dict[str, tuple[str, Ed25519PrivateKey]]:
        """The current kid and key for each purpose, looked up in one query."""
        open_keys = session.execute(
            select(SigningKey.purpose, SigningKey.kid)
            .where(SigningKey.purpose.in_(purposes), SigningKey.valid_until.is_(None))
            .order_by(SigningKey.valid_from)
        ).all()
        current = dict(open_keys)  # the latest window opened wins
        return {purpose: self._private(purpose, current.get(purpose)) for purpose in purposes}

    def _private(self, purpose: str, kid: str | None) -> tuple[str, Ed25519PrivateKey]:
        if kid is None:
            raise MissingKeyError(f"no {purpose} key is registered: run `registry init`")
        if kid not in self.private and self.instance is not None:
            # Rotated since this process loaded its keys: running workers pick the new
            # key up from the instance folder instead of failing until a restart.
            path = key_path(self.instance, purpose, kid)
            if path.exists():
                key = _load(path)
                if thumbprint(raw_public(key.public_key())) == kid:
                    self.private[kid] = key
        if kid not in self.private:
            raise MissingKeyError(f"the current {purpose} key {kid} is not on this host")
        return kid, self.private[kid]
