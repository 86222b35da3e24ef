"""Stored versions are evidence: neither the ORM nor the database lets them change."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DatabaseError

from registry.db import db
from registry.ip.models import Derivation, IdeaVersion, VersionTag


@pytest.fixture
def stored_idea(make_idea) -> uuid.UUID:
    """An idea whose first version has tags and a derivation."""
    source = make_idea(title="The source")
    idea = make_idea(tags=["frailty", "falls"], derived_from=[source["id"]])
    return uuid.UUID(idea["id"])


def _version(idea_id: uuid.UUID) -> IdeaVersion:
    return db.session.scalar(
        select(IdeaVersion).where(IdeaVersion.idea_id == idea_id, IdeaVersion.number == 1)
    )


CHANGES = {
    "idea_versions": lambda v: (
        update(IdeaVersion.__table__).where(IdeaVersion.id == v.id).values(title="Rewritten"),
        delete(IdeaVersion.__table__).where(IdeaVersion.id == v.id),
    ),
    "version_tags": lambda v: (
        update(VersionTag.__table__).where(VersionTag.version_id == v.id).values(tag="rewritten"),
        delete(VersionTag.__table__).where(VersionTag.version_id == v.id),
    ),
    "derivations": lambda v: (
        update(Derivation.__table__)
        .where(Derivation.version_id == v.id)
        .values(source_idea_id=v.idea_id),
        delete(Derivation.__table__).where(Derivation.version_id == v.id),
    ),
}


def _rows(table: str, version_id: int) -> list[tuple]:
    stored = db.metadata.tables[table]
    key = stored.c.id if table == "idea_versions" else stored.c.version_id
    return [tuple(row) for row in db.session.execute(select(stored).where(key == version_id))]


@pytest.mark.parametrize("action", ["update", "delete"])
@pytest.mark.parametrize("table", sorted(CHANGES))
def test_the_database_refuses_to_change_a_stored_version(app: Flask, stored_idea, table, action):
    with app.app_context():
        version = _version(stored_idea)
        statement = CHANGES[table](version)[0 if action == "update" else 1]
        before = _rows(table, version.id)
        assert before, "the test needs rows to change"

        # A savepoint, so that the refusal does not end the test's transaction.
        with pytest.raises(DatabaseError, match="immutable"), db.session.begin_nested():
            db.session.execute(statement)

        assert _rows(table, version.id) == before


@pytest.mark.usefixtures("stored_idea")
def test_the_database_refuses_to_empty_the_versions(app: Flask):
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(VersionTag))
        with pytest.raises(DatabaseError, match="immutable"), db.session.begin_nested():
            db.session.execute(delete(VersionTag.__table__))
        assert db.session.scalar(select(func.count()).select_from(VersionTag)) == count


def test_the_orm_refuses_to_flush_a_changed_version(app: Flask, stored_idea):
    with app.app_context():
        version = _version(stored_idea)
        version.title = "Rewritten"
        with pytest.raises(RuntimeError, match="IdeaVersion is immutable"):
            db.session.flush()
        db.session.rollback()
        assert _version(stored_idea).title == "Social prescribing for frailty"


@pytest.mark.parametrize("model", [VersionTag, Derivation])
def test_the_orm_refuses_to_flush_a_changed_row_of_a_version(app: Flask, stored_idea, model):
    with app.app_context():
        version = _version(stored_idea)
        row = (version.tag_rows if model is VersionTag else version.derivation_rows)[0]
        row.position = 99
        with pytest.raises(RuntimeError, match=f"{model.__name__} is immutable"):
            db.session.flush()
        db.session.rollback()


@pytest.mark.parametrize("what", ["version", "tag", "derivation"])
def test_the_orm_refuses_to_delete_a_version(app: Flask, stored_idea, what):
    with app.app_context():
        version = _version(stored_idea)
        target = {
            "version": version,
            "tag": version.tag_rows[0],
            "derivation": version.derivation_rows[0],
        }[what]
        db.session.delete(target)
        with pytest.raises(RuntimeError, match="can never be deleted"):
            db.session.flush()
        db.session.rollback()


@pytest.mark.parametrize("collection", ["tag_rows", "derivation_rows"])
def test_the_orm_refuses_to_add_to_a_stored_version(app: Flask, stored_idea, collection):
    with app.app_context():
        version = _version(stored_idea)
        rows = getattr(version, collection)
        added = (
            VersionTag(position=len(rows), tag="added later")
            if collection == "tag_rows"
            else Derivation(position=len(rows), source_idea_id=stored_idea)
        )
        rows.append(added)
        with pytest.raises(RuntimeError, match="IdeaVersion is immutable"):
            db.session.flush()
        db.session.rollback()


@pytest.mark.usefixtures("stored_idea")
@pytest.mark.parametrize("table", ["version_tags", "derivations"])
def test_the_database_refuses_to_truncate_the_versions(app: Flask, table):
    with app.app_context():
        if db.session.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite has no TRUNCATE; DELETE without WHERE is refused above")
        with pytest.raises(DatabaseError, match="immutable"), db.session.begin_nested():
            db.session.execute(text(f"TRUNCATE {table}"))
