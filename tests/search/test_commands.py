"""`registry search check` and `registry search reindex` on an instance of their own."""

from __future__ import annotations

import stat

import pytest
from sqlalchemy import func, select

from registry.cli import main
from registry.db import db
from registry.ip.models import Idea, IdeaVersion
from registry.search.terms import KEY_FILE


@pytest.fixture(autouse=True)
def transaction() -> None:
    """Overrides the suite's per-test transaction: the commands need a database of their own."""
    return None


def _first_version(instance) -> int:
    with instance.app.app_context():
        return db.session.scalar(select(func.min(IdeaVersion.id)))


def test_init_creates_the_search_key_and_the_demo_is_indexed(make_instance):
    instance = make_instance()
    result = instance.run(main, "init")
    assert result.exit_code == 0, result.output
    assert "the search key" in result.output
    assert stat.S_IMODE((instance.path / KEY_FILE).stat().st_mode) == 0o600
    assert instance.run(main, "demo").exit_code == 0

    result = instance.run(main, "search", "check")
    assert result.exit_code == 0, result.output
    assert "the index agrees with the database" in result.output


def test_check_lists_a_tampered_entry_and_reindex_repairs_it(make_instance):
    instance = make_instance("init", "demo")
    version = _first_version(instance)
    if instance.database_url.startswith("sqlite"):
        instance.sql("UPDATE search_fts SET title = 'tampered' WHERE rowid / 2 = :v", v=version)
    else:
        instance.sql(
            "UPDATE search_entries SET document = to_tsvector('simple', 'tampered') "
            "WHERE version_id = :v",
            v=version,
        )

    result = instance.run(main, "search", "check")
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert lines == [
        f"differs: abstract entry of version row {version} ({_idea(instance, version)})",
        f"differs: full entry of version row {version} ({_idea(instance, version)})",
    ]

    result = instance.run(main, "search", "reindex")
    assert result.exit_code == 0, result.output
    with instance.app.app_context():
        ideas = db.session.scalar(select(func.count()).select_from(Idea))
    assert f"indexed {ideas} ideas" in result.output
    assert instance.run(main, "search", "check").exit_code == 0


def _idea(instance, version_id: int) -> str:
    with instance.app.app_context():
        version = db.session.get(IdeaVersion, version_id)
        return f"idea {version.idea_id} version {version.number}"


def test_an_emptied_index_is_rebuilt(make_instance):
    """As after upgrading to the first version with search: ideas, and no index yet."""
    instance = make_instance("init", "demo")
    table = "search_fts" if instance.database_url.startswith("sqlite") else "search_entries"
    instance.sql(f"DELETE FROM {table}")  # noqa: S608 - a fixed table name
    with instance.app.app_context():
        ideas = db.session.scalar(select(func.count()).select_from(Idea))
    result = instance.run(main, "init")  # what an operator runs to upgrade: it says so
    assert result.exit_code == 0, result.output
    assert (
        f"the search index is empty but the register holds {ideas} ideas: "
        "run `registry search reindex`"
    ) in result.output
    result = instance.run(main, "search", "check")
    assert result.exit_code == 1
    assert "missing: full entry" in result.output
    assert instance.run(main, "search", "reindex").exit_code == 0
    assert instance.run(main, "search", "check").exit_code == 0
    assert "the search index is empty" not in instance.run(main, "init").output


def test_without_its_search_key_the_registry_does_not_start(make_instance):
    instance = make_instance("init")
    (instance.path / KEY_FILE).unlink()
    result = instance.run(main, "search", "check")
    assert result.exit_code != 0
    assert "search.key is missing: run `registry init` first" in result.output
