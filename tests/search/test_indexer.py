"""What the index holds (blind terms, never sealed words), and checking and rebuilding it."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from flask import Flask
from sqlalchemy import delete, select, text, update

from registry.db import db
from registry.ip.models import IdeaVersion, Sensitivity
from registry.search.interface import Difference, Scope
from registry.search.models import IndexedIdea, SearchCheckpoint, SearchWord
from tests.search.conftest import CAROL, PAT, QUINN, ids
from tests.search.test_contract import filler, word


@pytest.fixture
def add_version_(client, auth):
    """A factory: store a new version of an idea as its submitter, changing ``fields``."""

    def add(idea: dict, **fields) -> dict:
        content = {k: idea[k] for k in ("title", "summary", "body", "tags", "sensitivity")}
        response = client.post(
            f"/api/v1/ideas/{idea['id']}/versions", json={**content, **fields}, headers=auth(PAT)
        )
        assert response.status_code == 201, response.json
        return response.json

    return add


def _terms(app: Flask, backend: str) -> set[str]:
    """Every term the index holds, as its engine lists them."""
    with app.app_context():
        if backend == "sqlite":
            db.session.execute(
                text("CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, search_fts, row)")
            )
            return set(db.session.scalars(text("SELECT term FROM temp.terms")))
        if backend == "postgresql":
            query = "SELECT word FROM ts_stat('SELECT document FROM search_entries')"
            return set(db.session.scalars(text(query)))
    pytest.skip(f"reads the sqlite and postgresql index storage, not {backend}'s")


def _stored_text(app: Flask, backend: str) -> str:
    """Everything the index stores besides its inverted lists, as text."""
    with app.app_context():
        if backend == "sqlite":
            rows = db.session.scalars(
                text("SELECT title || ' ' || summary || ' ' || tags || ' ' || body FROM search_fts")
            )
        else:
            rows = db.session.scalars(text("SELECT document::text FROM search_entries"))
        return "\n".join(rows)


def _vocabulary(app: Flask) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(SearchWord.word)))


def _version_id(app: Flask, idea: dict) -> int:
    with app.app_context():
        return db.session.scalar(
            select(IdeaVersion.id).where(
                IdeaVersion.idea_id == uuid.UUID(idea["id"]),
                IdeaVersion.number == idea["latest_version"],
            )
        )


def _tamper(app: Flask, version_id: int) -> None:
    """Store other text in a version's full entry (its abstract entry unchanged)."""
    with app.app_context():
        indexer = app.extensions["registry.search"]
        version = db.session.get(IdeaVersion, version_id)
        content = indexer.content(db.session, app.extensions["registry.evidence"].sealing, version)
        abstract, full = indexer.documents(version, content)
        indexer.backend.put(db.session, [abstract, replace(full, body="tampered")])
        db.session.commit()


def _remove(app: Flask, version_id: int) -> None:
    with app.app_context():
        app.extensions["registry.search"].backend.remove(db.session, [version_id])
        db.session.commit()


def _check(app: Flask):
    with app.app_context():
        indexer = app.extensions["registry.search"]
        return indexer.check(db.session, app.extensions["registry.evidence"].sealing)


def _reindex(app: Flask, **options) -> int:
    with app.app_context():
        indexer = app.extensions["registry.search"]
        sealing = app.extensions["registry.evidence"].sealing
        return indexer.reindex(db.session, sealing, **options)


# -- the blind index ------------------------------------------------------------------


@pytest.mark.parametrize("sensitivity", ["commercial", "confidential"])
def test_a_sealed_word_is_in_the_index_only_as_its_blind_term(
    app, backend, make_idea, find, sensitivity
):
    marker = word()
    idea = make_idea(
        title=f"Title {marker}", body=f"The body holds {marker}.", sensitivity=sensitivity
    )
    terms, stored = _terms(app, backend), _stored_text(app, backend)
    key = app.extensions["registry.search"].key
    assert key.term(marker) in terms
    assert key.term(marker) in stored
    assert ids(find(PAT, q=marker)) == [idea["id"]]
    if sensitivity == "commercial":  # the title is in clear, and read by members
        assert marker in terms
        assert ids(find(CAROL, q=f'"title {marker}"')) == [idea["id"]]
        return
    assert not any(marker in term for term in terms)
    assert marker not in stored
    assert marker not in _vocabulary(app)
    assert find(QUINN, q=marker)["total"] == 0


