"""The search benchmark's register: loaded below the service, yet indexed and sealed as
the service would have done it (`registry search check` agrees, the owner finds a word
of a sealed body and reads the body back)."""

from __future__ import annotations

import re

import pytest

from bench import ideas, register
from registry.alliance.services import person_by_email
from registry.auth.tokens import person_token
from registry.db import db

COUNT = 40
SEED = 5


@pytest.fixture
def small_register(make_empty_database, tmp_path, monkeypatch):
    """An app on a register of COUNT generated ideas, built by the benchmark's loader."""
    # The register's own database and session, not the suite's rolled-back transaction.
    monkeypatch.setattr(db, "session", db._make_scoped_session({}))
    url = make_empty_database()
    instance = tmp_path / "instance"
    meta = register.build(instance, url, COUNT, SEED)  # raises if `search check` fails
    assert meta["count"] == COUNT
    app = register.Copy(instance, url).app()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _headers(app, email: str) -> dict[str, str]:
    with app.app_context():
        token = person_token(app.extensions["registry.token_generator"], person_by_email(email))
    return {"Authorization": f"Bearer {token['access_token']}"}


def test_a_register_is_stored_and_indexed_as_the_service_would(small_register):
    client = small_register.test_client()
    carol = _headers(small_register, "carol@ccg.example")
    pat = _headers(small_register, "pat@northside.example")
    made = list(ideas.ideas(COUNT, SEED))

    # Every generated idea is there, as its owner and origin say.
    listed = client.get(
        "/api/v1/ideas", query_string={"include_withdrawn": "true", "per_page": 100}, headers=carol
    )
    assert listed.status_code == 200, listed.json
    expected = {
        str(register.idea_uuid(SEED, i.number))
        for i in made
        # Carol (CCG staff) knows of every idea but providers' confidential ones.
        if i.sensitivity != "confidential" or i.origin == "forum"
    }
    assert expected <= {item["id"] for item in listed.json["items"]}

    # A word only a sealed body holds is in the index as a blind term: its owner finds it.
    idea = next(i for i in made if i.sensitivity == "commercial" and i.owner == ideas.NORTHSIDE)
    abstract = _words(f"{idea.title} {idea.summary} {' '.join(idea.tags)}")
    word = next(w for w in _words(idea.body) if len(w) > 4 and w not in abstract)
    found = client.get("/api/v1/search", query_string={"q": word}, headers=pat)
    assert found.status_code == 200, found.json
    idea_id = str(register.idea_uuid(SEED, idea.number))
    assert idea_id in [item["id"] for item in found.json["items"]]

    # And the body was sealed so that the service opens it.
    shown = client.get(f"/api/v1/ideas/{idea_id}", headers=pat)
    assert shown.status_code == 200, shown.json
    assert shown.json["body"] == idea.body
    assert shown.json["tags"] == list(idea.tags)

    # The service goes on from there: a new submission is stored (fresh ids) and found.
    submitted = client.post(
        "/api/v1/ideas",
        json={
            "title": "Quokka clinics",
            "summary": "A new idea after the bulk load.",
            "body": "Stored and indexed by the service itself.",
            "sensitivity": "alliance",
            "origin": "provider",
        },
        headers=pat,
    )
    assert submitted.status_code == 201, submitted.json
    found = client.get("/api/v1/search", query_string={"q": "quokka"}, headers=carol)
    assert [item["id"] for item in found.json["items"]] == [submitted.json["id"]]
