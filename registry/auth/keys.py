"""The ES256 key the registry signs its access tokens with."""

from __future__ import annotations

from pathlib import Path

from joserfc.jwk import ECKey, KeySet

from registry.keyfiles import read_secret, write_secret

FILENAME = "keys/oauth-es256.pem"


def create_token_key(instance_path: Path) -> bool:
    """Create the token signing key unless it exists. Returns True if created."""
    path = instance_path / FILENAME
    if path.exists():
        return False
    key = ECKey.generate_key("P-256", private=True)
    write_secret(path, key.as_pem(private=True))
    return True


def load_token_keys(instance_path: Path) -> KeySet:
    """Load the signing key as a key set whose one key carries its thumbprint ``kid``.

    Raises ``KeyFileError`` if it is missing or readable by others.
    """
    key = ECKey.import_key(read_secret(instance_path / FILENAME))
    key = ECKey.import_key(key.as_dict(private=True, kid=key.thumbprint(), alg="ES256", use="sig"))
    return KeySet([key])


def public_jwks(keys: KeySet) -> dict:
    return keys.as_dict(private=False)