def test_the_vocabulary_holds_words_of_clear_fields_only(app, make_idea):
    clear, sealed = word(), word()
    make_idea(title=f"Open {clear}", body=f"Closed {sealed}", sensitivity="commercial")
    vocabulary = _vocabulary(app)
    assert clear in vocabulary
    assert sealed not in vocabulary


def test_shredding_takes_the_blind_terms_out_of_the_index(app, backend, client, auth, make_idea):
    marker = word()
    idea = make_idea(body=f"The body holds {marker}.", sensitivity="commercial")
    blind = app.extensions["registry.search"].key.term(marker)
    assert blind in _terms(app, backend)
    for step, payload in (("withdraw", {"reason": "Ended."}), ("shred", {})):
        response = client.post(
            f"/api/v1/ideas/{idea['id']}/{step}", json=payload, headers=auth(PAT)
        )
        assert response.status_code == 200, response.json
    assert blind not in _stored_text(app, backend)
    assert blind not in _terms(app, backend)
    assert _check(app).clean  # and a reindex would not bring them back


# -- check -----------------------------------------------------------------------------


def test_check_finds_nothing_when_the_index_agrees(app, make_idea, add_version_):
    idea = make_idea(body=f"Body {word()}", sensitivity="commercial")
    add_version_(idea, summary=filler(3))
    make_idea(title=f"Confidential {word()}", sensitivity="confidential")
    report = _check(app)
    assert report.clean, report


def test_check_finds_a_tampered_entry(app, make_idea):
    idea = make_idea(body=f"Body {word()}", sensitivity="commercial")
    make_idea(summary=filler(4), sensitivity="public")
    version = _version_id(app, idea)
    _tamper(app, version)
    report = _check(app)
    assert report.differences == [Difference(version, Scope.FULL, "differs")]


def test_putting_an_entry_again_replaces_it_whole(app, make_idea, find):
    old = word()
    idea = make_idea(body=f"Body {old}", sensitivity="public")
    _tamper(app, _version_id(app, idea))  # its full entry put again, with another body
    assert find(q=old)["total"] == 0
    assert ids(find(q="tampered")) == [idea["id"]]
    assert _check(app).problems == []  # e.g. FTS5's own integrity-check


def test_check_finds_missing_and_unexpected_entries(app, make_idea, add_version_):
    missing = make_idea(sensitivity="alliance")
    stale = make_idea(sensitivity="alliance")
    old = _version_id(app, stale)
    add_version_(stale, summary=filler(3))
    _remove(app, _version_id(app, missing))
    with app.app_context():  # the first version's entries, put back as a stale index would
        indexer = app.extensions["registry.search"]
        version = db.session.get(IdeaVersion, old)
        content = {f: getattr(version, f) for f in ("title", "summary", "body")}
        indexer.backend.put(db.session, indexer.documents(version, content))
        db.session.commit()
    report = _check(app)
    missing_version = _version_id(app, missing)
    assert sorted(report.differences, key=lambda d: (d.problem, d.scope)) == [
        Difference(missing_version, Scope.ABSTRACT, "missing"),
        Difference(missing_version, Scope.FULL, "missing"),
        Difference(old, Scope.ABSTRACT, "unexpected"),
        Difference(old, Scope.FULL, "unexpected"),
    ]


def test_an_index_is_empty_only_without_entries(app, make_idea):
    make_idea(sensitivity="alliance")
    with app.app_context():
        backend = app.extensions["registry.search"].backend
        assert not backend.empty(db.session)
        backend.remove(db.session, backend.indexed_versions(db.session))
        assert backend.empty(db.session)
        db.session.rollback()


def test_check_finds_a_search_row_that_differs_from_the_register(app, make_idea, find):
    """A search row is what the access filter reads: one that says public for a
    confidential idea is found by check, and a reindex writes it again."""
    marker = word()
    idea = make_idea(title=f"Confidential {marker}", sensitivity="confidential")
    version = _version_id(app, idea)
    with app.app_context():
        db.session.execute(
            update(IndexedIdea)
            .where(IndexedIdea.version_id == version)
            .values(sensitivity=Sensitivity.PUBLIC)
        )
        db.session.commit()
    assert _check(app).differences == [Difference(version, None, "differs")]
    assert _reindex(app) >= 1
    assert _check(app).clean
    assert find(QUINN, q=marker)["total"] == 0


