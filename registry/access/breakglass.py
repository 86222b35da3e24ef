"""Break-glass: an administrator reads one idea's content, having stated why.

The reason travels on the request, in the ``Break-Glass-Reason`` header. Only routes
that read one idea's content accept it, marked with :func:`breaks_glass`; every other
route refuses it (400), so it can never widen a list, a count or a search.
registry.access checks the header on every request (:func:`requested` before the
token, :func:`reason` after); the policy table decides what it opens
(``Relation.BREAK_GLASS`` in registry/access/policy.py), and the access log records
every read it alone allows, with the reason, for the idea's owner to see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from flask import current_app, request

from registry.errors import APIError

if TYPE_CHECKING:
    from registry.auth.principal import Principal

F = TypeVar("F", bound=Callable)

HEADER = "Break-Glass-Reason"
MIN_LENGTH = 10
MAX_LENGTH = 500  # the access log's reason column
ATTRIBUTE = "registry_breaks_glass"


def breaks_glass(view: F) -> F:
    """Mark a route that reads one idea's content (a version, an attachment)
    as one where an administrator may break glass. Put it beside ``@requires``; the
    route's service must record what it serves as ``IdeaRegister.version`` does (the
    policy's ``recorded``), or the read is off the record."""
    setattr(view, ATTRIBUTE, True)
    return view


def accepts(endpoint: str) -> bool:
    view = current_app.view_functions.get(endpoint)
    return getattr(view, ATTRIBUTE, False) is True


def requested(endpoint: str) -> bool:
    """Does the request break glass? Raises a 400 if it sends the header to a route
    that does not read one idea's content."""
    if HEADER not in request.headers:
        return False
    if not accepts(endpoint):
        message = (
            "Break-glass applies only to reading one idea's content (GET an idea, one of its "
            "versions or attachments); this route does not take the header."
        )
        raise APIError(400, message, {"headers": {HEADER: [message]}})
    return True


def reason(principal: Principal) -> str:
    """The reason ``principal`` stated in the header, once they are authenticated.

    Raises a 403 unless they are an administrator, and a 422 naming the header unless
    the reason is UTF-8 text of 10 to 500 printable characters (no control characters).
    """
    if not principal.is_admin:
        raise APIError(403, "Only administrators may break glass.")
    # WSGI hands header values over decoded as Latin-1: recover the UTF-8 the client sent.
    try:
        text = request.headers[HEADER].encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise _invalid("Send the reason as UTF-8 text.") from None
    text = text.strip(" ")
    if not MIN_LENGTH <= len(text) <= MAX_LENGTH:
        raise _invalid(f"State the reason in {MIN_LENGTH} to {MAX_LENGTH} characters.")
    if not text.isprintable():
        raise _invalid("The reason must be printable text, without control characters.")
    return text


def _invalid(message: str) -> APIError:
    return APIError(422, f"Invalid {HEADER} header: {message}", {"headers": {HEADER: [message]}})
