"""The schema is the migrations': they build it from nothing, undo it, and match the models."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import Column, Integer, MetaData, Table, inspect, select, text
from sqlalchemy.orm import Session

from registry import MIGRATIONS, search
from registry.db import db

# The newest revision: the one migration with no successor.
HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()
TABLES = {
    "access_log_entries",
    "access_log_head",
    "alembic_version",
    "derivations",
    "external_identities",
    "grants",
    "group_memberships",
    "groups",
    "idea_versions",
    "ideas",
    "log_checkpoints",
    "log_hashes",
    "log_head",
    "memberships",
    "openings",
    "organisations",
    "people",
    "service_clients",
    "signing_keys",
    "statement_timestamps",
    "statements",
    "version_tags",
    "data_keys",
    "sealed_fields",
    "shreddings",
    "attachments",
    "search_words",
    "search_checkpoints",
    "search_outbox",
    "search_ideas",
}
GROUPS = {
    "general-practice": "General Practice",
    "mental-health-ld-autism": "Mental Health, Learning Disabilities and Autism",
    "enhanced-primary-community-care": "Enhanced Primary and Community Care",
    "urgent-intermediate-care": "Urgent and Intermediate Care",
    "alliance-executive-group": "Alliance Executive Group",
}
# Same options as the app's Migrate(): what `flask db migrate` would compare.
COMPARE = {"compare_type": True, "render_as_batch": True, "include_name": search.include_name}


@pytest.fixture
def empty_database_url(make_empty_database) -> str:
    return make_empty_database()


@pytest.fixture
def empty_app(make_app, empty_database_url) -> Iterator[Flask]:
    app = make_app(DATABASE_URL=empty_database_url)
    yield app
    with app.app_context():
        db.engine.dispose()  # before the database is dropped


def _tables() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def _migrated() -> set[str]:
    # With the search index's own tables, no model's, which differ by backend.
    return TABLES | search.INDEX_TABLES[db.engine.dialect.name]


def _groups() -> dict[str, str]:
    with db.engine.connect() as connection:
        return dict(connection.execute(text("SELECT slug, name FROM groups")).all())


def test_upgrade_builds_the_schema_from_nothing(empty_app):
    with empty_app.app_context():
        assert _tables() == set()
        upgrade(directory=MIGRATIONS)
        assert _tables() == _migrated()
        assert _groups() == GROUPS
        with db.engine.connect() as connection:
            assert connection.scalar(text("SELECT version_num FROM alembic_version")) == HEAD


def test_downgrade_to_base_and_upgrade_again(empty_app):
    with empty_app.app_context():
        upgrade(directory=MIGRATIONS)
        downgrade(directory=MIGRATIONS, revision="base")
        assert _tables() == {"alembic_version"}
        with db.engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM alembic_version")) == 0
        upgrade(directory=MIGRATIONS)
        assert _tables() == _migrated()
        assert _groups() == GROUPS


def test_group_ids_are_the_same_in_every_database(empty_app, directory):
    # The group ids derive from the slug, so a fresh database agrees with the test one.
    with empty_app.app_context():
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as connection:
            fresh = {
                slug: str(uuid.UUID(str(i)))
                for slug, i in connection.execute(text("SELECT slug, id FROM groups"))
            }
    assert fresh == {slug: directory[slug] for slug in GROUPS}


def test_upgrading_twice_changes_nothing(empty_app):
    with empty_app.app_context():
        upgrade(directory=MIGRATIONS)
        upgrade(directory=MIGRATIONS)
        assert _groups() == GROUPS


def _differences(metadata: MetaData) -> list:
    context = MigrationContext.configure(db.session.connection(), opts=COMPARE)
    return compare_metadata(context, metadata)


@pytest.mark.usefixtures("app_context")
def test_the_models_match_the_migrations():
    assert _differences(db.metadata) == []


@pytest.mark.usefixtures("app_context")
def test_a_model_the_migrations_lack_would_be_found():
    # The comparison above can fail: a table in the models but not in the database.
    metadata = MetaData()
    for table in db.metadata.tables.values():
        table.to_metadata(metadata)
    Table("unmigrated", metadata, Column("id", Integer, primary_key=True))
    assert [d[0] for d in _differences(metadata)] == ["add_table"]


@pytest.mark.usefixtures("app_context")
def test_the_migrated_database_has_the_immutability_triggers():
    if db.session.get_bind().dialect.name == "sqlite":
        query = text("SELECT tbl_name FROM sqlite_master WHERE type = 'trigger'")
    else:  # information_schema lists a trigger once per event it fires on
        query = text(
            "SELECT event_object_table FROM information_schema.triggers "
            "WHERE trigger_schema = current_schema()"
        )
    tables = sorted(row[0] for row in db.session.execute(query))
    # One for UPDATE and one for DELETE on each table of a stored version, of the
    # evidence and of the access log; grants take one UPDATE (their revocation only) and
    # refuse DELETE (PostgreSQL's TRUNCATE triggers are not in information_schema).
    immutable = ["derivations", "idea_versions", "version_tags", "attachments"]
    append_only = [
        "statements",
        "statement_timestamps",
        "openings",
        "log_hashes",
        "log_checkpoints",
        "access_log_entries",
        "grants",
        "sealed_fields",
        "shreddings",
    ]
    # The search outbox's rows are deleted once applied, never updated: one trigger.
    assert tables == sorted((immutable + append_only) * 2 + ["search_outbox"])


def _idea_of_two_versions():
    """Store (for real, not in the test's transaction: a migration's own connection must
    see it) a withdrawn forum idea whose latest version is its second; return it."""
    from registry.alliance.models import Group, Organisation, OrganisationKind, Person
    from registry.ip.models import Idea, IdeaState, IdeaVersion, Origin, Sensitivity

    with Session(db.engine, expire_on_commit=False) as session:
        owner = Organisation(kind=OrganisationKind.PROVIDER, name="Upgrade Test Practice")
        person = Person(email="upgrade-test@practice.example", display_name="Uma")
        group = session.scalars(select(Group).where(Group.slug == "general-practice")).one()
        idea = Idea(origin=Origin.FORUM, owner=owner, group=group, state=IdeaState.WITHDRAWN)
        idea.latest_version = 2
        for number, sensitivity in ((1, Sensitivity.PUBLIC), (2, Sensitivity.COMMERCIAL)):
            version = IdeaVersion(
                number=number,
                title="t",
                summary="s",
                body="",
                sensitivity=sensitivity,
                submitted_by=person,
            )
            idea.versions.append(version)
        session.add(idea)
        session.commit()
    return idea


def test_search_rows_are_filled_from_the_register_on_upgrade(empty_app):
    """0009 copies each idea's latest version into search_ideas: an instance upgraded
    with ideas in it searches them by their filters at once."""
    from registry.ip.models import IdeaState, Origin, Sensitivity
    from registry.search.models import IndexedIdea

    with empty_app.app_context():
        upgrade(directory=MIGRATIONS, revision="0008_search_outbox")
        idea = _idea_of_two_versions()
        version = idea.versions[-1]
        upgrade(directory=MIGRATIONS)
        with Session(db.engine) as session:
            rows = session.scalars(select(IndexedIdea)).all()
        assert [
            (r.version_id, r.idea_id, r.origin, r.owner_id, r.group_id, r.sensitivity, r.state)
            for r in rows
        ] == [
            (
                version.id,
                idea.id,
                Origin.FORUM,
                idea.owner.id,
                idea.group.id,
                Sensitivity.COMMERCIAL,
                IdeaState.WITHDRAWN,
            )
        ]
        assert rows[0].registered_at == idea.created_at


def test_postgresql_entries_copy_their_search_row_on_upgrade(empty_app):
    """0011 gives each PostgreSQL entry a copy of its idea's search row, and drops the
    entries of a version that is no longer an idea's latest (which have no row)."""
    from registry.search.models import ROWS
    from registry.search.postgres import COPIED, ENTRIES

    with empty_app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the copies are PostgreSQL's")
        upgrade(directory=MIGRATIONS, revision="0008_search_outbox")
        idea = _idea_of_two_versions()
        upgrade(directory=MIGRATIONS, revision="0010_version_tags_by_version")
        first, latest = (v.id for v in idea.versions)
        with db.engine.begin() as connection:
            for version_id in (first, latest):
                connection.execute(
                    text(
                        "INSERT INTO search_entries (version_id, scope, document) "
                        "VALUES (:v, 0, to_tsvector('t')), (:v, 1, to_tsvector('t s'))"
                    ),
                    {"v": version_id},
                )
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as connection:
            row = connection.execute(select(*(ROWS.c[n] for n in COPIED))).one()
            entries = connection.execute(
                select(ENTRIES.c.version_id, ENTRIES.c.scope, *(ENTRIES.c[n] for n in COPIED))
            ).all()
        assert sorted(entries) == [(latest, 0, *row), (latest, 1, *row)]
