"""The access log's tests share the grants' factories."""

from __future__ import annotations

from tests.grants.conftest import keyset, read, revoke, share, shared, verified

__all__ = ["keyset", "read", "revoke", "share", "shared", "verified"]
