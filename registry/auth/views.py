from __future__ import annotations

from flask import Blueprint, current_app, url_for

from registry.access import public
from registry.auth.keys import public_jwks
from registry.auth.models import SECRET_AUTH_METHODS

bp = Blueprint("oauth", __name__)


@bp.post("/oauth/token")
@public
def token():
    """OAuth 2.0 token endpoint: client-credentials grant for registered service clients."""
    return current_app.extensions["registry.authorization_server"].create_token_response()


@bp.get("/.well-known/oauth-authorization-server")
@public
def metadata():
    """RFC 8414 authorization server metadata."""
    config = current_app.config
    return {
        "issuer": config["ISSUER"],
        "token_endpoint": config["ISSUER"] + url_for("oauth.token"),
        "jwks_uri": config["ISSUER"] + url_for("oauth.jwks"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": sorted(SECRET_AUTH_METHODS),
        "response_types_supported": [],
        "scopes_supported": [],
        "service_documentation": config["ISSUER"] + "/api/v1/docs",
    }


@bp.get("/.well-known/jwks.json")
@public
def jwks():
    """The public keys that verify this registry's access tokens."""
    return public_jwks(current_app.extensions["registry.token_keys"])
