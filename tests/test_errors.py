"""One error shape, ``{"code", "status", "message", "errors"}``, for every error."""

from __future__ import annotations

import io
import json
import logging
import uuid

import pytest
from flask import Flask, abort

from registry.access import public
from registry.errors import APIError, Invalid
from tests.ip.checks import error_body, nothing_written

PAT = "pat@northside.example"
IDEA = {
    "title": "Frailty link workers",
    "summary": "Link workers for frail patients.",
    "body": "Each practice refers frail patients to a link worker.",
    "tags": ["frailty"],
    "sensitivity": "commercial",
    "origin": "provider",
}


# -- routing ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nowhere", "/api/v1/nowhere", "/api/v2/ideas", "/api/v1/"])
def test_an_unknown_route_is_404(client, path):
    body = error_body(client.get(path), 404)
    assert body["errors"] == {}


def test_an_unknown_idea_is_404(client, auth):
    body = error_body(client.get(f"/api/v1/ideas/{uuid.uuid4()}", headers=auth(PAT)), 404)
    assert body["message"] == "Idea not found"


def test_an_id_that_is_not_a_uuid_is_404(client, auth):
    error_body(client.get("/api/v1/ideas/12345", headers=auth(PAT)), 404)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/v1/ideas", {"GET", "HEAD", "OPTIONS", "POST"}),
        ("DELETE", "/api/v1/ideas/{id}", {"GET", "HEAD", "OPTIONS"}),
        ("GET", "/api/v1/ideas/{id}/withdraw", {"OPTIONS", "POST"}),
        ("POST", "/healthz", {"GET", "HEAD", "OPTIONS"}),
    ],
)
def test_a_method_the_route_lacks_is_405_with_allow(client, auth, method, path, allowed):
    url = path.format(id=uuid.uuid4())
    response = client.open(url, method=method, headers=auth(PAT))
    error_body(response, 405)
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed


# -- authentication and permission -------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic cGF0OnNlY3JldA=="}],
)
def test_no_valid_token_is_401_with_a_challenge(client, headers):
    response = client.get("/api/v1/me", headers=headers)
    body = error_body(response, 401)
    assert body["errors"] == {}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_refusal_by_the_policy_is_403(client, auth, app):
    with nothing_written(app):
        response = client.post("/api/v1/ideas", json=IDEA, headers=auth("audrey@audit.example"))
        body = error_body(response, 403)
    assert "idea:submit" in body["message"]


# -- what a request body must be ---------------------------------------------------


def _post(client, headers, **kwargs):
    return client.post("/api/v1/ideas", headers=headers, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "got"),
    [
        ({"data": IDEA}, "application/x-www-form-urlencoded"),
        ({"data": json.dumps(IDEA), "content_type": "text/plain"}, "text/plain"),
        ({"data": json.dumps(IDEA)}, "none"),
        ({"data": json.dumps(IDEA), "content_type": "application/xml"}, "application/xml"),
        (
            {"data": {"file": (io.BytesIO(b"{}"), "idea.json")}},
            "multipart/form-data",
        ),
    ],
    ids=["form", "text", "no type", "xml", "multipart"],
)
def test_a_body_that_is_not_json_is_415(client, auth, app, kwargs, got):
    with nothing_written(app):
        body = error_body(_post(client, auth(PAT), **kwargs), 415)
    assert body["errors"] == {
        "headers": {"Content-Type": [f"Expected application/json, got {got}."]}
    }
    assert "application/json" in body["message"]


def test_json_with_a_charset_is_json(client, auth):
    response = _post(
        client,
        auth(PAT),
        data=json.dumps(IDEA),
        content_type="application/json; charset=utf-8",
    )
    assert response.status_code == 201


@pytest.mark.parametrize("text", ["{bad", '{"title": "unterminated', "[1, 2", "\xff\xfe"])
def test_malformed_json_is_400(client, auth, app, text):
    with nothing_written(app):
        response = _post(
            client, auth(PAT), data=text.encode("latin-1"), content_type="application/json"
        )
        body = error_body(response, 400)
    assert list(body["errors"]) == ["json"]


