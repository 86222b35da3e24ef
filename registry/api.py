"""The HTTP API: the OpenAPI document, its viewer, and what every request must be."""

from __future__ import annotations

import json
import re
import uuid

from flask import Flask, current_app, g, request
from flask_smorest import Api

from registry.errors import APIError

JSON = "application/json"
ATTRIBUTE = "registry_accepts"
REQUEST_ID = "X-Request-ID"
# What a client may send as its request id: it is stored in the access log as given.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def assign_request_id() -> None:
    """Before every request: its id, the client's X-Request-ID if it sent a usable one,
    else a new UUID. The access log records it; every response returns it."""
    sent = request.headers.get(REQUEST_ID, "")
    g.request_id = sent if _REQUEST_ID.fullmatch(sent) else str(uuid.uuid4())


def return_request_id(response):
    if "request_id" in g:
        response.headers[REQUEST_ID] = g.request_id
    return response


def accepts(media_type: str):
    """Declare that a route's body is ``media_type`` rather than JSON."""

    def declare(view):
        setattr(view, ATTRIBUTE, media_type)
        return view

    return declare


def require_media_type() -> None:
    """Refuse request bodies of the wrong type with a 415 before any parsing."""
    if request.method not in {"POST", "PUT", "PATCH"} or not request.path.startswith("/api/"):
        return
    view = current_app.view_functions.get(request.endpoint or "")
    expected = getattr(view, ATTRIBUTE, JSON)
    if request.mimetype != expected:
        raise APIError(
            415,
            f"Send the request body as {expected}.",
            {
                "headers": {
                    "Content-Type": [f"Expected {expected}, got {request.mimetype or 'none'}."]
                }
            },
        )


# A JSON escape of a UTF-16 surrogate: legal JSON, and a lone one is no character at all.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


def refuse_lone_surrogates() -> None:
    """Refuse a JSON body holding a lone surrogate ("\\ud800") with a 422 naming the field.

    JSON lets one escape half of a UTF-16 pair on its own; the result is no Unicode
    character, so it could never be stored, signed or shown. Only bodies with such an
    escape (emoji are pairs of them) are parsed here; malformed JSON is left to the route's
    parser, which answers it.
    """
    if request.mimetype != JSON or request.method not in {"POST", "PUT", "PATCH"}:
        return
    raw = request.get_data(cache=True)
    if not _SURROGATE_ESCAPE.search(raw):
        return
    try:
        document = json.loads(raw)
    except ValueError:
        return
    where = _lone_surrogate(document, ())
    if where is not None:
        field = ".".join(where) or "body"
        message = "Text must be Unicode: a lone surrogate escape (\\ud800-\\udfff) is none."
        raise APIError(422, f"Invalid {field}: {message}", {"json": {field: [message]}})


def _lone_surrogate(value, path: tuple[str, ...]) -> tuple[str, ...] | None:
    """The path to the first string (key or value) that is not valid Unicode, or None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            # A key is named escaped: a lone surrogate cannot be sent back as text either.
            here = (*path, key.encode("utf-8", "backslashreplace").decode())
            found = _lone_surrogate(key, here) or _lone_surrogate(item, here)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _lone_surrogate(item, (*path, str(index)))
            if found is not None:
                return found
    return None


def create_api(app: Flask) -> Api:
    app.config.update(
        API_TITLE="Alliance Innovation Registry",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_REDOC_PATH="docs",
        OPENAPI_REDOC_URL="https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js",
        API_SPEC_OPTIONS={
            "info": {
                "description": (
                    "Timestamped, signed evidence of who owns which idea in the alliance. "
                    "Every call except the documents, health checks and key sets needs a "
                    "bearer access token. Request bodies are JSON, at most "
                    f"{app.config['MAX_CONTENT_LENGTH']} bytes; field limits are given in "
                    "each schema. Every error has the shape {code, status, message, errors}."
                )
            },
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                }
            },
            "security": [{"bearer": []}],
        },
    )
    api = Api(app)
    return api
