"""Every route declares what it needs; a route that declares nothing is closed."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from registry.access import Permission, declared_permission, public, requires
from tests.ip.checks import error_body

# What each route of the service needs. A new route must be added here on purpose.
EXPECTED = {
    "api-docs.openapi_json": Permission.PUBLIC,
    "api-docs.openapi_redoc": Permission.PUBLIC,
    "alliance.list_organisations": Permission.DIRECTORY_READ,
    "alliance.list_groups": Permission.DIRECTORY_READ,
    "alliance.me": Permission.DIRECTORY_READ,
    "ideas.submit": Permission.IDEA_SUBMIT,
    "ideas.list_ideas": Permission.IDEA_LIST,
    "ideas.get_idea": Permission.IDEA_READ,
    "ideas.get_version": Permission.IDEA_READ,
    "ideas.add_version": Permission.IDEA_ADD_VERSION,
    "ideas.withdraw": Permission.IDEA_WITHDRAW,
    "health.healthz": Permission.PUBLIC,
    "health.readyz": Permission.PUBLIC,
    "ideas.get_receipt": Permission.RECEIPT_READ,
    "evidence.keys": Permission.PUBLIC,
    "evidence.log_key": Permission.PUBLIC,
    "evidence.checkpoint": Permission.PUBLIC,
    "evidence.tsa_certificates": Permission.PUBLIC,
    "evidence.inclusion": Permission.LOG_READ,
    "evidence.consistency": Permission.LOG_READ,
    "evidence.entries": Permission.LOG_READ,
    "evidence.timestamp": Permission.TSA_USE,
    "grants.grant": Permission.IDEA_GRANT,
    "grants.list_grants": Permission.IDEA_GRANT,
    "grants.revoke": Permission.IDEA_GRANT,
    "grants.get_receipt": Permission.IDEA_GRANT,
    "accesslog.access_log": Permission.ACCESS_LOG_READ,
    # Attaching is adding to a version (the owner's side); reading one is reading the body,
    # also without a token for published ideas.
    "attachments.attach": Permission.IDEA_ADD_VERSION,
    "attachments.list_attachments": Permission.IDEA_READ,
    "attachments.download": Permission.IDEA_READ,
    "attachments.get_receipt": Permission.RECEIPT_READ,
}


def _endpoints(app: Flask) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint != "static"}


def test_every_route_declares_a_permission(app: Flask):
    with app.app_context():
        undeclared = sorted(e for e in _endpoints(app) if declared_permission(e) is None)
        assert undeclared == []
        for endpoint in _endpoints(app):
            assert isinstance(declared_permission(endpoint), Permission)


def test_the_routes_of_the_register_declare_what_they_need(app: Flask):
    with app.app_context():
        assert {e: declared_permission(e) for e in EXPECTED} == EXPECTED


# Blueprints whose routes are open to anyone. Opening another one is a decision: add it here.
PUBLIC_BLUEPRINTS = {"api-docs", "evidence", "health", "oauth"}


def test_only_the_documents_health_checks_and_oauth_are_public(app: Flask):
    with app.app_context():
        public_endpoints = {
            e for e in _endpoints(app) if declared_permission(e) is Permission.PUBLIC
        }
    assert {e.split(".")[0] for e in public_endpoints} == PUBLIC_BLUEPRINTS


@pytest.fixture
def throwaway_app(make_app) -> Flask:
    """A fresh app, to which a test may add routes before its first request."""
    return make_app()


@pytest.mark.parametrize("endpoint", ["undeclared", "statistics", "static_pages", "api-docsx"])
def test_a_route_that_declares_nothing_is_refused(throwaway_app, auth, endpoint):
    # Named to look like the routes other packages register for us, too.
    throwaway_app.add_url_rule(
        f"/api/v1/{endpoint}", endpoint=endpoint, view_func=lambda: {"secret": True}
    )
    client = throwaway_app.test_client()
    for headers in ({}, auth("adam@ccg.example")):
        response = client.get(f"/api/v1/{endpoint}", headers=headers)
        body = error_body(response, 403)
        assert "declares no permission" in body["message"]
        assert "secret" not in response.get_data(as_text=True)
    with throwaway_app.app_context():
        assert declared_permission(endpoint) is None


def test_a_declared_route_is_open_to_whom_it_names(throwaway_app, auth):
    throwaway_app.add_url_rule("/open", endpoint="open", view_func=public(lambda: {"open": True}))
    throwaway_app.add_url_rule(
        "/submitters",
        endpoint="submitters",
        view_func=requires(Permission.IDEA_SUBMIT)(lambda: {"submit": True}),
    )
    client = throwaway_app.test_client()
    assert client.get("/open").json == {"open": True}
    error_body(client.get("/submitters"), 401)
    error_body(client.get("/submitters", headers=auth("audrey@audit.example")), 403)
    assert client.get("/submitters", headers=auth("pat@northside.example")).json == {"submit": True}


# -- the OpenAPI document --------------------------------------------------------


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/api/v1/docs"])
def test_the_documents_are_public(client, path):
    assert client.get(path).status_code == 200


def test_the_openapi_document_lists_every_api_route(app: Flask, client):
    spec = client.get("/api/v1/openapi.json").json
    documents = {"/api/v1/openapi.json", "/api/v1/docs"}
    expected: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.rule not in documents:
            methods = {m.lower() for m in rule.methods} - {"head", "options"}
            expected.setdefault(_openapi_path(rule.rule), set()).update(methods)
    assert expected, "no API routes found"
    documented = {
        path: set(operations) - {"parameters"} for path, operations in spec["paths"].items()
    }
    assert documented == expected


def test_the_openapi_document_describes_the_error_shape(client):
    spec = client.get("/api/v1/openapi.json").json
    assert set(spec["components"]["schemas"]["Error"]["properties"]) == {
        "code",
        "status",
        "message",
        "errors",
    }
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert spec["security"] == [{"bearer": []}]