def test_a_body_over_the_limit_is_413(client, auth, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    oversize = json.dumps({**IDEA, "body": "x" * limit})
    assert len(oversize) > limit
    with nothing_written(app):
        body = error_body(
            _post(client, auth(PAT), data=oversize, content_type="application/json"), 413
        )
    assert body["errors"] == {}


def test_the_body_limit_is_configuration(make_app, auth):
    small = make_app(MAX_CONTENT_LENGTH=1024)
    client = small.test_client()
    error_body(
        client.post(
            "/api/v1/ideas",
            data=json.dumps({**IDEA, "body": "x" * 1024}),
            content_type="application/json",
            headers=auth(PAT),
        ),
        413,
    )


def test_wrong_types_are_422_naming_each_field(client, auth, app):
    payload = {**IDEA, "title": 1, "tags": "frailty", "sensitivity": ["public"], "extra": True}
    with nothing_written(app):
        body = error_body(_post(client, auth(PAT), json=payload), 422)
    assert set(body["errors"]["json"]) == {"title", "tags", "sensitivity", "extra"}
    for field in ("title", "tags", "sensitivity", "extra"):
        assert field in body["message"]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('"title": "x\\ud800y"', "title"),  # a lone high surrogate
        ('"summary": "\\uDC00"', "summary"),  # a lone low one, upper-case hex
        ('"tags": ["ok", "\\ud83d"]', "tags.1"),
        ('"title": "t", "\\udfff": 1', r"\udfff"),  # in a key: named escaped
    ],
)
def test_a_lone_surrogate_is_422_naming_the_field(client, auth, app, text, field):
    document = json.dumps(IDEA)[:-1] + ", " + text + "}"
    with nothing_written(app):
        body = error_body(
            _post(client, auth(PAT), data=document, content_type="application/json"), 422
        )
    assert list(body["errors"]["json"]) == [field]
    assert "surrogate" in body["message"]


def test_a_surrogate_pair_is_text(client, auth):
    # An emoji escaped as its UTF-16 pair is one character, stored as sent.
    document = json.dumps({**IDEA, "title": "Falls \U0001f6b6 clinic"}, ensure_ascii=True)
    assert "\\ud83d\\udeb6" in document
    response = _post(client, auth(PAT), data=document, content_type="application/json")
    assert response.status_code == 201, response.json
    assert response.json["title"] == "Falls \U0001f6b6 clinic"


def test_a_json_array_is_422(client, auth, app):
    with nothing_written(app):
        body = error_body(_post(client, auth(PAT), json=[IDEA]), 422)
    assert body["errors"] == {"json": {"_schema": ["Invalid input type."]}}


def test_a_service_refusal_names_the_field_in_message_and_errors(client, auth, directory, app):
    with nothing_written(app):
        response = _post(
            client, auth(PAT), json={**IDEA, "owner": directory["NHS Sunderland CCG (demo)"]}
        )
        body = error_body(response, 422)
    assert list(body["errors"]["json"]) == ["owner"]
    assert body["message"].startswith("Invalid owner: ")
    assert body["message"].endswith(body["errors"]["json"]["owner"][0])


def test_a_conflict_is_409(client, auth, make_idea):
    idea = make_idea()
    url = f"/api/v1/ideas/{idea['id']}/withdraw"
    assert client.post(url, json={"reason": "Done."}, headers=auth(PAT)).status_code == 200
    body = error_body(client.post(url, json={"reason": "Done."}, headers=auth(PAT)), 409)
    assert body["errors"] == {}


# -- the unexpected ------------------------------------------------------------------


@pytest.fixture
def crashing_app(make_app) -> Flask:
    """An app with public routes that fail in ways the service does not plan for."""
    app = make_app()

    @app.get("/crash")
    @public
    def crash():
        raise RuntimeError("database password is hunter2 at /srv/secret/path.py")

    @app.get("/aborts/<int:status>")
    @public
    def aborts(status: int):
        abort(status)

    @app.get("/refuses")
    @public
    def refuses():
        raise APIError(429, "Slow down.", {"rate": ["10 a minute"]}, {"Retry-After": "60"})

    @app.get("/invalid")
    @public
    def invalid():
        raise Invalid("thing", "It is wrong.")

    return app


def test_an_unexpected_error_is_500_and_tells_nothing_internal(crashing_app, caplog):
    with caplog.at_level(logging.ERROR, logger="registry.errors"):
        response = crashing_app.test_client().get("/crash")
    body = error_body(response, 500)
    assert body == {
        "code": 500,
        "status": "Internal Server Error",
        "message": "The server could not complete the request.",
        "errors": {},
    }
    text = response.get_data(as_text=True)
    for leak in ("hunter2", "RuntimeError", "Traceback", "secret", ".py"):
        assert leak not in text
    # ... while the server log keeps the whole story.
    assert "hunter2" in caplog.text
    assert "Traceback" in caplog.text


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 429, 500, 501, 503])
def test_every_werkzeug_error_has_the_shape(crashing_app, status):
    error_body(crashing_app.test_client().get(f"/aborts/{status}"), status)


def test_an_api_error_keeps_its_details_and_headers(crashing_app):
    response = crashing_app.test_client().get("/refuses")
    body = error_body(response, 429)
    assert body["message"] == "Slow down."
    assert body["errors"] == {"rate": ["10 a minute"]}
    assert response.headers["Retry-After"] == "60"


def test_invalid_names_the_field(crashing_app):
    body = error_body(crashing_app.test_client().get("/invalid"), 422)
    assert body == {
        "code": 422,
        "status": "Unprocessable Entity",
        "message": "Invalid thing: It is wrong.",
        "errors": {"json": {"thing": ["It is wrong."]}},
    }
