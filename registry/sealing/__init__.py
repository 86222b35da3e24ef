"""Encryption at rest: sealed content, data keys, key-encryption keys."""
