"""The one error shape: ``{"code", "status", "message", "errors"}``.

Every error the service returns, from validation to authentication to an
unexpected crash, is produced here.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


class APIError(HTTPException):
    """An error a service raises to refuse a request, with field-level detail.

    ``errors`` maps a request field name to a list of messages, as marshmallow
    does, so a client sees the same shape for every refusal.
    """

    def __init__(
        self,
        code: int,
        message: str,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(description=message)
        self.code = code
        self.errors = errors or {}
        self.extra_headers = headers or {}

    @property
    def name(self) -> str:  # the HTTP reason phrase for ``code``
        from http import HTTPStatus

        return HTTPStatus(self.code).phrase


def NotFound(what: str) -> APIError:  # noqa: N802 - reads as the exception it builds
    return APIError(404, f"{what} not found")


def Forbidden(message: str) -> APIError:  # noqa: N802
    return APIError(403, message)


def Invalid(field: str, message: str) -> APIError:  # noqa: N802
    # Under "json", where webargs puts the body's field errors, so clients read one layout.
    return APIError(422, f"Invalid {field}: {message}", {"json": {field: [message]}})


def _summary(code: int | None, errors: dict[str, Any]) -> str | None:
    """Say in one sentence what webargs/marshmallow found, naming the fields."""
    if not errors:
        return None
    location, found = next(iter(errors.items()))
    if isinstance(found, list):
        return " ".join(str(m) for m in found)
    if code != 422 or not isinstance(found, dict):
        return None
    where = "body" if location == "json" else location
    return f"Invalid {where}: check {', '.join(sorted(map(str, found)))}."


def error_response(error: HTTPException):
    data = getattr(error, "data", None) or {}
    errors = getattr(error, "errors", None) or data.get("errors") or data.get("messages") or {}
    # A service's own refusal already says what is wrong; only werkzeug's and webargs'
    # generic descriptions are replaced by a summary of the fields at fault.
    own = error.description if isinstance(error, APIError) else None
    message = data.get("message") or own or _summary(error.code, errors) or error.description
    payload = {"code": error.code, "status": error.name, "message": message, "errors": errors}
    response = jsonify(payload)
    response.status_code = error.code or 500
    # Keep what werkzeug adds for the status (Allow on 405, WWW-Authenticate on 401).
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    response.headers.update(getattr(error, "extra_headers", None) or data.get("headers") or {})
    return response


def _unexpected(error: Exception):
    # The traceback goes to the server log; the client learns nothing internal.
    log.exception("unhandled error", exc_info=error)
    return error_response(InternalServerError("The server could not complete the request."))


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, error_response)
    app.register_error_handler(Exception, _unexpected)
