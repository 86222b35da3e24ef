"""The Whoosh backend's own guarantees (registry/search/whoosh.py): its outbox commits and
rolls back with the idea, a drain that dies after the Whoosh commit is applied again,
concurrent writers in several processes lose nothing, a restart catches up, and no
sealed word reaches its folder. The search contract it shares with the other backends
runs on it too (conftest.py parametrises the suite over every backend).

Each test has an instance of its own (folder, database and index), with real commits,
set up by `registry init` and `registry demo` with REGISTRY_SEARCH_BACKEND=whoosh.
"""

from __future__ import annotations

import fcntl
import logging
import multiprocessing
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

pytest.importorskip("whoosh", reason="the whoosh extra: pip install 'registry[whoosh]'")

# After the skip: nothing below works without whoosh.
from flask import Flask
from sqlalchemy import String, cast, event, select
from whoosh import index as whoosh_index

import registry
from registry import config as configuration
from registry.db import db
from registry.ip.models import IdeaVersion
from registry.search import whoosh
from registry.search.commands import search_group
from registry.search.interface import Scope
from registry.search.models import SearchOutboxEntry
from tests.ip.checks import error_body
from tests.search.probes import ids, search, word
from tests.search.test_marker_scan import _exercise, _found, _headers, _read

PAT = "pat@northside.example"
QUINN = "quinn@riverside.example"
FRAN = "fran@northside.example"
OUTBOX = SearchOutboxEntry.__table__
DEMO_IDEAS = 3  # registry/demo.py


@pytest.fixture
def transaction() -> None:
    """Overrides the suite's per-test transaction: these tests commit for real."""
    return None


@pytest.fixture
def whoosh_rolls_back_too() -> None:
    """Overrides the search suite's: each test here has an index folder of its own."""
    return None


@pytest.fixture
def instance(make_instance, monkeypatch):
    monkeypatch.setenv("REGISTRY_SEARCH_BACKEND", "whoosh")
    return make_instance("init", "demo")


def _env(instance) -> dict[str, str]:
    return {**instance.env, "REGISTRY_SEARCH_BACKEND": "whoosh"}


def _folder(app: Flask) -> Path:
    return Path(app.instance_path) / whoosh.FOLDER


def _entries(app: Flask) -> list[str]:
    """Every entry of the index folder, read with Whoosh alone (no drain first)."""
    with whoosh_index.open_dir(_folder(app)).searcher() as searcher:
        return sorted(fields["entry"] for fields in searcher.all_stored_fields())


def _outbox(app: Flask) -> list[tuple[int, int | None]]:
    with app.app_context():
        rows = db.session.execute(
            select(OUTBOX.c.version_id, OUTBOX.c.scope).order_by(OUTBOX.c.id)
        ).all()
        db.session.rollback()
        return [tuple(row) for row in rows]


def _outbox_text(app: Flask) -> str:
    with app.app_context():
        rows = db.session.scalars(select(cast(OUTBOX.c.document, String)).order_by(OUTBOX.c.id))
        return "\n".join(row or "" for row in rows)


def _version_id(app: Flask, idea: dict) -> int:
    with app.app_context():
        return db.session.scalar(
            select(IdeaVersion.id).where(
                IdeaVersion.idea_id == uuid.UUID(idea["id"]),
                IdeaVersion.number == idea["latest_version"],
            )
        )


def _keys(version_id: int) -> list[str]:
    return [f"{version_id}:{int(scope)}" for scope in Scope]


