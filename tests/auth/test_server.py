"""The registry as its own OAuth 2.0 authorization server: the client-credentials grant."""

from __future__ import annotations

import base64

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from registry.auth.models import ServiceClient
from registry.db import db, utcnow
from tests.auth.conftest import ClientCredentials, b64url_decode, bearer

TOKEN = "/oauth/token"


def basic(client_id: str, secret: str) -> dict[str, str]:
    pair = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


@pytest.fixture
def request_token(client):
    """A factory: ask the token endpoint with client_secret_basic or client_secret_post."""

    def ask(credentials, method: str = "client_secret_basic", **form):
        form = {"grant_type": "client_credentials", **form}
        if method == "client_secret_basic":
            headers = basic(credentials.client_id, credentials.client_secret)
        else:
            headers = {}
            form |= {
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret,
            }
        return client.post(TOKEN, data=form, headers=headers)

    return ask


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_service_client_obtains_a_token_that_speaks_for_its_organisation(
    client, make_service_client, request_token, directory, method
):
    credentials = make_service_client(organisation="DEMO1", name="Northside EPR")
    response = request_token(credentials, method)
    assert response.status_code == 200, response.json
    assert response.json["token_type"] == "Bearer"
    assert response.json["expires_in"] == 900
    assert "refresh_token" not in response.json
    assert response.headers["Cache-Control"] == "no-store"

    me = client.get("/api/v1/me", headers=bearer(response.json["access_token"]))
    assert me.status_code == 200, me.json
    assert me.json["client_id"] == credentials.client_id
    assert me.json["email"] is None
    assert me.json["display_name"].startswith("Northside EPR (service client of")
    assert me.json["memberships"] == [
        {
            "organisation": directory["Northside GP Federation"],
            "organisation_name": "Northside GP Federation",
            "role": "member",
        }
    ]


def test_access_token_is_an_rfc9068_jwt_signed_with_the_published_key(
    app, client, make_service_client, request_token
):
    credentials = make_service_client()
    token = request_token(credentials).json["access_token"]
    published = client.get("/.well-known/jwks.json").json

    header = b64url_decode(token.split(".")[0])
    assert header == {"typ": "at+jwt", "alg": "ES256", "kid": published["keys"][0]["kid"]}

    verified = jwt.decode(token, KeySet.import_key_set(published), algorithms=["ES256"])
    claims = verified.claims
    assert claims["iss"] == app.config["ISSUER"] == "http://registry.test"
    assert claims["aud"] == "urn:alliance-registry:api"
    assert claims["sub"] == claims["client_id"] == credentials.client_id
    assert claims["exp"] - claims["iat"] == app.config["REGISTRY"]["ACCESS_TOKEN_TTL"]
    assert isinstance(claims["jti"], str)
    assert len(claims["jti"]) >= 16
    again = jwt.decode(
        request_token(credentials).json["access_token"], KeySet.import_key_set(published)
    )
    assert again.claims["jti"] != claims["jti"]


def test_token_lifetime_comes_from_configuration(make_app, make_service_client):
    short = make_app(ACCESS_TOKEN_TTL=60).test_client()
    credentials = make_service_client()
    response = short.post(
        TOKEN,
        data={"grant_type": "client_credentials"},
        headers=basic(credentials.client_id, credentials.client_secret),
    )
    assert response.json["expires_in"] == 60
    claims = b64url_decode(response.json["access_token"].split(".")[1])
    assert claims["exp"] - claims["iat"] == 60


