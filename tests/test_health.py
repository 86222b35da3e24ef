"""Liveness and readiness."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import scoped_session, sessionmaker

from registry.db import db
from tests.ip.checks import error_body

UNREACHABLE = "sqlite:////nonexistent-dir/registry.db"


def test_healthz_answers_without_a_token(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_answers_when_the_database_does(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready"}


@pytest.fixture
def connections() -> Iterator[list[object]]:
    """Every new database connection opened while the test runs."""
    opened: list[object] = []

    def record(dbapi_connection, _record):
        opened.append(dbapi_connection)

    event.listen(Engine, "connect", record)
    try:
        yield opened
    finally:
        event.remove(Engine, "connect", record)


@pytest.fixture
def unreachable_app(make_app, connections, monkeypatch) -> Flask:
    """An app whose database cannot be opened: building it must not need the database."""
    app = make_app(DATABASE_URL=UNREACHABLE)
    assert connections == [], "create_app opened a database connection"
    with app.app_context():
        # The harness binds db.session to the test database's connection for every app;
        # this app must use its own, unreachable, engine.
        monkeypatch.setattr(db, "session", scoped_session(sessionmaker(bind=db.engine)))
    return app


def test_readyz_is_503_when_the_database_is_unreachable(unreachable_app, caplog):
    response = unreachable_app.test_client().get("/readyz")
    body = error_body(response, 503)
    assert body["message"] == "The database is not reachable."
    assert body["errors"] == {}
    text = response.get_data(as_text=True)
    assert "nonexistent-dir" not in text
    assert "sqlite" not in text.lower()
    assert "readiness check failed" in caplog.text


def test_healthz_answers_while_the_database_is_unreachable(unreachable_app, connections):
    response = unreachable_app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert connections == []  # liveness never asks the database


def test_readyz_recovers_once_the_database_answers(make_app, tmp_path, monkeypatch):
    # The same app, first with its database file's folder missing, then present.
    folder = tmp_path / "later"
    app = make_app(DATABASE_URL=f"sqlite:///{folder / 'registry.db'}")
    with app.app_context():
        monkeypatch.setattr(db, "session", scoped_session(sessionmaker(bind=db.engine)))
    client = app.test_client()
    error_body(client.get("/readyz"), 503)
    folder.mkdir()
    assert client.get("/readyz").status_code == 200
