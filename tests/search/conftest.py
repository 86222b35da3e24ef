"""The search tests run once per backend that can serve the suite's database: SQLite FTS5
on SQLite, PostgreSQL full-text search on PostgreSQL, and any backend that lives beside
either (Whoosh, when its extra is installed: `pip install 'registry[whoosh]'`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from registry.search import BACKENDS, backend_for
from tests.ip.checks import error_body

SEARCH = "/api/v1/search"
PAT = "pat@northside.example"  # Northside GP Federation
FRAN = "fran@northside.example"  # Northside, and the General Practice forum
QUINN = "quinn@riverside.example"  # Riverside Community Care
CAROL = "carol@ccg.example"  # CCG staff
AUDREY = "audrey@audit.example"  # auditor
ADAM = "adam@ccg.example"  # administrator


def _backends() -> list[str]:
    database = os.environ.get("REGISTRY_TEST_DATABASE_URL") or "sqlite://"
    usable = []
    for name in BACKENDS:
        try:
            backend_for(database, name)
        except ValueError:
            continue
        usable.append(name)
    return usable


# Whoosh is the optional backend, and its commits are slow (a few hundred ms): its runs of
# the leak and hostile-query suites take minutes, so `make test` makes them only when
# REGISTRY_TEST_WHOOSH_FULL=1 (`make test-whoosh`). Its contract suite, its own outbox,
# concurrency and marker-scan tests (test_whoosh.py) always run; so does the marker scan
# on the SQLite run. What differs on PostgreSQL, the hits' expansion, is in the contract.
WHOOSH_FULL = "REGISTRY_TEST_WHOOSH_FULL"
FULL_ONLY = {"test_leaks.py": "always", "test_hostile.py": "always", "test_marker_scan.py": "pg"}


def pytest_collection_modifyitems(config, items) -> None:
    if os.environ.get(WHOOSH_FULL) == "1":
        return
    on_postgresql = os.environ.get("REGISTRY_TEST_DATABASE_URL", "").startswith("postgresql")
    skip = pytest.mark.skip(reason=f"Whoosh: its full run needs {WHOOSH_FULL}=1 (make test-whoosh)")
    for item in items:
        spec = getattr(item, "callspec", None)
        when = FULL_ONLY.get(item.path.name)
        if spec is None or spec.params.get("app") != "whoosh" or when is None:
            continue
        if when == "always" or on_postgresql:
            item.add_marker(skip)


@pytest.fixture(scope="session", params=_backends())
def app(request, app: Flask, make_app) -> Flask:
    """The suite's app if it searches with this backend, else one on the same database
    that does."""
    if app.config["REGISTRY"]["SEARCH_BACKEND"] == request.param:
        return app
    return make_app(SEARCH_BACKEND=request.param)


@pytest.fixture(autouse=True)
def whoosh_rolls_back_too(app: Flask) -> Iterator[None]:
    """Whoosh's index is a folder the test's rollback does not reach: emptied after each
    test, so the next starts from an index that agrees with its database."""
    yield
    backend = app.extensions["registry.search"].backend
    if backend.name == "whoosh":
        backend.clear()


@pytest.fixture
def backend(app: Flask) -> str:
    return app.extensions["registry.search"].backend.name


@pytest.fixture
def find(client: FlaskClient, auth) -> Callable[..., dict]:
    """A factory: GET the search as ``by`` (None: without a token) and return the body;
    with another ``expect``, assert an error in the one shape and return it."""

    def get(by: str | None = PAT, expect: int = 200, **params) -> dict:
        headers = auth(by) if by else {}
        response = client.get(SEARCH, query_string=params, headers=headers)
        if expect != 200:
            return error_body(response, expect)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.json

    return get


def titles(page: dict) -> list[str]:
    return [item["title"] for item in page["items"]]


def ids(page: dict) -> list[str]:
    return [item["id"] for item in page["items"]]
