"""What the registry publishes so anyone can verify its evidence without trusting it."""

from __future__ import annotations

import base64

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.evidence import note
from registry.evidence.keys import CHECKPOINT, b64url
from registry.evidence.models import SigningKey
from registry.evidence.statements import rfc3339
from registry.evidence.tsa import TimeStampAuthority

# A JWK member of our own (RFC 7517 allows them) saying what a key verifies.
PURPOSE = "registry_purpose"


def keyset(session: Session, tsa: TimeStampAuthority, origin: str) -> dict:
    """Every public key a verifier needs, as one JWKS.

    - statement keys (OKP Ed25519), each with the window it signed in;
    - the checkpoint key, with its C2SP verifier key (``vkey``);
    - the time-stamp authority: the TSA certificate and its root in ``x5c``.
    """
    keys = []
    for key in session.scalars(select(SigningKey).order_by(SigningKey.valid_from)):
        jwk = {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64url(key.public_key),
            "kid": key.kid,
            "alg": "EdDSA",
            "use": "sig",
            PURPOSE: key.purpose,
            "valid_from": rfc3339(key.valid_from),
            "valid_until": rfc3339(key.valid_until) if key.valid_until else None,
        }
        if key.purpose == CHECKPOINT:
            jwk["vkey"] = note.verifier_key(
                origin, Ed25519PublicKey.from_public_bytes(key.public_key)
            )
        keys.append(jwk)
    certificate = x509.load_der_x509_certificate(tsa.certificate)
    numbers = certificate.public_key().public_numbers()
    keys.append(
        {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big")),
            "kid": "tsa-"
            + certificate.fingerprint(certificate.signature_hash_algorithm).hex()[:16],
            "alg": "ES256",
            "use": "sig",
            PURPOSE: "timestamp",
            "x5c": [
                base64.b64encode(tsa.certificate).decode(),
                base64.b64encode(tsa.root_certificate).decode(),
            ],
        }
    )
    return {"keys": keys}


def checkpoint_vkey(session: Session, origin: str) -> str:
    key = session.scalar(
        select(SigningKey)
        .where(SigningKey.purpose == CHECKPOINT, SigningKey.valid_until.is_(None))
        .order_by(SigningKey.valid_from.desc())
        .limit(1)
    )
    if key is None:
        raise LookupError("no checkpoint key is registered")
    return note.verifier_key(origin, Ed25519PublicKey.from_public_bytes(key.public_key))


def certificate_chain_pem(tsa: TimeStampAuthority) -> str:
    return "".join(
        x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode()
        for der in (tsa.certificate, tsa.root_certificate)
    )
