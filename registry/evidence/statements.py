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


# Statements are built from the rows they speak about: ``idea``, ``version``, ``grant``,
# ``shredding`` are models, as the service holds them when it records a statement, or
# rows of the same columns, as `registry audit` reads them back to rebuild it. One
# recipe for both, so that the two cannot drift apart.


def idea_version_statement(
    registry: str,
    idea: Any,
    version: Any,
    *,
    previous: str | None,
    derived_from: Sequence[str],
    committed: Mapping[str, str],
) -> dict[str, Any]:
    """The statement for one stored version of an idea. ``previous`` and
    ``derived_from`` are statement hashes (hex)."""
    return {
        "type": IDEA_VERSION,
        "statement_version": STATEMENT_VERSION,
        "registry": registry,
        "idea": str(idea.id),
        "version": version.number,
        "previous": previous,
        "owner": str(idea.owner_id),
        "origin": idea.origin.value,
        "group": str(idea.group_id) if idea.group_id else None,
        "derived_from": list(derived_from),
        "sensitivity": version.sensitivity.value,
        "submitter": str(version.submitted_by_id),
        "submitted_at": rfc3339(version.submitted_at),
        "commitments": dict(committed),
    }


def withdrawal_statement(registry: str, idea: Any, previous: str) -> dict[str, Any]:
    """The statement that an idea was withdrawn. The reason is given by the owner and
    is public to those who may see the register; it commits to nothing secret."""
    return {
        "type": IDEA_WITHDRAWAL,
        "statement_version": STATEMENT_VERSION,
        "registry": registry,
        "idea": str(idea.id),
        "previous": previous,
        "withdrawn_by": str(idea.withdrawn_by_id),
        "withdrawn_at": rfc3339(idea.withdrawn_at),
        "reason_sha256": hashlib.sha256((idea.withdrawal_reason or "").encode()).hexdigest(),
    }


def shredding_statement(registry: str, shredding: Any, previous: str) -> dict[str, Any]:
    """The statement that a withdrawn idea's sealed content was erased (its data keys
    deleted). The statements before it still verify; the content can no longer be
    proved by the registry, only by whoever kept it and its openings."""
    return {
        "type": IDEA_SHREDDING,
        "statement_version": STATEMENT_VERSION,
        "registry": registry,
        "idea": str(shredding.idea_id),
        "previous": previous,
        "shredded_by": str(shredding.shredded_by_id),
        "shredded_at": rfc3339(shredding.shredded_at),
    }


def grant_statement(registry: str, grant: Any, previous: str) -> dict[str, Any]:
    """The statement that the owner's side shared an idea with an organisation, a group
    or a person, until the grant expires (never: until revoked). It lets the owner
    prove later that, and when, they shared it; it names no content."""
    kind, grantee_id = grantee(grant)
    return {
        "type": IDEA_GRANT,
        "statement_version": STATEMENT_VERSION,
        "registry": registry,
        "idea": str(grant.idea_id),
        "previous": previous,
        "grant": str(grant.id),
        "grantee_kind": kind,
        "grantee": grantee_id,
        "granted_by": str(grant.granted_by_id),
        "granted_at": rfc3339(grant.granted_at),
        "expires_at": rfc3339(grant.expires_at) if grant.expires_at is not None else None,
    }


def grant_revocation_statement(
    registry: str, grant: Any, previous: str, *, revoked_by: Any, revoked_at: datetime
) -> dict[str, Any]:
    """The statement that ``revoked_by`` (a person's id) revoked a grant: from
    ``revoked_at`` it opens nothing. (Given apart: the service records the statement
    before the grant's row takes them.)"""
    kind, grantee_id = grantee(grant)
    return {
        "type": IDEA_GRANT_REVOCATION,
        "statement_version": STATEMENT_VERSION,
        "registry": registry,
        "idea": str(grant.idea_id),
        "previous": previous,
        "grant": str(grant.id),
        "grantee_kind": kind,
        "grantee": grantee_id,
        "revoked_by": str(revoked_by),
        "revoked_at": rfc3339(revoked_at),
    }


def grantee(grant: Any) -> tuple[str, str]:
    """(kind, id) of the one organisation, group or person a grant names; "none" (and
    every id it names) if a row, tampered with, names none or several."""
    named = [
        (kind, value)
        for kind, value in (
            ("organisation", grant.organisation_id),
            ("group", grant.group_id),
            ("person", grant.person_id),
        )
        if value is not None
    ]
    if len(named) != 1:
        return "none", ",".join(str(value) for _, value in named)
    kind, value = named[0]
    return kind, str(value)


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
