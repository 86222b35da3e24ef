"""Test harness.

The schema is built once per run by the migrations, on SQLite or, when
``REGISTRY_TEST_DATABASE_URL`` names one, on a fresh PostgreSQL database. The
demo alliance is loaded once; each test runs inside a transaction that is
rolled back at its end.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy.engine import make_url
from sqlalchemy.orm import scoped_session, sessionmaker

from registry import MIGRATIONS, create_app, demo
from registry.alliance.services import person_by_email
from registry.auth.tokens import person_token
from registry.db import db
from registry.evidence.keys import register_keys
from registry.instance import create_keys
from tests.pg_available import conninfo

ISSUER = "http://registry.test"


@contextmanager
def empty_database(sqlite_path: Path) -> Iterator[str]:
    """A database with nothing in it, on the backend the suite runs on: a new SQLite
    file, or a new PostgreSQL database on the server in REGISTRY_TEST_DATABASE_URL,
    dropped on exit."""
    server = os.environ.get("REGISTRY_TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{sqlite_path}"
        return
    name = f"registry_test_{secrets.token_hex(4)}"
    admin = conninfo(server)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with empty_database(tmp_path_factory.mktemp("db") / "registry.db") as url:
        yield url


@pytest.fixture
def make_empty_database(tmp_path: Path) -> Iterator[Callable[[], str]]:
    """A factory: the URL of another empty database, dropped after the test."""
    with ExitStack() as stack:
        yield lambda: stack.enter_context(
            empty_database(tmp_path / f"empty-{secrets.token_hex(4)}.db")
        )


@pytest.fixture(scope="session")
def instance_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("instance")
    create_keys(path)
    return path


@pytest.fixture(scope="session")
def make_app(instance_path: Path, database_url: str) -> Iterator[Callable[..., Flask]]:
    """Build an app on the test database; keyword arguments override configuration."""
    made: list[Flask] = []

    def make(**overrides) -> Flask:
        config = {
            "INSTANCE_PATH": str(instance_path),
            "DATABASE_URL": database_url,
            "ISSUER": ISSUER,
            "DEMO": True,
            **overrides,
        }
        made.append(create_app(config))
        return made[-1]

    yield make
    for app in made:  # close pooled connections before the database is dropped
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def app(make_app, instance_path: Path) -> Flask:
    app = make_app()
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        register_keys(db.session, instance_path)
        demo.load_alliance()  # tests start from an empty register
    return app


@pytest.fixture(autouse=True)
def transaction(app: Flask) -> Iterator[None]:
    """Run the test in a transaction that is rolled back; services' commits become savepoints."""
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
    original = db.session
    db.session = scoped_session(
        sessionmaker(bind=connection, join_transaction_mode="create_savepoint"),
        scopefunc=original.registry.scopefunc,
    )
    try:
        yield
    finally:
        with app.app_context():
            db.session.remove()
        db.session = original
        outer.rollback()
        connection.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def app_context(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield


@pytest.fixture
def token_for(app: Flask) -> Callable[[str], str]:
    """A factory: an access token for the person with this email."""

    def make(email: str) -> str:
        with app.app_context():
            person = person_by_email(email)
            assert person is not None, f"no person {email}"
            return person_token(app.extensions["registry.token_generator"], person)["access_token"]

    return make


@pytest.fixture
def auth(token_for) -> Callable[[str], dict[str, str]]:
    """A factory: the Authorization header for a person."""
    return lambda email: {"Authorization": f"Bearer {token_for(email)}"}


@pytest.fixture
def directory(client: FlaskClient, auth) -> dict[str, uuid.UUID]:
    """Ids of the demo organisations and groups, by name and slug."""
    headers = auth("carol@ccg.example")
    ids = {o["name"]: o["id"] for o in client.get("/api/v1/organisations", headers=headers).json}
    ids |= {g["slug"]: g["id"] for g in client.get("/api/v1/groups", headers=headers).json}
    return ids


@pytest.fixture
def make_idea(client: FlaskClient, auth) -> Callable[..., dict]:
    """A factory: submit an idea through the API as ``by`` and return the response body."""

    def make(by: str = "pat@northside.example", expect: int = 201, **fields) -> dict:
        payload = {
            "title": "Social prescribing for frailty",
            "summary": "Link frail patients to community groups.",
            "body": "Practices refer frail patients to a link worker who ...",
            "tags": ["frailty"],
            "sensitivity": "commercial",
            "origin": "provider",
            **fields,
        }
        response = client.post("/api/v1/ideas", json=payload, headers=auth(by))
        assert response.status_code == expect, response.json
        return response.json

    return make


@pytest.fixture
def make_isolated_app(make_app, tmp_path: Path, monkeypatch) -> Callable[..., Flask]:
    """A factory: an app on a fresh SQLite database of its own, migrated, with the demo
    alliance, using the real session (commits are real and seen by other connections)."""

    def make(**overrides) -> Flask:
        url = f"sqlite:///{tmp_path / f'isolated-{secrets.token_hex(4)}.db'}"
        app = make_app(DATABASE_URL=url, **overrides)
        monkeypatch.setattr(db, "session", db._make_scoped_session({}))
        with app.app_context():
            upgrade(directory=MIGRATIONS)
            register_keys(db.session, Path(app.instance_path))
            demo.load_alliance()
        return app

    return make
