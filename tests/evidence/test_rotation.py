"""`registry keys rotate`: new statements are signed by the new key, old receipts still
verify with the old one, which stays published with the end of its window.

Each test has an instance of its own made by `registry init` and `registry demo`, on
SQLite or on a temporary PostgreSQL database when the suite runs on PostgreSQL.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime

import pytest
from click.testing import Result
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask
from flask.testing import FlaskClient

from registry.alliance.services import person_by_email
from registry.auth.tokens import person_token
from registry.db import db
from registry.evidence import publication
from registry.evidence.audit import audit_command
from registry.evidence.jcs import canonicalize
from registry.evidence.keys import KEY_DIR
from registry.evidence.rotation import keys_group
from tests.conftest import Instance


@pytest.fixture(autouse=True)
def transaction() -> None:
    """Overrides the suite's per-test transaction: the commands need a database of their own."""
    return None


@pytest.fixture
def instance(make_instance) -> Instance:
    return make_instance("init", "demo")


@pytest.fixture
def run(instance: Instance) -> Callable[..., Result]:
    """A factory: run a command on the instance."""
    return instance.run


@pytest.fixture
def app(instance: Instance) -> Flask:
    """An app serving the instance, built before any rotation, as a running worker is."""
    return instance.app


@pytest.fixture
def submit(app: Flask):
    """A factory: Pat submits an idea through the API; returns its receipt."""
    client: FlaskClient = app.test_client()
    with app.app_context():
        person = person_by_email("pat@northside.example")
        token = person_token(app.extensions["registry.token_generator"], person)
    headers = {"Authorization": f"Bearer {token['access_token']}"}

    def make(title: str) -> dict:
        payload = {
            "title": title,
            "summary": "Link frail patients to community groups.",
            "body": "Practices refer frail patients to a link worker.",
            "tags": ["frailty"],
            "sensitivity": "commercial",
            "origin": "provider",
        }
        response = client.post("/api/v1/ideas", json=payload, headers=headers)
        assert response.status_code == 201, response.json
        return response.json["receipt"]

    return make


def rotate(run) -> str:
    """Rotate and return the new kid the command printed."""
    result = run(keys_group, "rotate")
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith("statement key ")
    assert "signs from now on" in first
    return first.split()[2]


def statement_keys(app: Flask) -> dict[str, dict]:
    evidence = app.extensions["registry.evidence"]
    with app.app_context():
        keyset = publication.keyset(db.session, evidence.tsa, evidence.origin)
    return {k["kid"]: k for k in keyset["keys"] if k[publication.PURPOSE] == "statement"}


def public_key(jwk: dict) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(jwk["x"] + "=="))


def verify(receipt: dict, key: Ed25519PublicKey) -> None:
    """Raises InvalidSignature unless ``key`` signed the receipt's statement."""
    signature = base64.b64decode(receipt["signature"]["sig"])
    key.verify(signature, canonicalize(receipt["statement"]))


def test_new_statements_are_signed_by_the_new_key(run, submit):
    before = submit("Before the rotation")
    new_kid = rotate(run)
    # The worker that built its app before the rotation signs with the new key at once.
    after = submit("After the rotation")
    assert before["signature"]["kid"] != new_kid
    assert after["signature"]["kid"] == new_kid


def test_old_keys_stay_published_with_the_end_of_their_window(run, submit, app):
    old_kid = submit("Before the rotation")["signature"]["kid"]
    new_kid = rotate(run)
    keys = statement_keys(app)
    assert set(keys) == {old_kid, new_kid}
    assert keys[old_kid]["valid_until"] is not None
    assert keys[old_kid]["valid_until"] == keys[new_kid]["valid_from"]
    assert keys[new_kid]["valid_until"] is None
    # The same, as the public endpoint serves it.
    served = app.test_client().get("/api/v1/keys")
    assert served.status_code == 200
    assert {k["kid"]: k.get("valid_until") for k in served.json["keys"] if k["kid"] in keys} == {
        old_kid: keys[old_kid]["valid_until"],
        new_kid: None,
    }


def test_old_receipts_verify_with_the_old_key(run, submit, app):
    before = submit("Before the rotation")
    new_kid = rotate(run)
    after = submit("After the rotation")
    keys = statement_keys(app)
    old = keys[before["signature"]["kid"]]
    verify(before, public_key(old))
    verify(after, public_key(keys[new_kid]))
    with pytest.raises(InvalidSignature):
        verify(before, public_key(keys[new_kid]))
    # Each statement was made inside the window of the key that signed it.
    made = datetime.fromisoformat(before["statement"]["submitted_at"])
    assert datetime.fromisoformat(old["valid_from"]) <= made
    assert made < datetime.fromisoformat(old["valid_until"])


def test_audit_passes_after_rotations(run, submit):
    submit("Before the rotations")
    rotate(run)
    submit("Between the rotations")
    rotate(run)
    submit("After the rotations")
    result = run(audit_command)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("audit passed: 6 statements")  # 3 demo ideas and 3 more


def test_rotating_twice_keeps_every_old_key(run, app, instance):
    first = set(statement_keys(app))
    second, third = rotate(run), rotate(run)
    keys = statement_keys(app)
    assert set(keys) == first | {second, third}
    assert [kid for kid, key in keys.items() if key["valid_until"] is None] == [third]
    files = (instance.path / KEY_DIR).glob("statement-ed25519-*.pem")
    assert {path.name.removeprefix("statement-ed25519-")[:-4] for path in files} == set(keys)
