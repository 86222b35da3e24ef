"""Factories for the grants' and the access log's tests: sharing, revoking, reading."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import Result
from flask.testing import FlaskClient

from registry.alliance.services import list_organisations, person_by_email
from registry.auth.tokens import person_token
from registry.evidence.audit import audit_command
from registry.evidence.receipts import Keyset, verify_receipt
from tests.conftest import Instance

PAT = "pat@northside.example"  # Northside
FRAN = "fran@northside.example"  # Northside and the General Practice forum
QUINN = "quinn@riverside.example"  # Riverside
CAROL = "carol@ccg.example"  # CCG staff
AUDREY = "audrey@audit.example"  # auditor
ADAM = "adam@ccg.example"  # administrator

NORTHSIDE = "Northside GP Federation"
RIVERSIDE = "Riverside Community Care"
CCG = "NHS Sunderland CCG (demo)"
GENERAL_PRACTICE = "general-practice"


def later(**delta) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


@pytest.fixture
def share(client: FlaskClient, auth) -> Callable[..., dict]:
    """A factory: grant an idea to ``grantee`` (organisation=..., group=... or person=...)
    as ``by``; return the response body."""

    def grant(idea_id: str, by: str = PAT, expect: int = 201, **grantee) -> dict:
        response = client.post(f"/api/v1/ideas/{idea_id}/grants", json=grantee, headers=auth(by))
        assert response.status_code == expect, response.json
        return response.json

    return grant


@pytest.fixture
def revoke(client: FlaskClient, auth) -> Callable[..., None]:
    """A factory: revoke a grant as ``by``."""

    def revoke_(idea_id: str, grant_id: str, by: str = PAT, expect: int = 204) -> None:
        response = client.delete(f"/api/v1/ideas/{idea_id}/grants/{grant_id}", headers=auth(by))
        assert response.status_code == expect, response.json

    return revoke_


@pytest.fixture
def read(client: FlaskClient, auth) -> Callable[..., dict]:
    """A factory: GET an API path as ``by`` (None: without a token); return the body."""

    def get(path: str, by: str | None = QUINN, expect: int = 200, **query) -> dict:
        headers = auth(by) if by else {}
        response = client.get(f"/api/v1{path}", query_string=query, headers=headers)
        assert response.status_code == expect, response.json
        return response.json

    return get


@pytest.fixture
def keyset(client: FlaskClient) -> Keyset:
    """The registry's published keys, as a verifier reads them."""
    return Keyset.from_jwks(client.get("/api/v1/keys").json)


@pytest.fixture
def verified(keyset) -> Callable[[dict], None]:
    """A factory: assert a receipt verifies offline with the published keys alone."""

    def check(receipt: dict) -> None:
        report = verify_receipt(receipt, keyset)
        assert report.ok, report.to_dict()

    return check


@dataclass(frozen=True)
class Shared:
    """An instance of its own, on which an idea was shared and read (see ``shared``)."""

    instance: Instance
    idea: str
    grant: str  # to Riverside, active
    revoked: str  # to the CCG, revoked

    def audit(self) -> Result:
        return self.instance.run(audit_command)


@pytest.fixture
def shared(make_instance) -> Shared:
    """A fresh instance (`registry init`, `registry demo`) where, through the API, pat
    submits a commercial idea and a confidential one, grants the first to Riverside and to
    the CCG, revokes the CCG's grant; quinn reads the first's body twice and is refused
    the second: grant and revocation statements, and read and refused access log entries."""
    instance = make_instance("init", "demo")
    app = instance.app
    client = app.test_client()

    def headers(email: str) -> dict[str, str]:
        with app.app_context():
            token = person_token(app.extensions["registry.token_generator"], person_by_email(email))
        return {"Authorization": f"Bearer {token['access_token']}"}

    pat, quinn = headers(PAT), headers(QUINN)
    with app.app_context():
        ids = {o.name: str(o.id) for o in list_organisations()}

    def post(path: str, body: dict) -> dict:
        response = client.post(f"/api/v1{path}", json=body, headers=pat)
        assert response.status_code == 201, response.json
        return response.json

    content = {"title": "t", "summary": "s", "body": "b", "origin": "provider"}
    idea = post("/ideas", {**content, "sensitivity": "commercial"})["id"]
    secret = post("/ideas", {**content, "sensitivity": "confidential"})["id"]
    grant = post(f"/ideas/{idea}/grants", {"organisation": ids[RIVERSIDE]})["id"]
    revoked = post(f"/ideas/{idea}/grants", {"organisation": ids[CCG]})["id"]
    assert client.delete(f"/api/v1/ideas/{idea}/grants/{revoked}", headers=pat).status_code == 204
    for path in (f"/ideas/{idea}", f"/ideas/{idea}/versions/1"):
        assert client.get(f"/api/v1{path}", headers=quinn).json["body"] == "b"
    assert client.get(f"/api/v1/ideas/{secret}", headers=quinn).status_code == 404
    return Shared(instance, idea, grant, revoked)
