"""An alliance of its own for a whole test module: the access matrix and the leak tests
read the same ideas from hundreds of tests, so they are submitted once per module, on a
database of the module's own (the suite's backend), rather than once per test.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy.orm import scoped_session
from werkzeug.test import TestResponse

from registry import MIGRATIONS, create_app, demo
from registry.alliance.services import list_groups, list_organisations, person_by_email
from registry.auth.tokens import person_token
from registry.db import db
from registry.evidence.keys import register_keys
from tests.conftest import ISSUER, empty_database

PAT = "pat@northside.example"  # Northside
FRAN = "fran@northside.example"  # Northside and the General Practice forum
QUINN = "quinn@riverside.example"  # Riverside
CAROL = "carol@ccg.example"  # CCG staff
AUDREY = "audrey@audit.example"  # auditor
ADAM = "adam@ccg.example"  # administrator

NORTHSIDE = "Northside GP Federation"
RIVERSIDE = "Riverside Community Care"
HARBOUR = "Harbour Urgent Care"  # no persona belongs to it: a grant to it reaches none
CCG = "NHS Sunderland CCG (demo)"
GENERAL_PRACTICE = "general-practice"


@dataclass
class Alliance:
    """An app on a database of its own with the demo alliance, and what to call it with."""

    app: Flask
    session: scoped_session
    ids: dict[str, str]  # organisations by name, groups by slug
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def client(self) -> FlaskClient:
        return self.app.test_client()

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Requests in the block use this alliance's own sessions (the suite's
        ``transaction`` fixture binds ``db.session`` to the shared test database)."""
        previous, db.session = db.session, self.session
        try:
            yield
        finally:
            db.session = previous

    def token(self, email: str) -> str:
        if email not in self.tokens:
            with self.app.app_context():
                person = person_by_email(email)
                assert person is not None, f"no person {email}"
                generator = self.app.extensions["registry.token_generator"]
                self.tokens[email] = person_token(generator, person)["access_token"]
        return self.tokens[email]

    def headers(self, email: str | None) -> dict[str, str]:
        """The Authorization header for a person; none for ``None`` (anonymous)."""
        return {"Authorization": f"Bearer {self.token(email)}"} if email else {}

    def call(
        self, method: str, path: str, by: str | None, json: Any = None, **kwargs
    ) -> TestResponse:
        """``method`` on ``/api/v1{path}`` as ``by`` (None: without a token)."""
        headers = {**self.headers(by), **kwargs.pop("headers", {})}
        return self.client.open(
            f"/api/v1{path}", method=method, json=json, headers=headers, **kwargs
        )

    def ok(self, method: str, path: str, by: str | None, json: Any = None, expect: int = 200):
        """Like :meth:`call`, asserting the status; returns the JSON body."""
        response = self.call(method, path, by, json)
        assert response.status_code == expect, (method, path, by, response.get_data(True))
        return response.json

    def submit(self, by: str, origin: str, sensitivity: str, **fields) -> dict:
        """Submit an idea as ``by``: a provider idea of their provider, or a forum idea
        of the General Practice forum. Returns the response (with its receipt)."""
        payload = {
            "title": f"Matrix {origin} {sensitivity}",
            "summary": "An idea for the access matrix.",
            "body": "What only some may read.",
            "tags": [],
            "sensitivity": sensitivity,
            "origin": origin,
            **fields,
        }
        if origin == "forum":
            payload["group"] = self.ids[GENERAL_PRACTICE]
        return self.ok("POST", "/ideas", by, payload, expect=201)

    def grant(self, idea_id: str, by: str, **grantee: str) -> dict:
        """Grant an idea to an organisation (by name), group (by slug) or person."""
        body = {kind: self.ids.get(name, name) for kind, name in grantee.items()}
        return self.ok("POST", f"/ideas/{idea_id}/grants", by, body, expect=201)

    def withdraw(self, idea_id: str, by: str) -> dict:
        return self.ok("POST", f"/ideas/{idea_id}/withdraw", by, {"reason": "Superseded."})

    def upload(
        self, idea_id: str, by: str | None, filename: str, content: bytes, **kwargs
    ) -> TestResponse:
        """POST a file to version 1's attachments as ``by`` (multipart/form-data)."""
        return self.call(
            "POST",
            f"/ideas/{idea_id}/versions/1/attachments",
            by,
            data={"file": (io.BytesIO(content), filename)},
            content_type="multipart/form-data",
            **kwargs,
        )

    def attach(self, idea_id: str, by: str, filename: str, content: bytes) -> dict:
        response = self.upload(idea_id, by, filename, content)
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.json


@pytest.fixture(scope="module")
def module_alliance(tmp_path_factory, instance_path: Path) -> Iterator[Alliance]:
    """An :class:`Alliance` for the module: migrated, keys registered, demo alliance
    loaded, no ideas. Its database is dropped when the module ends."""
    folder = tmp_path_factory.mktemp("alliance")
    with empty_database(folder / "registry.db") as url:
        app = create_app(
            {
                "INSTANCE_PATH": str(instance_path),
                "DATABASE_URL": url,
                "ISSUER": ISSUER,
                "DEMO": True,
                # One token per persona serves the whole module.
                "ACCESS_TOKEN_TTL": 3600,
            }
        )
        alliance = Alliance(app, db._make_scoped_session({"expire_on_commit": False}), {})
        try:
            with alliance.installed(), app.app_context():
                upgrade(directory=MIGRATIONS)
                register_keys(db.session, instance_path)
                demo.load_alliance()
                alliance.ids = {o.name: str(o.id) for o in list_organisations()}
                alliance.ids |= {g.slug: str(g.id) for g in list_groups()}
            yield alliance
        finally:
            with app.app_context():
                db.engine.dispose()  # before the database is dropped


@pytest.fixture
def alliance(module_alliance: Alliance, transaction) -> Iterator[Alliance]:
    """The module's alliance, its sessions installed for the test (after ``transaction``
    has installed the shared database's)."""
    with module_alliance.installed():
        yield module_alliance
