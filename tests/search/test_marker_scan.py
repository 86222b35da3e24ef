"""No word of a sealed field reaches the disk in clear, even once search has used it
(issue 5).

The approach of the sealing scan (tests/sealing/test_service.py): made-up markers in the
sealed fields of a commercial and a confidential idea, a clear word beside them to show the
scan sees what was written. Here the owner first searches for each marker, exactly, as a
phrase and misspelt, and another member searches too, so the index, any cache and the
suggestion machinery have all been through the markers; then every file of the instance
folder and of the database (the file, its WAL and shared memory, index files, logs) is
read, and on PostgreSQL every row of every table, for each marker in UTF-8 and UTF-16.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask

from registry.alliance.services import person_by_email
from registry.auth.tokens import person_token
from registry.db import db
from tests.markers import ENCODINGS, postgresql_rows_holding
from tests.search.probes import ids, search, typo, word

PAT = "pat@northside.example"  # Northside, owner of the ideas below
QUINN = "quinn@riverside.example"  # another provider: reads the commercial abstract only


def _headers(app: Flask, email: str) -> dict[str, str]:
    with app.app_context():
        person = person_by_email(email)
        token = person_token(app.extensions["registry.token_generator"], person)["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _exercise(app: Flask) -> tuple[dict[str, str], str]:
    """Submit the marked ideas and search for every marker. Returns the markers (by the
    field that holds them) and the clear word."""
    client = app.test_client()
    pat, quinn = _headers(app, PAT), _headers(app, QUINN)
    markers = {
        "commercial body": word(),
        "confidential title": word(),
        "confidential summary": word(),
        "confidential body": word(),
    }
    clear = word()
    ideas = [
        {
            "title": f"Title {clear}",
            "summary": "An idea with a marked body.",
            "body": f"The body holds {markers['commercial body']} only here.",
            "sensitivity": "commercial",
        },
        {
            "title": f"Confidential {markers['confidential title']}",
            "summary": f"The summary holds {markers['confidential summary']}.",
            "body": f"The body holds {markers['confidential body']}.",
            "sensitivity": "confidential",
        },
    ]
    made = []
    for idea in ideas:
        response = client.post(
            "/api/v1/ideas", json={**idea, "origin": "provider", "tags": []}, headers=pat
        )
        assert response.status_code == 201, response.json
        made.append(response.json["id"])

    assert ids(search(client, pat, q=clear)) == [made[0]]
    for field, marker in markers.items():
        owner = made[0] if field.startswith("commercial") else made[1]
        for q in (marker, f'"{marker}"', f"{marker} OR {clear}"):
            assert owner in ids(search(client, pat, q=q)), (field, q)  # the index was used
        misspelt = search(client, pat, q=typo(marker))
        assert marker not in (misspelt["suggestion"] or ""), field
        assert search(client, quinn, q=marker)["total"] == 0, field
        assert search(client, quinn, q=typo(marker))["suggestion"] is None, field
    return markers, clear


def _found(contents: dict[Path, bytes], word_: str) -> list[str]:
    return [
        f"{path} ({encoding})"
        for path, data in contents.items()
        for encoding in ENCODINGS
        if word_.encode(encoding) in data
    ]


def _outside_the_database(backend: str) -> bool:
    """Does the backend keep its index in the instance folder (Whoosh), not in tables?"""
    return backend not in {"sqlite", "postgresql"}


def _read(files: list[Path]) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in files if path.is_file()}


def test_no_searched_sealed_word_reaches_the_disk(app, make_isolated_app, caplog):
    caplog.set_level(logging.DEBUG, logger="registry")
    # On a database of its own, with the search backend under test (an index folder in
    # the instance folder, for one that keeps its index outside the database).
    backend = app.config["REGISTRY"]["SEARCH_BACKEND"]
    if backend == "postgresql":
        pytest.skip("PostgreSQL full-text search: its tables are read below")
    app = make_isolated_app(SEARCH_BACKEND=backend)
    markers, clear = _exercise(app)
    with app.app_context():
        database = Path(db.engine.url.database)

        def files() -> list[Path]:
            return [
                *Path(app.instance_path).rglob("*"),
                *database.parent.glob(database.name + "*"),
            ]

        # While connections are open (the WAL and shared memory as they are), then after.
        live = _read(files())
        db.session.remove()
        db.engine.dispose()
    for contents in (live, _read(files())):
        assert _found(contents, clear), "the scan sees what the database wrote"
        if _outside_the_database(backend):
            folder = {p: d for p, d in contents.items() if p.is_relative_to(app.instance_path)}
            assert _found(folder, clear), "the scan sees what the index wrote"
        for field, marker in markers.items():
            assert _found(contents, marker) == [], field
    for field, marker in markers.items():
        assert marker not in caplog.text, f"the {field} was logged"


@pytest.mark.usefixtures("app_context")
def test_no_searched_sealed_word_is_in_any_postgresql_table(app, caplog):
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite: the database's files are read above")
    caplog.set_level(logging.DEBUG, logger="registry")
    markers, clear = _exercise(app)

    assert postgresql_rows_holding(db.session, clear) >= 1
    for field, marker in markers.items():
        assert postgresql_rows_holding(db.session, marker) == 0, field
    contents = _read(list(Path(app.instance_path).rglob("*")))
    if _outside_the_database(app.config["REGISTRY"]["SEARCH_BACKEND"]):
        assert _found(contents, clear), "the scan sees what the index wrote"
    for field, marker in markers.items():
        assert _found(contents, marker) == [], field
        assert marker not in caplog.text, f"the {field} was logged"
