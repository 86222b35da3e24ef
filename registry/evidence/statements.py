"""Statements: what the registry signs, timestamps and logs about each event.

A statement names the idea, its owner, origin and group, what it derives from,
who submitted it and when, and commits to the content with salted hashes
``SHA-256(salt || value)``. The salts (the "openings") are kept with the
content and handed only to those who may read it: with them, an owner can later
prove the exact text to anyone, while the statement alone reveals nothing, even
of a one-word title.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from registry.evidence.errors import VerificationError
from registry.evidence.jcs import canonicalize

STATEMENT_VERSION = 1
IDEA_VERSION = "idea-version"
IDEA_WITHDRAWAL = "idea-withdrawal"
IDEA_GRANT = "idea-grant"
IDEA_GRANT_REVOCATION = "idea-grant-revocation"
IDEA_SHREDDING = "idea-shredding"
IDEA_ATTACHMENT = "idea-attachment"
SALT_BYTES = 32
# Content fields of a version, in the order they are committed to.
COMMITTED_FIELDS = ("title", "summary", "body", "tags")
# What an attachment's statement commits to: the file's bytes and its name (UTF-8).
ATTACHMENT_FIELDS = ("content", "filename")


def rfc3339(moment: datetime) -> str:
    """A timezone-aware time as RFC 3339 UTC with microseconds: ``2026-11-22T19:20:06.965320Z``."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime refused: statements carry UTC times")
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def field_value(field: str, value: str | Sequence[str]) -> bytes:
    """The bytes a field commits to: UTF-8 text, or for tags the JCS of the list."""
    if field == "tags":
        return canonicalize(list(value))
    if not isinstance(value, str):
        raise TypeError(f"{field} must be text")
    return value.encode()


def new_openings(fields: Sequence[str] = COMMITTED_FIELDS) -> dict[str, bytes]:
    """A fresh random 32-byte salt per field."""
    return {field: os.urandom(SALT_BYTES) for field in fields}


def commitment(salt: bytes, value: bytes) -> str:
    """``SHA-256(salt || value)``, hex."""
    return hashlib.sha256(salt + value).hexdigest()


def commitments(openings: Mapping[str, bytes], content: Mapping[str, Any]) -> dict[str, str]:
    return {
        field: commitment(salt, field_value(field, content[field]))
        for field, salt in openings.items()
    }


def attachment_commitments(
    openings: Mapping[str, bytes], values: Mapping[str, bytes]
) -> dict[str, str]:
    """An attachment's commitments: to the file's bytes and its name's UTF-8 bytes."""
    return {field: commitment(openings[field], values[field]) for field in ATTACHMENT_FIELDS}


def verify_opening(committed: str, salt: bytes, value: bytes, field: str) -> None:
    """Check that ``value`` with ``salt`` is what the statement committed to.

    Raises ``VerificationError("content", ...)`` naming the field if it is not.
    """
    if not hmac.compare_digest(commitment(salt, value), committed):
        raise VerificationError("content", f"{field} does not match its commitment")


def idea_version_statement(
    *,
    registry: str,
    idea: str,
    version: int,
    previous: str | None,
    owner: str,
    origin: str,
    group: str | None,
    derived_from: Sequence[str],
    sensitivity: str,
    submitter: str,
    submitted_at: datetime,
    committed: Mapping[str, str],
) -> dict[str, Any]:
    """The statement for one stored version of an idea. ``previous`` and
    ``derived_from`` are statement hashes (hex)."""
    return {
        "type": IDEA_VERSION,
        "statement_version": STATEMENT_VERSION,
        "registry": registry,
        "idea": idea,
        "version": version,
        "previous": previous,
        "owner": owner,
        "origin": origin,
        "group": group,
        "derived_from": list(derived_from),
        "sensitivity": sensitivity,
        "submitter": submitter,
        "submitted_at": rfc3339(submitted_at),
        "commitments": dict(committed),
    }


