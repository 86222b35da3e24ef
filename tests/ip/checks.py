"""Assertions shared by the tests of the ideas register and of the error shape."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus

from flask import Flask
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from registry.db import db
from registry.ip.models import Derivation, Idea, IdeaVersion, VersionTag

ERROR_KEYS = {"code", "status", "message", "errors"}


def error_body(response: TestResponse, status: int) -> dict:
    """Assert ``response`` is an error in the one shape, with this status; return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == ERROR_KEYS, body
    assert body["code"] == status
    assert body["status"] == HTTPStatus(status).phrase
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["errors"], dict)
    return body


def stored_rows(app: Flask) -> dict[str, int]:
    """How many rows the ideas register holds, table by table."""
    with app.app_context():
        return {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Idea, IdeaVersion, VersionTag, Derivation)
        }


@contextmanager
def nothing_written(app: Flask) -> Iterator[None]:
    """Assert the block leaves the ideas register as it found it."""
    before = stored_rows(app)
    yield
    assert stored_rows(app) == before