def test_check_finds_a_missing_search_row(app, make_idea):
    idea = make_idea(sensitivity="alliance")
    version = _version_id(app, idea)
    with app.app_context():
        db.session.execute(delete(IndexedIdea).where(IndexedIdea.version_id == version))
        db.session.commit()
    assert _check(app).differences == [Difference(version, None, "missing")]


def test_check_finds_an_entrys_copy_of_its_search_row_that_differs(app, backend, make_idea, find):
    """On PostgreSQL each entry carries a copy of its idea's search row, and a search
    reads the copy: one that says public for a confidential idea is found by check, and
    a reindex writes it again."""
    if backend != "postgresql":
        pytest.skip("only PostgreSQL's entries copy their idea's search row")
    marker = word()
    idea = make_idea(title=f"Confidential {marker}", sensitivity="confidential")
    version = _version_id(app, idea)
    with app.app_context():
        indexer = app.extensions["registry.search"]
        stored = db.session.get(IdeaVersion, version)
        content = indexer.content(db.session, app.extensions["registry.evidence"].sealing, stored)
        public = {"sensitivity": Sensitivity.PUBLIC}
        documents = indexer.documents(stored, content)
        indexer.backend.put(db.session, [replace(d, row={**d.row, **public}) for d in documents])
        db.session.commit()
    assert find(QUINN, q=marker)["total"] == 1  # the copy decides access
    assert _check(app).differences == [
        Difference(version, Scope.ABSTRACT, "differs"),
        Difference(version, Scope.FULL, "differs"),
    ]
    assert _reindex(app) >= 1
    assert _check(app).clean
    assert find(QUINN, q=marker)["total"] == 0


def test_a_new_version_replaces_its_ideas_search_row(app, make_idea, add_version_):
    idea = make_idea(sensitivity="alliance")
    first = _version_id(app, idea)
    latest = add_version_(idea, summary=filler(3))
    with app.app_context():
        rows = db.session.scalars(
            select(IndexedIdea.version_id).where(IndexedIdea.idea_id == uuid.UUID(idea["id"]))
        ).all()
    assert rows == [_version_id(app, latest)] != [first]
    assert _check(app).clean


# -- reindex ----------------------------------------------------------------------------


def test_reindex_rebuilds_every_entry_from_the_database(app, make_idea, find):
    marker = word()
    ideas = [make_idea(body=f"Body {marker}", sensitivity="commercial") for _ in range(3)]
    for idea in ideas:
        _remove(app, _version_id(app, idea))
    assert find(PAT, q=marker)["total"] == 0
    assert not _check(app).clean
    assert _reindex(app, batch=2) == 3
    assert _check(app).clean
    assert set(ids(find(PAT, q=marker))) == {i["id"] for i in ideas}


def test_an_interrupted_reindex_continues_after_its_checkpoint(app, make_idea):
    ideas = sorted(
        (make_idea(body=f"Body {word()}", sensitivity="commercial") for _ in range(3)),
        key=lambda idea: uuid.UUID(idea["id"]),
    )
    versions = [_version_id(app, idea) for idea in ideas]
    for version in versions:
        _tamper(app, version)

    def stop(_done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _reindex(app, batch=1, progress=stop)  # killed after its first batch
    with app.app_context():
        checkpoint = db.session.get(SearchCheckpoint, "reindex")
        assert checkpoint.idea_id == uuid.UUID(ideas[0]["id"])
    assert [d.version_id for d in _check(app).differences] == versions[1:]

    _tamper(app, versions[0])  # done already: a continued run does not redo it
    assert _reindex(app, batch=1) == 2
    assert [d.version_id for d in _check(app).differences] == versions[:1]
    with app.app_context():
        assert db.session.get(SearchCheckpoint, "reindex") is None  # finished

    assert _reindex(app, restart=True) == 3
    assert _check(app).clean
