"""`registry audit` recomputes the access log's hash chain and finds an entry edited,
removed or slipped in by someone who dropped the triggers; and the triggers refuse it.

On an instance of its own (see tests/grants/conftest.py ``shared``): three entries,
two reads and a refusal; and, for break-glass, on one with a grantee's read and an
administrator's (``broken``).
"""

from __future__ import annotations

import pytest
from click.testing import Result
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from registry.alliance.services import person_by_email
from registry.auth.tokens import person_token
from registry.db import db
from registry.evidence.audit import audit_command
from tests.conftest import Instance
from tests.grants.conftest import ADAM, PAT, QUINN, Shared


@pytest.fixture(autouse=True)
def transaction() -> None:
    """Overrides the suite's per-test transaction: the instance needs real commits."""
    return None


def _found(result: Result, table: str, *words: str) -> None:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith(f"PROBLEM {table} [")]
    assert any("] access log: " in line and all(w in line for w in words) for line in lines), (
        result.stdout
    )


def test_a_clean_chain_passes(shared: Shared):
    result = shared.audit()
    assert result.exit_code == 0, result.output
    assert "3 access log entries rechained" in result.stdout


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE access_log_entries SET endpoint = 'ideas.list_ideas' WHERE position = 0",
        "DELETE FROM access_log_entries WHERE position = 2",
    ],
)
def test_the_database_refuses_to_change_an_entry(shared: Shared, statement):
    with shared.instance.app.app_context():
        with pytest.raises(DatabaseError, match="immutable"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert shared.audit().exit_code == 0


def test_an_edited_entry_is_found(shared: Shared):
    shared.instance.drop_guards("access_log_entries")
    shared.instance.sql("UPDATE access_log_entries SET outcome = 'refused' WHERE position = 0")
    _found(shared.audit(), "access_log_entries", "position 0", "edited, removed or inserted")


def test_a_removed_entry_is_found(shared: Shared):
    shared.instance.drop_guards("access_log_entries")
    shared.instance.sql("DELETE FROM access_log_entries WHERE position = 1")
    result = shared.audit()
    _found(result, "access_log_entries", "position 2", "entries are missing")
    _found(result, "access_log_head", "size is 3, but there are 2 entries")


def test_the_last_entry_removed_is_found_by_the_head(shared: Shared):
    shared.instance.drop_guards("access_log_entries")
    shared.instance.sql("DELETE FROM access_log_entries WHERE position = 2")
    _found(shared.audit(), "access_log_head", "the chain was cut")


def test_an_inserted_entry_is_found(shared: Shared):
    # Slipped in between two entries (the later ones moved up, in two steps so that no
    # two rows share a position meanwhile), with the head grown to match.
    shared.instance.drop_guards("access_log_entries")
    shared.instance.sql(
        "UPDATE access_log_entries SET position = position + 100 WHERE position >= 1",
        "UPDATE access_log_entries SET position = position - 99 WHERE position >= 100",
    )
    shared.instance.sql(
        "INSERT INTO access_log_entries (position, idea_id, version, person_id, organisations,"
        " fields, at, endpoint, request_id, outcome, hash) SELECT 1, idea_id, version,"
        " person_id, organisations, fields, at, endpoint, 'made-up', outcome, hash"
        " FROM access_log_entries WHERE position = 0",
    )
    shared.instance.sql("UPDATE access_log_head SET size = 4")
    _found(shared.audit(), "access_log_entries", "position 1", "edited, removed or inserted")


# -- break-glass: the reason an administrator stated is in the chain ----------------

REASON = "Complaint 2291: the owner's practice manager asked for a review"


@pytest.fixture
def broken(make_instance) -> Instance:
    """A fresh instance where quinn reads a confidential idea of pat's through a grant
    (entry 0), then adam breaks glass to read it (entry 1, with REASON)."""
    instance = make_instance("init", "demo")
    client = instance.app.test_client()

    def headers(email: str) -> dict[str, str]:
        with instance.app.app_context():
            generator = instance.app.extensions["registry.token_generator"]
            token = person_token(generator, person_by_email(email))
        return {"Authorization": f"Bearer {token['access_token']}"}

    pat, quinn = headers(PAT), headers(QUINN)
    content = {"title": "t", "summary": "s", "body": "b", "origin": "provider"}
    content["sensitivity"] = "confidential"
    idea = client.post("/api/v1/ideas", json=content, headers=pat)
    path = f"/api/v1/ideas/{idea.json['id']}"
    me = client.get("/api/v1/me", headers=quinn).json["id"]
    assert client.post(f"{path}/grants", json={"person": me}, headers=pat).status_code == 201
    assert client.get(path, headers=quinn).json["body"] == "b"
    breaking = {**headers(ADAM), "Break-Glass-Reason": REASON}
    assert client.get(path, headers=breaking).json["body"] == "b"
    with instance.app.app_context():
        query = text("SELECT reason FROM access_log_entries ORDER BY position")
        assert list(db.session.scalars(query)) == [None, REASON]
    return instance


def test_a_chain_with_a_break_glass_entry_passes(broken: Instance):
    result = broken.run(audit_command)
    assert result.exit_code == 0, result.output
    assert "2 access log entries rechained" in result.stdout


@pytest.mark.parametrize(
    ("position", "reason"),
    [
        (1, "Routine check, nothing to see"),  # the reason rewritten
        (1, None),  # the reason taken away, as if no glass had been broken
        (0, REASON),  # a grantee's read passed off as a break-glass one
    ],
)
def test_a_tampered_reason_is_found(broken: Instance, position, reason):
    broken.drop_guards("access_log_entries")
    broken.sql(
        "UPDATE access_log_entries SET reason = :reason WHERE position = :position",
        reason=reason,
        position=position,
    )
    _found(
        broken.run(audit_command),
        "access_log_entries",
        f"position {position}",
        "edited, removed or inserted",
    )


def test_the_database_refuses_to_change_a_reason(broken: Instance):
    with broken.app.app_context():
        with pytest.raises(DatabaseError, match="immutable"):
            db.session.execute(text("UPDATE access_log_entries SET reason = NULL"))
        db.session.rollback()
    assert broken.run(audit_command).exit_code == 0
