"""`registry audit` rebuilds every grant and revocation statement from the grants rows,
and finds a grant row changed, removed or made up by someone who dropped the triggers.

On an instance of its own: SQLite, or a temporary PostgreSQL database when the suite
runs on PostgreSQL.
"""

from __future__ import annotations

import pytest
from click.testing import Result

from tests.grants.conftest import Shared


@pytest.fixture(autouse=True)
def transaction() -> None:
    """Overrides the suite's per-test transaction: the instance needs real commits."""
    return None


def _found(result: Result, table: str, check: str, *words: str) -> None:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith(f"PROBLEM {table} [")]
    assert any(f"] {check}: " in line and all(w in line for w in words) for line in lines), (
        result.stdout
    )


def test_grants_and_revocations_are_rebuilt_and_pass(shared: Shared):
    result = shared.audit()
    assert result.exit_code == 0, result.output
    assert "2 grants, 1 revocations" in result.stdout
    assert "3 access log entries rechained" in result.stdout


def test_a_grant_given_a_later_expiry_is_found(shared: Shared):
    shared.instance.drop_guards("grants")
    shared.instance.sql(
        "UPDATE grants SET expires_at = '2099-01-01 00:00:00' WHERE id = :id",
        id=_id(shared, shared.grant),
    )
    _found(shared.audit(), "statements", "rebuild", "idea-grant", "expires_at")


def test_a_revocation_undone_is_found(shared: Shared):
    shared.instance.drop_guards("grants")
    shared.instance.sql(
        "UPDATE grants SET revoked_at = NULL WHERE id = :id",
        id=_id(shared, shared.revoked),
    )
    _found(shared.audit(), "statements", "rebuild", "idea-grant-revocation", "is not revoked")


def test_a_grant_row_removed_is_found(shared: Shared):
    shared.instance.drop_guards("grants")
    shared.instance.sql("DELETE FROM grants WHERE id = :id", id=_id(shared, shared.grant))
    _found(shared.audit(), "statements", "rebuild", "no grants row")


def test_a_grant_row_without_its_statement_is_found(shared: Shared):
    # No trigger stops an INSERT: a grant made up in the database names some statement,
    # here the idea's first version's, but not a grant statement of its own.
    shared.instance.sql(
        "INSERT INTO grants (id, idea_id, person_id, granted_by_id, granted_at, statement_id) "
        "SELECT :new, g.idea_id, g.granted_by_id, g.granted_by_id, g.granted_at, s.id "
        "FROM grants g JOIN statements s ON s.idea_id = g.idea_id AND s.kind = 'idea-version' "
        "WHERE g.id = :id",
        new=_id(shared, "5b1b3a52-4c1e-4a51-8f5e-1c2d3e4f5a6b"),
        id=_id(shared, shared.grant),
    )
    _found(shared.audit(), "grants", "coverage", "no idea-grant statement")


def _id(shared: Shared, value: str) -> str:
    # Uuid columns: 32 hex digits on SQLite, the uuid type on PostgreSQL.
    return value.replace("-", "") if shared.instance.database_url.startswith("sqlite") else value
