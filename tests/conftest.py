"""Test harness.

The schema is built once per run by the migrations, on SQLite or, when
``REGISTRY_TEST_DATABASE_URL`` names one, on a fresh PostgreSQL database. The
demo alliance is loaded once; each test runs inside a transaction that is
rolled back at its end.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import click
import psycopg
import pytest
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import scoped_session, sessionmaker

import registry
from registry import MIGRATIONS, create_app, demo
from registry.alliance.services import person_by_email
from registry.auth.tokens import person_token
from registry.cli import main
from registry.db import db
from registry.evidence.jcs import canonicalize
from registry.evidence.keys import register_keys
from registry.instance import create_keys
from tests.pg_available import conninfo

ISSUER = "http://registry.test"

Backend = Literal["sqlite", "postgresql"]


@contextmanager
def empty_database(sqlite_path: Path, backend: Backend | None = None) -> Iterator[str]:
    """A database with nothing in it, on ``backend`` or else the one the suite runs on: a
    new SQLite file, or a new PostgreSQL database on the server in
    REGISTRY_TEST_DATABASE_URL, dropped on exit. Asked for PostgreSQL with no server
    named, it skips the test."""
    server = os.environ.get("REGISTRY_TEST_DATABASE_URL")
    if backend == "postgresql" and not server:
        pytest.skip("PostgreSQL: REGISTRY_TEST_DATABASE_URL is not set (`make test` sets it)")
    if backend == "sqlite" or not server:
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
def make_empty_database(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """A factory: the URL of another empty database, dropped after the test; on the suite's
    backend unless one is named."""
    with ExitStack() as stack:
        yield lambda backend=None: stack.enter_context(
            empty_database(tmp_path / f"empty-{secrets.token_hex(4)}.db", backend)
        )


@dataclass(frozen=True)
class Instance:
    """An instance folder and a database of its own, as the `registry` commands see them."""

    path: Path
    database_url: str
    demo: bool = True

    @property
    def env(self) -> dict[str, str]:
        return {
            "REGISTRY_INSTANCE_PATH": str(self.path),
            "REGISTRY_DATABASE_URL": self.database_url,
            "REGISTRY_ISSUER": ISSUER,
            "REGISTRY_DEMO": "1" if self.demo else "0",
            "REGISTRY_OIDC_ISSUERS": "[]",
        }

    def run(self, command: click.Command, *args: str) -> Result:
        """Run `registry` (``main``) or one of its groups on the instance."""
        return CliRunner().invoke(command, list(args), env=self.env)

    @cached_property
    def app(self) -> Flask:
        """An app serving the instance, built on first use (after `registry init`)."""
        return registry.create_app(
            {
                "INSTANCE_PATH": str(self.path),
                "DATABASE_URL": self.database_url,
                "ISSUER": ISSUER,
                "DEMO": self.demo,
                "OIDC_ISSUERS": [],
            }
        )

    def sql(self, *statements: str, **params) -> None:
        """Run SQL as someone with direct access to the database, and commit."""
        with self.app.app_context():
            for each in statements:
                db.session.execute(text(each), params)
            db.session.commit()

    def drop_guards(self, *tables: str) -> None:
        """Do what whoever holds the database's credentials can: drop the triggers."""
        if not self.database_url.startswith("sqlite"):
            self.sql(*(f"ALTER TABLE {table} DISABLE TRIGGER USER" for table in tables))
            return
        query = text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t")
        with self.app.app_context():
            names = [n for t in tables for n in db.session.scalars(query, {"t": t})]
        self.sql(*(f"DROP TRIGGER {name}" for name in names))


@pytest.fixture
def make_instance(
    tmp_path: Path, make_empty_database, monkeypatch
) -> Iterator[Callable[..., Instance]]:
    """A factory: a new instance on an empty database (see ``make_empty_database``), set up
    by running each of ``commands`` (e.g. "init", "demo") as `registry COMMAND`. Every app
    built meanwhile, by the commands or the tests, has its pool closed before the database
    is dropped."""
    made: list[Flask] = []
    create = registry.create_app

    def record(config=None) -> Flask:
        made.append(create(config))
        return made[-1]

    monkeypatch.setattr(registry, "create_app", record)

    def make(*commands: str, backend: Backend | None = None, demo: bool = True) -> Instance:
        path = tmp_path / f"instance-{secrets.token_hex(4)}"
        instance = Instance(path, make_empty_database(backend), demo)
        for command in commands:
            result = instance.run(main, command)
            assert result.exit_code == 0, result.output
        return instance

    yield make
    for app in made:
        with app.app_context():
            db.engine.dispose()


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
        sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ),
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
def check_token_with_openssl(client: FlaskClient, tmp_path: Path) -> Callable[[dict], None]:
    """A check of a receipt by `openssl ts -verify` alone, as an auditor would run it with
    the TSA chain from /api/v1/keys: its first time-stamp token covers the statement's
    digest, and the same recipe refuses another statement's."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is required: receipts promise it can check their tokens")

    def check(receipt: dict) -> None:
        timestamp = next(k for k in client.get("/api/v1/keys").json["keys"] if "x5c" in k)
        tsa_pem, root_pem = (
            x509.load_der_x509_certificate(base64.b64decode(der)).public_bytes(Encoding.PEM)
            for der in timestamp["x5c"]
        )
        token = base64.b64decode(receipt["timestamps"][0]["token"])
        (tmp_path / "token.tsr").write_bytes(token)
        (tmp_path / "tsa.pem").write_bytes(tsa_pem)
        (tmp_path / "root.pem").write_bytes(root_pem)
        digest = hashlib.sha256(canonicalize(receipt["statement"])).hexdigest()
        command = [
            openssl, "ts", "-verify", "-digest", digest, "-in", "token.tsr", "-token_in",
            "-CAfile", "root.pem", "-untrusted", "tsa.pem",
        ]  # fmt: skip
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert "Verification: OK" in done.stdout
        command[4] = hashlib.sha256(b"another statement").hexdigest()
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
        assert done.returncode != 0
        assert "Verification: FAILED" in done.stdout

    return check


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