def assert_oauth_error(response, status: int, error: str) -> None:
    """The registry's error shape, with the OAuth ``error`` field clients read."""
    assert response.status_code == status, response.json
    body = response.json
    assert body["code"] == status
    assert body["status"] == {400: "Bad Request", 401: "Unauthorized"}[status]
    assert isinstance(body["message"], str)
    assert body["message"]
    assert body["errors"] == {}
    assert body["error"] == error
    assert "access_token" not in body
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_wrong_secret_is_refused(make_service_client, request_token, method):
    credentials = make_service_client()
    wrong = ClientCredentials(credentials.client_id, credentials.client_secret + "x")
    response = request_token(wrong, method)
    assert_oauth_error(response, 401, "invalid_client")
    if method == "client_secret_basic":
        assert response.headers["WWW-Authenticate"].startswith("Basic ")


@pytest.mark.parametrize(
    "case", ["unknown-client", "another-clients-secret", "empty-secret", "no-credentials"]
)
def test_clients_that_cannot_authenticate_are_refused(
    client, make_service_client, request_token, case
):
    northside = make_service_client(organisation="DEMO1")
    riverside = make_service_client(organisation="DEMO2", name="Riverside rota")
    credentials = {
        "unknown-client": ClientCredentials("svc-0000000000000000", northside.client_secret),
        "another-clients-secret": ClientCredentials(northside.client_id, riverside.client_secret),
        "empty-secret": ClientCredentials(northside.client_id, ""),
    }.get(case)
    if credentials is None:
        response = client.post(TOKEN, data={"grant_type": "client_credentials"})
    else:
        response = request_token(credentials)
    assert_oauth_error(response, 401, "invalid_client")


def test_secret_in_the_query_string_is_refused(client, make_service_client):
    credentials = make_service_client()
    query = f"client_id={credentials.client_id}&client_secret={credentials.client_secret}"
    response = client.post(f"{TOKEN}?{query}", data={"grant_type": "client_credentials"})
    assert_oauth_error(response, 401, "invalid_client")


def test_revoked_client_gets_no_token_and_its_tokens_stop_working(
    app, client, make_service_client, request_token
):
    credentials = make_service_client()
    token = request_token(credentials).json["access_token"]
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    with app.app_context():
        stored = db.session.scalar(
            select(ServiceClient).where(ServiceClient.client_id == credentials.client_id)
        )
        stored.revoked_at = utcnow()
        db.session.commit()

    r = request_token(credentials)
    print(r.json)
    assert_oauth_error(r, 400, "unauthorized_client")
    refused = client.get("/api/v1/me", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.json["message"] == "invalid access token: unknown service client"


@pytest.mark.parametrize(
    "grant_type",
    ["password", "authorization_code", "refresh_token", "implicit", "urn:alliance-registry:demo"],
)
def test_unsupported_grant_types_are_refused(make_service_client, request_token, grant_type):
    credentials = make_service_client()
    response = request_token(credentials, grant_type=grant_type, username="pat", password="x")
    assert_oauth_error(response, 400, "unsupported_grant_type")
    assert response.json["message"] == "The only grant_type is client_credentials."


def test_token_endpoint_takes_only_post(client, make_service_client):
    credentials = make_service_client()
    response = client.get(
        TOKEN + "?grant_type=client_credentials",
        headers=basic(credentials.client_id, credentials.client_secret),
    )
    assert response.status_code == 405
    assert response.json["code"] == 405


def test_metadata_is_public_and_describes_this_server(client):
    response = client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    assert response.json == {
        "issuer": "http://registry.test",
        "token_endpoint": "http://registry.test/oauth/token",
        "jwks_uri": "http://registry.test/.well-known/jwks.json",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": [],
        "scopes_supported": [],
        "service_documentation": "http://registry.test/api/v1/docs",
    }


def test_jwks_is_public_and_holds_only_the_public_signing_key(app, client):
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    (key,) = response.json["keys"]
    signing_key = app.extensions["registry.token_keys"].keys[0]
    assert key == {
        "kty": "EC",
        "crv": "P-256",
        "alg": "ES256",
        "use": "sig",
        "kid": signing_key.thumbprint(),
        "x": signing_key.as_dict()["x"],
        "y": signing_key.as_dict()["y"],
    }
    assert "d" not in key
