"""Grants are evidence: the database lets a grant be revoked, once, and nothing else."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DatabaseError

from registry.db import db, utcnow
from registry.grants.models import Grant
from tests.grants.conftest import PAT, QUINN


@pytest.fixture
def grant_id(make_idea, share) -> uuid.UUID:
    idea = make_idea(by=PAT)
    return uuid.UUID(share(idea["id"], person=QUINN)["id"])


def _row(grant_id: uuid.UUID) -> tuple:
    table = Grant.__table__
    return tuple(db.session.execute(select(table).where(table.c.id == grant_id)).one())


def _refused(statement) -> None:
    # A savepoint, so that the refusal does not end the test's transaction.
    with pytest.raises(DatabaseError, match="grants rows"), db.session.begin_nested():
        db.session.execute(statement)


@pytest.mark.usefixtures("app_context")
@pytest.mark.parametrize(
    "change",
    [
        {"expires_at": utcnow()},
        {"person_id": None},
        {"granted_at": utcnow()},
        {"revoked_at": None},  # no revocation: nothing to change
    ],
)
def test_the_database_refuses_any_change_but_revocation(grant_id, change):
    before = _row(grant_id)
    _refused(update(Grant.__table__).where(Grant.id == grant_id).values(**change))
    assert _row(grant_id) == before


@pytest.mark.usefixtures("app_context")
def test_the_database_refuses_to_delete_a_grant(grant_id):
    before = _row(grant_id)
    _refused(delete(Grant.__table__).where(Grant.id == grant_id))
    assert _row(grant_id) == before


@pytest.mark.usefixtures("app_context")
def test_the_database_takes_one_revocation_and_no_other(grant_id):
    table = Grant.__table__
    revoke = update(table).where(table.c.id == grant_id).values(revoked_at=utcnow())
    db.session.execute(revoke)
    assert _row(grant_id)[table.c.keys().index("revoked_at")] is not None
    _refused(revoke)  # revoked already
    _refused(update(table).where(table.c.id == grant_id).values(revoked_at=None))


@pytest.mark.usefixtures("app_context", "grant_id")
def test_the_database_refuses_to_empty_the_grants():
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; DELETE is refused above")
    with pytest.raises(DatabaseError, match="immutable"), db.session.begin_nested():
        db.session.execute(text("TRUNCATE grants"))
