"""Factories for the ideas register's tests: versions, withdrawals, listings."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.ip.checks import nothing_written as _nothing_written

PAT = "pat@northside.example"
QUINN = "quinn@riverside.example"
FRAN = "fran@northside.example"
CAROL = "carol@ccg.example"
AUDREY = "audrey@audit.example"
ADAM = "adam@ccg.example"

NORTHSIDE = "Northside GP Federation"
RIVERSIDE = "Riverside Community Care"
CCG = "NHS Sunderland CCG (demo)"
GENERAL_PRACTICE = "general-practice"
MENTAL_HEALTH = "mental-health-ld-autism"

VERSION = {
    "title": "Social prescribing for frailty, revised",
    "summary": "Link frail patients to community groups, with a named worker.",
    "body": "Each practice names a link worker who ...",
    "tags": ["frailty", "social prescribing"],
    "sensitivity": "alliance",
}


@pytest.fixture
def add_version(client: FlaskClient, auth) -> Callable[..., dict]:
    """A factory: post a new version of an idea as ``by``; return the response body."""

    def add(idea_id: str, by: str = PAT, expect: int = 201, **fields) -> dict:
        response = client.post(
            f"/api/v1/ideas/{idea_id}/versions", json={**VERSION, **fields}, headers=auth(by)
        )
        assert response.status_code == expect, response.json
        return response.json

    return add


@pytest.fixture
def withdraw(client: FlaskClient, auth) -> Callable[..., dict]:
    """A factory: withdraw an idea as ``by``; return the response body."""

    def withdraw_(
        idea_id: str, by: str = PAT, expect: int = 200, reason: str = "Superseded."
    ) -> dict:
        response = client.post(
            f"/api/v1/ideas/{idea_id}/withdraw", json={"reason": reason}, headers=auth(by)
        )
        assert response.status_code == expect, response.json
        return response.json

    return withdraw_


@pytest.fixture
def fetch(client: FlaskClient, auth) -> Callable[..., dict]:
    """A factory: GET an API path as ``by`` (CCG staff by default); return the body."""

    def get(path: str, by: str = CAROL, expect: int = 200, **query) -> dict:
        response = client.get(f"/api/v1{path}", query_string=query, headers=auth(by))
        assert response.status_code == expect, response.json
        return response.json

    return get


@pytest.fixture
def nothing_written(app: Flask) -> Callable[[], AbstractContextManager[None]]:
    """A factory: a block after which the ideas register holds exactly what it held before."""
    return lambda: _nothing_written(app)
