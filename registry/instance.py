"""The instance folder: where the database (SQLite), keys and indexes live."""

from __future__ import annotations

from pathlib import Path


def create_keys(instance: Path) -> list[str]:
    """Create every key the registry needs that is missing (files 0600). Returns what was made."""
    from registry.auth.keys import create_token_key
    from registry.evidence.keys import ensure_keys
    from registry.evidence.tsa import create_authority
    from registry.sealing.keys import ensure_kek
    from registry.search.terms import ensure_search_key

    instance.mkdir(parents=True, exist_ok=True, mode=0o700)
    made = []
    if create_token_key(instance):
        made.append("the access token signing key (ES256)")
    if ensure_keys(instance):
        made.append("the statement and checkpoint signing keys (Ed25519)")
    if create_authority(instance):
        made.append("the time-stamp authority: root CA and TSA certificate (ECDSA P-256)")
    if ensure_kek(instance):
        made.append("the key-encryption key that wraps content data keys (AES-256)")
    if ensure_search_key(instance):
        made.append("the search key that hashes sealed words in the index (HMAC-SHA256)")
    return made