def withdrawal_statement(
    *,
    registry: str,
    idea: str,
    previous: str,
    withdrawn_by: str,
    withdrawn_at: datetime,
    reason: str,
) -> dict[str, Any]:
    """The statement that an idea was withdrawn. The reason is given by the owner and
    is public to those who may see the register; it commits to nothing secret."""
    return {
        "type": IDEA_WITHDRAWAL,
        "statement_version": STATEMENT_VERSION,
        "registry": registry,
        "idea": idea,
        "previous": previous,
        "withdrawn_by": withdrawn_by,
        "withdrawn_at": rfc3339(withdrawn_at),
        "reason_sha256": hashlib.sha256(reason.encode()).hexdigest(),
    }


def shredding_statement(
    *, registry: str, idea: str, previous: str, shredded_by: str, shredded_at: datetime
) -> dict[str, Any]:
    """The statement that a withdrawn idea's sealed content was erased (its data keys
    deleted). The statements before it still verify; the content can no longer be
    proved by the registry, only by whoever kept it and its openings."""
    return {
        "type": IDEA_SHREDDING,
        "statement_version": STATEMENT_VERSION,
        "registry": registry,
        "idea": idea,
        "previous": previous,
        "shredded_by": shredded_by,
        "shredded_at": rfc3339(shredded_at),
    }


def grant_statement(
    *,
    registry: str,
    idea: str,
    previous: str,
    grant: str,
    grantee_kind: str,
    grantee: str,
    granted_by: str,
    granted_at: datetime,
    expires_at: datetime | None,
) -> dict[str, Any]:
    """The statement that the owner's side shared an idea with an organisation, a group
    or a person (``grantee_kind``), until ``expires_at`` (None: until revoked). It lets
    the owner prove later that, and when, they shared it; it names no content."""
    return {
        "type": IDEA_GRANT,
        "statement_version": STATEMENT_VERSION,
        "registry": registry,
        "idea": idea,
        "previous": previous,
        "grant": grant,
        "grantee_kind": grantee_kind,
        "grantee": grantee,
        "granted_by": granted_by,
        "granted_at": rfc3339(granted_at),
        "expires_at": rfc3339(expires_at) if expires_at is not None else None,
    }


def grant_revocation_statement(
    *,
    registry: str,
    idea: str,
    previous: str,
    grant: str,
    grantee_kind: str,
    grantee: str,
    revoked_by: str,
    revoked_at: datetime,
) -> dict[str, Any]:
    """The statement that a grant was revoked: from ``revoked_at`` it opens nothing."""
    return {
        "type": IDEA_GRANT_REVOCATION,
        "statement_version": STATEMENT_VERSION,
        "registry": registry,
        "idea": idea,
        "previous": previous,
        "grant": grant,
        "grantee_kind": grantee_kind,
        "grantee": grantee,
        "revoked_by": revoked_by,
        "revoked_at": rfc3339(revoked_at),
    }


def attachment_statement(
    *,
    registry: str,
    idea: str,
    version: int,
    version_statement: str,
    previous: str,
    attachment: str,
    media_type: str,
    size: int,
    attached_by: str,
    attached_at: datetime,
    committed: Mapping[str, str],
) -> dict[str, Any]:
    """The statement that a file was attached to a version of an idea. A version's own
    statement never changes, so each attachment is committed by one of its own, naming
    the version's statement (``version_statement``, its hash). ``committed`` holds salted
    commitments to the file's bytes and name (:data:`ATTACHMENT_FIELDS`): the statement
    reveals neither, only the media type and the size."""
    return {
        "type": IDEA_ATTACHMENT,
        "statement_version": STATEMENT_VERSION,
        "registry": registry,
        "idea": idea,
        "version": version,
        "version_statement": version_statement,
        "previous": previous,
        "attachment": attachment,
        "media_type": media_type,
        "size": size,
        "attached_by": attached_by,
        "attached_at": rfc3339(attached_at),
        "commitments": dict(committed),
    }


def statement_hash(canonical: bytes) -> bytes:
    """SHA-256 of the canonical (RFC 8785) statement bytes: what is signed and timestamped."""
    return hashlib.sha256(canonical).digest()
