"""The one place that decides who may do what.

Every route declares a :class:`Permission` with :func:`requires` (or
:func:`public`). A request to a route that declares nothing is refused: deny
by default. Services ask :func:`require` about the object they act on. Routes
that read one idea's content are also marked with :func:`breaks_glass`: there alone
an administrator may state a reason to read it (registry/access/breakglass.py).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from flask import current_app, g, request

from registry.access import breakglass
from registry.access.breakglass import breaks_glass as breaks_glass  # routes mark with it
from registry.errors import APIError

if TYPE_CHECKING:
    import uuid
    from collections.abc import Collection

    from registry.auth.principal import Principal
    from registry.ip.models import Idea

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable)

ATTRIBUTE = "registry_permission"
# Routes other packages register for us: Flask's static files, the OpenAPI document
# and its viewer. Matched exactly (static) or by blueprint: a prefix such as "static"
# would also open an undeclared "static_pages" route.
PUBLIC_ENDPOINTS = frozenset({"static"})
PUBLIC_BLUEPRINTS = ("api-docs.",)


class Permission(enum.StrEnum):
    PUBLIC = "public"
    DIRECTORY_READ = "directory:read"
    IDEA_SUBMIT = "idea:submit"
    IDEA_LIST = "idea:list"
    IDEA_READ = "idea:read"
    IDEA_ADD_VERSION = "idea:add-version"
    IDEA_WITHDRAW = "idea:withdraw"
    IDEA_SHRED = "idea:shred"
    IDEA_GRANT = "idea:grant"  # share an idea, list and revoke its grants
    ACCESS_LOG_READ = "idea:read-access-log"
    RECEIPT_READ = "receipt:read"
    LOG_READ = "log:read"
    TSA_USE = "tsa:use"
    RECEIPT_VERIFY = "receipt:verify"


def requires(permission: Permission) -> Callable[[F], F]:
    def declare(view: F) -> F:
        setattr(view, ATTRIBUTE, permission)
        return view

    return declare


public = requires(Permission.PUBLIC)


def declared_permission(endpoint: str) -> Permission | None:
    if endpoint in PUBLIC_ENDPOINTS or endpoint.startswith(PUBLIC_BLUEPRINTS):
        return Permission.PUBLIC
    view = current_app.view_functions.get(endpoint)
    return getattr(view, ATTRIBUTE, None)


def current_principal() -> Principal:
    return g.principal


def authenticate_request() -> None:
    """Before every request: find the route's permission, then the caller."""
    if request.endpoint is None:  # routing failed: let the 404/405 answer
        return
    permission = declared_permission(request.endpoint)
    if permission is None:
        log.error("refused: route %s declares no permission", request.endpoint)
        raise APIError(403, "This route declares no permission and is closed.")
    breaking_glass = breakglass.requested(request.endpoint)
    if permission is Permission.PUBLIC:
        return
    # Breaking glass needs a token, even where reading without one is allowed.
    if (
        permission in ANONYMOUS_ALLOWED
        and "Authorization" not in request.headers
        and not breaking_glass
    ):
        from registry.auth.principal import Principal

        g.principal = Principal.anonymous()
        return
    from authlib.oauth2 import OAuth2Error

    from registry.auth.protect import principal_for

    protector = current_app.extensions["registry.protector"]
    try:
        token = protector.acquire_token()
    except OAuth2Error as error:
        protector.raise_error_response(error)
    g.principal = principal_for(token)
    require(g.principal, permission)
    if breaking_glass:
        g.principal = replace(g.principal, break_glass=breakglass.reason(g.principal))


# Routes whose answer depends on what the idea's sensitivity lets anyone read:
# without a token the caller is anonymous and sees published ideas only.
ANONYMOUS_ALLOWED = frozenset({Permission.IDEA_LIST, Permission.IDEA_READ, Permission.RECEIPT_READ})


def can(principal: Principal, permission: Permission) -> bool:
    """May ``principal`` use a route that needs ``permission``? What they may do with a
    particular idea is then decided by the policy table (registry/access/policy.py)."""
    if permission is Permission.PUBLIC or permission in ANONYMOUS_ALLOWED:
        return True
    if principal.is_anonymous:
        return False
    if permission in {
        Permission.DIRECTORY_READ,
        Permission.LOG_READ,
        Permission.TSA_USE,
        Permission.RECEIPT_VERIFY,
    }:
        return True
    if permission is Permission.IDEA_SUBMIT:
        return bool(principal.provider_organisation_ids or principal.group_ids)
    if permission in {
        Permission.IDEA_ADD_VERSION,
        Permission.IDEA_WITHDRAW,
        Permission.IDEA_SHRED,
        Permission.IDEA_GRANT,
        Permission.ACCESS_LOG_READ,
    }:
        # Could this principal act as the owner of any idea?
        return bool(
            principal.provider_organisation_ids or principal.group_ids or principal.is_ccg_staff
        )
    return False


def require(principal: Principal, permission: Permission) -> None:
    """Raise a 403 unless :func:`can` allows it."""
    if not can(principal, permission):
        raise APIError(403, f"You do not have permission for {permission.value}.")


class AccessRefusedError(APIError):
    """A refusal of an action on an idea that exists. The access log records every one
    (registry/accesslog/views.py) before the answer goes out."""

    def __init__(self, code: int, message: str, idea_id: uuid.UUID):
        super().__init__(code, message)
        self.idea_id = idea_id


def require_on(
    principal: Principal, action, idea: Idea, sensitivity, granted: Collection[uuid.UUID] = ()
) -> None:
    """Raise :class:`AccessRefusedError` unless the policy table allows ``action`` on
    ``idea``: a 404 when the principal may not even know the idea exists, a 403 when they
    may. ``granted``: the ideas shared with the principal (grants.models.shared_with)."""
    from registry.access import policy

    allowed = policy.actions(principal, idea, sensitivity, granted)
    if action in allowed:
        return
    if policy.Action.LIST not in allowed:
        raise AccessRefusedError(404, "Idea not found", idea.id)
    raise AccessRefusedError(
        403, f"You may not {action.value.replace('-', ' ')} this idea.", idea.id
    )