@contextmanager
def _another_drain(app: Flask) -> Iterator[None]:
    """Hold the drain lock as another process's drain would."""
    with open(_folder(app) / whoosh.LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _submit(app: Flask, by: str = PAT, expect: int = 201, **fields) -> dict:
    payload = {
        "title": f"Idea {word()}",
        "summary": f"Summary {word()}",
        "body": f"Body {word()}",
        "tags": [],
        "sensitivity": "alliance",
        "origin": "provider",
        **fields,
    }
    response = app.test_client().post("/api/v1/ideas", json=payload, headers=_headers(app, by))
    if expect != 201:
        return error_body(response, expect)
    assert response.status_code == 201, response.json
    return response.json


def _add_version(app: Flask, idea: dict, by: str = PAT, **fields) -> dict:
    content = {k: idea[k] for k in ("title", "summary", "body", "tags", "sensitivity")}
    response = app.test_client().post(
        f"/api/v1/ideas/{idea['id']}/versions",
        json={**content, **fields},
        headers=_headers(app, by),
    )
    assert response.status_code == 201, response.json
    return response.json


def _find(app: Flask, q: str, by: str = PAT) -> dict:
    return search(app.test_client(), _headers(app, by), q=q)


def _check(instance) -> None:
    result = instance.run(search_group, "check")
    assert result.exit_code == 0, result.output
    assert "the index agrees with the database (whoosh search backend)" in result.output


# -- the outbox is part of the idea's transaction ------------------------------------------


def test_the_outbox_commits_with_the_idea_and_a_search_drains_it_first(instance):
    app = instance.app
    demo = _entries(app)
    assert len(demo) == 2 * DEMO_IDEAS, "`registry demo` submitted through the outbox too"
    assert _outbox(app) == []
    with _another_drain(app):
        idea = _submit(app)  # its commit's drain finds the lock taken and leaves the rows
        version = _version_id(app, idea)
        assert _outbox(app) == [(version, int(Scope.ABSTRACT)), (version, int(Scope.FULL))]
        assert _entries(app) == demo
    word_ = idea["summary"].split()[-1]
    assert ids(_find(app, word_)) == [idea["id"]]  # the search drained before reading
    assert _outbox(app) == []
    assert _entries(app) == sorted(demo + _keys(version))


def test_a_failed_submit_leaves_no_outbox_row_and_no_index_entry(instance):
    app = instance.app
    before = _entries(app)
    # The database refuses the vocabulary insert that Indexer.index makes after writing the
    # outbox, so the submission fails inside the transaction that wrote its rows.
    if instance.database_url.startswith("sqlite"):
        refuse = (
            "CREATE TRIGGER refuse_words BEFORE INSERT ON search_words "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
        allow = "DROP TRIGGER refuse_words"
    else:
        refuse = (
            "CREATE TRIGGER refuse_words BEFORE INSERT ON search_words "
            "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
        )
        allow = "DROP TRIGGER refuse_words ON search_words"
    instance.sql(refuse)
    refused = word()
    with app.app_context():
        engine = db.engine
    sent: list[str] = []

    def record(_connection, _cursor, statement, *_args) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        body = _submit(app, title=f"Refused {refused}", expect=500)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert body["message"] == "The server could not complete the request."
    assert any(s.startswith("INSERT INTO search_outbox") for s in sent), "rows were written"
    assert _outbox(app) == []  # and rolled back with the idea
    assert _entries(app) == before
    instance.sql(allow)
    assert _find(app, refused)["total"] == 0  # a drain now applies nothing of it
    assert _entries(app) == before

    idea = _submit(app, title=f"Accepted {refused}")  # the same, once the database accepts
    assert ids(_find(app, refused)) == [idea["id"]]
    assert _entries(app) == sorted(before + _keys(_version_id(app, idea)))


# -- crash and restart -----------------------------------------------------------------


class _DiesAfterTheWhooshCommit(whoosh.WhooshIndex):
    def _applied(self, bind, ids: list[int]) -> None:
        os._exit(3)  # the Whoosh writer has committed; the outbox rows are not yet deleted


def _drain_and_die(env: dict[str, str]) -> None:
    """In a process of its own: drain with the index that dies after its commit."""
    os.environ.update(env)
    app = registry.create_app()
    with app.app_context():
        _DiesAfterTheWhooshCommit(Path(app.instance_path)).drain(db.session)


def test_a_drain_that_dies_after_the_whoosh_commit_is_applied_again(instance):
    app = instance.app
    with _another_drain(app):
        first, second = _submit(app), _submit(app, by=QUINN)
        old = _version_id(app, first)
        revised = _add_version(app, first, summary=f"Revised {word()}")
        waiting = _outbox(app)
    new, other = _version_id(app, revised), _version_id(app, second)
    abstract, full = int(Scope.ABSTRACT), int(Scope.FULL)
    assert waiting == [  # two ideas, then every version of the first forgotten, and the new one
        *[(old, abstract), (old, full), (other, abstract), (other, full)],
        *[(old, None), (new, None), (new, abstract), (new, full)],
    ]

    process = multiprocessing.get_context("spawn").Process(
        target=_drain_and_die, args=(_env(instance),)
    )
    process.start()
    process.join(timeout=300)
    assert process.exitcode == 3, "the drain died where the test put its crash"
    assert _outbox(app) == waiting  # nothing deleted...
    held = _entries(app)
    assert set(_keys(new)) <= set(held)  # ...though Whoosh committed it all
    assert not set(_keys(old)) & set(held)

    result = instance.run(search_group, "drain")  # the next drain, after a restart
    assert result.exit_code == 0, result.output
    assert f"applied {len(waiting)} outbox rows to the whoosh index" in result.output
    assert _outbox(app) == []
    assert _entries(app) == held  # applied again: each entry still once, the same ones
    _check(instance)
    second_word = second["summary"].split()[-1]
    assert ids(_find(app, second_word)) == [second["id"]]
    assert _find(app, first["summary"].split()[-1])["total"] == 0  # the first version's
    assert ids(_find(app, revised["summary"].split()[-1])) == [first["id"]]


def test_a_search_waits_for_another_drain_and_is_a_503_if_it_holds_on(instance, monkeypatch):
    app = instance.app
    monkeypatch.setattr(whoosh, "LOCK_TIMEOUT", 0.2)
    with _another_drain(app):
        body = search(app.test_client(), _headers(app, PAT), expect=503, q="frailty")
    assert body["message"].startswith("The search index is being updated by another process")
    assert _find(app, "frailty")["total"] >= 1  # and answers once the lock is free


# -- several processes writing at once -------------------------------------------------


def _write_ideas(env: dict[str, str], email: str, count: int, barrier, results) -> None:
    """In a process of its own: submit ``count`` ideas through the register, and a second
    version of each; put (email, statuses, [(idea, first word, second word)], warnings)."""
    os.environ.update(env)
    app = registry.create_app()
    warnings: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            warnings.append(record)

    logging.getLogger(whoosh.__name__).addHandler(Collect(logging.WARNING))
    client, headers = app.test_client(), _headers(app, email)
    statuses, made = [], []
    barrier.wait(timeout=300)
    for _ in range(count):
        early, later = word(), word()
        idea = {
            "title": f"Concurrent {word()}",
            "summary": f"First {early}",
            "body": f"Body {word()}",
            "tags": [],
            "sensitivity": "alliance",
            "origin": "provider",
        }
        first = client.post("/api/v1/ideas", json=idea, headers=headers)
        statuses.append(first.status_code)
        if first.status_code != 201:
            continue
        idea["summary"] = f"Second {later}"
        del idea["origin"]
        second = client.post(
            f"/api/v1/ideas/{first.json['id']}/versions", json=idea, headers=headers
        )
        statuses.append(second.status_code)
        made.append((first.json["id"], early, later))
    results.put((email, statuses, made, len(warnings)))


def test_writers_in_several_processes_lose_no_update(instance):
    app = instance.app
    context = multiprocessing.get_context("spawn")
    writers, count = [PAT, QUINN, FRAN, PAT], 3
    barrier, results = context.Barrier(len(writers)), context.Queue()
    processes = [
        context.Process(target=_write_ideas, args=(_env(instance), email, count, barrier, results))
        for email in writers
    ]
    for process in processes:
        process.start()
    reports = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    for email, statuses, _made, warnings in reports:
        assert statuses == [201] * (2 * count), (email, statuses)  # no writer failed
        assert warnings == 0, f"{email}: a drain after a commit failed"

    made = [m for _email, _statuses, ideas, _warnings in reports for m in ideas]
    assert len(made) == len(writers) * count
    for idea_id, early, later in made:
        assert ids(_find(app, later)) == [idea_id]
        assert _find(app, early)["total"] == 0  # replaced by the second version
    assert _outbox(app) == []
    entries = _entries(app)
    assert len(entries) == len(set(entries)) == 2 * (DEMO_IDEAS + len(made))
    _check(instance)


# -- what reaches the disk -----------------------------------------------------------------


def test_no_sealed_word_reaches_the_outbox_or_the_index_folder(instance, caplog):
    caplog.set_level(logging.DEBUG, logger="registry")
    app = instance.app
    sealed, clear = word(), word()
    with _another_drain(app):
        _submit(app, title=f"Open {clear}", body=f"Sealed {sealed}", sensitivity="commercial")
        held = _outbox_text(app)
    assert clear in held, "the outbox holds the clear title: the check can fail"
    assert sealed not in held
    assert app.extensions["registry.search"].key.term(sealed) in held  # its blind term

    markers, shown = _exercise(app)  # the search suite's marked ideas, each searched for
    markers["outbox"] = sealed
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    files = list(Path(app.instance_path).rglob("*"))
    if instance.database_url.startswith("sqlite"):
        database = Path(instance.database_url.removeprefix("sqlite:///"))
        files += list(database.parent.glob(database.name + "*"))
    contents = _read(files)
    folder = str(_folder(app))
    assert [p for p in _found(contents, shown) if p.startswith(folder)], "the scan reads it"
    for field, marker in markers.items():
        assert _found(contents, marker) == [], field
        assert marker not in caplog.text, field


def test_shredding_leaves_no_blind_term_in_the_index_folder(instance):
    app = instance.app
    marker = word()
    idea = _submit(app, body=f"Sealed {marker}", sensitivity="commercial")
    for _ in range(2):  # more versions: the earlier ones' entries are deleted documents
        idea = _add_version(app, idea, summary=f"Summary {word()}")
    blind = app.extensions["registry.search"].key.term(marker)
    folder = list(_folder(app).iterdir())
    assert _found(_read(folder), blind), "the index holds the blind term: the scan can fail"
    client, headers = app.test_client(), _headers(app, PAT)
    for step, payload in (("withdraw", {"reason": "Ended."}), ("shred", {})):
        response = client.post(f"/api/v1/ideas/{idea['id']}/{step}", json=payload, headers=headers)
        assert response.status_code == 200, response.json
    assert _find(app, marker)["total"] == 0  # drained: the shredded body is gone
    assert _found(_read(list(_folder(app).iterdir())), blind) == []
    _check(instance)


# -- configuration and commands -------------------------------------------------------------


def test_choosing_whoosh_without_the_extra_stops_the_start(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "whoosh", None)  # as if it were not installed
    with pytest.raises(configuration.ConfigError) as refused:
        configuration.load({"INSTANCE_PATH": str(tmp_path), "SEARCH_BACKEND": "whoosh"})
    assert "pip install 'registry[whoosh]'" in str(refused.value)


def test_the_index_folder_is_for_the_service_alone(instance):
    app = instance.app
    folder = _folder(app)
    assert folder.stat().st_mode & 0o777 == 0o700
    folder.chmod(0o755)  # while the service runs
    with app.app_context():
        indexer = app.extensions["registry.search"]
        report = indexer.check(db.session, app.extensions["registry.evidence"].sealing)
    assert report.problems == [f"{folder} is accessible to other users (mode 0o755)"]
    _check(instance)  # a start (here the command's) makes it the service's alone again
    assert folder.stat().st_mode & 0o777 == 0o700


def test_drain_says_when_the_backend_has_no_outbox(make_instance, monkeypatch):
    monkeypatch.delenv("REGISTRY_SEARCH_BACKEND", raising=False)
    result = make_instance("init").run(search_group, "drain")
    assert result.exit_code == 0, result.output
    assert "nothing to drain" in result.output
