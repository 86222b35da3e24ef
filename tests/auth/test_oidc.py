"""External OpenID Connect issuers: configuration, and their tokens over a loopback JWKS."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from joserfc.errors import InvalidKeyIdError
from joserfc.jwk import KeySet, RSAKey

from registry import config as configuration
from registry.alliance.models import Role
from registry.alliance.services import person_by_email
from registry.auth import oidc
from registry.auth.oidc import ExternalIssuer, JWKSCache, parse_issuers
from registry.config import ConfigError
from tests.auth.conftest import JWKSServer, b64url, bearer, rsa_key, sign_with

NORTHSIDE_TENANT = "4f0c6a8e-2b7d-4c1e-9a55-1d3e0b6f7a21"
RIVERSIDE_TENANT = "b2e91c47-8d30-4f6a-a0c2-5e7f19d84b63"
STRANGER_TENANT = "0d6e3f58-91a4-4b27-8c1d-a7f2e4b95c10"
ENTRA_ISSUER = f"https://login.microsoftonline.com/{NORTHSIDE_TENANT}/v2.0"
# In Entra v2 access tokens, aud is the application (client) id of the API.
ENTRA_AUDIENCE = "0f9a3c1e-5b7d-4e2a-8c6f-1d2b3a4c5e6f"
ENTRA_CLIENT_ID = "6731de76-14a6-49ae-97bc-6eba6914391e"
GENERIC_ISSUER = "https://idp.riverside.example"
GENERIC_AUDIENCE = "urn:alliance-registry:api"


def entra_issuer(jwks_url: str, **settings) -> dict[str, Any]:
    return {
        "issuer": ENTRA_ISSUER,
        "audience": ENTRA_AUDIENCE,
        "jwks_url": jwks_url,
        "profile": "entra",
        "organisations": {NORTHSIDE_TENANT: "DEMO1", RIVERSIDE_TENANT: "DEMO2"},
        "roles": {"Registry.Auditor": "auditor", "Registry.Member": "member"},
        **settings,
    }


def generic_issuer(jwks_url: str, **settings) -> dict[str, Any]:
    return {
        "issuer": GENERIC_ISSUER,
        "audience": GENERIC_AUDIENCE,
        "jwks_url": jwks_url,
        "organisation_claim": "org",
        "organisations": {"riverside": "DEMO2"},
        "roles_claim": "groups",
        "roles": {"registry-staff": "ccg_staff"},
        **settings,
    }


def entra_claims(exp_in: int = 3600, nbf_in: int = 0, **overrides) -> dict[str, Any]:
    """An Entra ID v2 access token for the registry's API, as Entra issues it.

    ``exp_in`` and ``nbf_in`` are seconds from now; a claim given as ``None`` is left out.
    """
    now = int(time.time())
    claims = {
        "iss": ENTRA_ISSUER,
        "aud": ENTRA_AUDIENCE,
        "iat": now,
        "nbf": now + nbf_in,
        "exp": now + exp_in,
        "tid": NORTHSIDE_TENANT,
        "oid": "d1b4c6e2-0f3a-4d5b-8e9c-7a2b1c3d4e5f",
        "sub": "pairwise-subject-of-nina",
        "preferred_username": "Nina@Northside.example",
        "name": "Nina (Northside, via Entra)",
        "roles": ["Registry.Member"],
        "azp": ENTRA_CLIENT_ID,
        "ver": "2.0",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def generic_claims(**overrides) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": GENERIC_ISSUER,
        "aud": GENERIC_AUDIENCE,
        "iat": now,
        "exp": now + 600,
        "sub": "riv-0042",
        "email": "omar@riverside.example",
        "name": "Omar (Riverside, via the provider's identity provider)",
        "org": "riverside",
        "groups": ["registry-staff", "everyone"],
        "client_id": "riverside-portal",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.fixture
def idp_key(jwks_server: JWKSServer) -> RSAKey:
    """The identity provider's current signing key, published at its JWKS URL."""
    return jwks_server.new_key("RSA")


@pytest.fixture
def make_oidc_client(make_app, jwks_server: JWKSServer) -> Callable[..., FlaskClient]:
    """A factory: a test client of an app trusting the given issuers (default: Entra)."""

    def make(*issuers: dict[str, Any]) -> FlaskClient:
        issuers = issuers or (entra_issuer(jwks_server.url),)
        return make_app(OIDC_ISSUERS=list(issuers)).test_client()

    return make


# Configuration ---------------------------------------------------------------------------


MINIMAL = {"issuer": "https://idp.example", "audience": "api", "jwks_url": "https://idp.example/k"}


def test_minimal_generic_issuer_takes_the_defaults():
    (issuer,) = parse_issuers([MINIMAL])
    assert issuer == ExternalIssuer(**MINIMAL)
    assert issuer.profile == "generic"
    assert issuer.algorithms == ("RS256",)
    assert issuer.subject_claim == "sub"
    assert issuer.organisation_claim is None


def test_entra_profile_knows_its_claims_and_maps_roles():
    (issuer,) = parse_issuers([entra_issuer("https://login.microsoftonline.com/common/keys")])
    assert issuer.subject_claim == "oid"
    assert issuer.email_claim == "preferred_username"
    assert issuer.organisation_claim == "tid"
    assert issuer.token_types == ("JWT",)
    assert issuer.organisations == {NORTHSIDE_TENANT: "DEMO1", RIVERSIDE_TENANT: "DEMO2"}
    assert issuer.roles == {"Registry.Auditor": Role.AUDITOR, "Registry.Member": Role.MEMBER}


def test_issuers_come_from_the_environment_as_json():
    settings = configuration.load(
        environ={"REGISTRY_OIDC_ISSUERS": json.dumps([MINIMAL, {**MINIMAL, "issuer": "https://b"}])}
    )
    assert [i.issuer for i in settings["OIDC_ISSUERS"]] == ["https://idp.example", "https://b"]


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ("{not json", "not valid JSON"),
        ('{"issuer": "https://idp.example"}', "must be a JSON list"),
        ('["https://idp.example"]', r"REGISTRY_OIDC_ISSUERS\[0\] must be an object"),
    ],
)
def test_malformed_environment_stops_the_start(raw, match):
    with pytest.raises(ConfigError, match=match):
        configuration.load(environ={"REGISTRY_OIDC_ISSUERS": raw})


def without(key: str) -> dict[str, Any]:
    return {k: v for k, v in MINIMAL.items() if k != key}


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        (without("issuer"), r"\.issuer is required"),
        (without("audience"), r"\.audience is required"),
        (without("jwks_url"), r"\.jwks_url is required"),
        ({**MINIMAL, "audience": ""}, r"\.audience is required"),
        ({**MINIMAL, "issuer": 42}, r"\.issuer is required"),
        ({**MINIMAL, "profile": "okta"}, r"\.profile must be one of generic, entra"),
        ({**MINIMAL, "algorithms": ["HS256"]}, r"\.algorithms must be asymmetric"),
        ({**MINIMAL, "algorithms": ["RS256", "HS512"]}, r"\.algorithms must be asymmetric"),
        ({**MINIMAL, "algorithms": ["none"]}, r"\.algorithms must be asymmetric"),
        ({**MINIMAL, "algorithms": []}, r"\.algorithms must be"),
        ({**MINIMAL, "algorithms": "RS256"}, r"\.algorithms must be"),
        ({**MINIMAL, "algorithms": ["RS257"]}, r"\.algorithms must be asymmetric"),
        ({**MINIMAL, "token_types": "JWT"}, r"\.token_types must be"),
        ({**MINIMAL, "profile": "entra"}, r"\.organisations must list the allowed tenants"),
        ({**MINIMAL, "profile": "entra", "organisations": {}}, r"\.organisations must list"),
        ({**MINIMAL, "organisations": ["DEMO1"]}, r"\.organisations must be an object"),
        ({**MINIMAL, "jwks_uri": "https://x"}, r" has unknown settings: jwks_uri"),
        ({**MINIMAL, "tenant": "x", "scope": "y"}, r" has unknown settings: scope, tenant"),
        ({**MINIMAL, "roles": {"Admins": "superuser"}}, r"\.roles: 'superuser' is not a valid"),
        ({**MINIMAL, "roles": ["admin"]}, r"\.roles must be an object"),
        ({**MINIMAL, "roles": {"Admins": 1}}, r"\.roles must be an object"),
        ({**MINIMAL, "jwks_url": "http://idp.example/keys"}, r"\.jwks_url must be https"),
        ({**MINIMAL, "jwks_url": "http://127.0.0.1.evil.example/k"}, r"\.jwks_url must be https"),
        ({**MINIMAL, "jwks_url": "http://localhost@evil.example/k"}, r"\.jwks_url must be https"),
        ({**MINIMAL, "jwks_url": "file:///etc/passwd"}, r"\.jwks_url must be https"),
    ],
)
def test_bad_issuer_settings_stop_the_start_naming_the_entry(entry, match):
    with pytest.raises(ConfigError, match=r"^REGISTRY_OIDC_ISSUERS\[1\]" + match):
        parse_issuers([MINIMAL, entry])


def test_the_app_refuses_to_start_with_a_bad_issuer(make_app):
    with pytest.raises(ConfigError, match="algorithms"):
        make_app(OIDC_ISSUERS=[{**MINIMAL, "algorithms": ["HS256"]}])


@pytest.mark.parametrize(
    "url",
    ["https://login.microsoftonline.com/common/keys", "http://127.0.0.1:8080/k", "http://[::1]/k"],
)
def test_jwks_urls_must_be_https_except_on_loopback(url):
    (issuer,) = parse_issuers([{**MINIMAL, "jwks_url": url}])
    assert issuer.jwks_url == url


# Tokens from an Entra ID tenant ----------------------------------------------------------


def test_entra_token_maps_tenant_to_organisation_and_roles(make_oidc_client, idp_key, directory):
    client = make_oidc_client()
    token = sign_with(
        idp_key, entra_claims(roles=["Registry.Auditor", "Registry.Member"]), typ="JWT"
    )
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200, response.json
    me = response.json
    assert me["email"] == "nina@northside.example"  # the email, as the registry stores it
    assert me["display_name"] == "Nina (Northside, via Entra)"
    assert me["client_id"] == ENTRA_CLIENT_ID
    northside = directory["Northside GP Federation"]
    assert sorted((m["organisation"], m["role"]) for m in me["memberships"]) == [
        (northside, "auditor"),
        (northside, "member"),
    ]


def test_entra_person_is_provisioned_once_on_first_sight(make_oidc_client, idp_key, app):
    client = make_oidc_client()
    with app.app_context():
        assert person_by_email("nina@northside.example") is None
    headers = bearer(sign_with(idp_key, entra_claims(), typ="JWT"))
    first = client.get("/api/v1/me", headers=headers).json
    again = client.get("/api/v1/me", headers=headers).json
    assert first["id"] == again["id"]
    with app.app_context():
        person = person_by_email("nina@northside.example")
        assert person is not None
        assert str(person.id) == first["id"]


def test_roles_come_from_each_token_never_a_stored_copy(make_oidc_client, idp_key, directory):
    client = make_oidc_client()
    auditor = sign_with(idp_key, entra_claims(roles=["Registry.Auditor"]), typ="JWT")
    plain = sign_with(idp_key, entra_claims(roles=["Something.Else"]), typ="JWT")
    assert [
        m["role"] for m in client.get("/api/v1/me", headers=bearer(auditor)).json["memberships"]
    ] == ["auditor"]
    # No mapped role: a plain member of the tenant's organisation, the auditor role gone.
    assert [
        m["role"] for m in client.get("/api/v1/me", headers=bearer(plain)).json["memberships"]
    ] == ["member"]


def test_each_tenant_is_its_own_issuer_sharing_the_keys(
    make_oidc_client, jwks_server, idp_key, directory
):
    riverside_issuer = f"https://login.microsoftonline.com/{RIVERSIDE_TENANT}/v2.0"
    client = make_oidc_client(
        entra_issuer(jwks_server.url), entra_issuer(jwks_server.url, issuer=riverside_issuer)
    )
    claims = entra_claims(
        iss=riverside_issuer, tid=RIVERSIDE_TENANT, preferred_username="ria@riverside.example"
    )
    response = client.get("/api/v1/me", headers=bearer(sign_with(idp_key, claims, typ="JWT")))
    assert response.status_code == 200, response.json
    assert [m["organisation"] for m in response.json["memberships"]] == [
        directory["Riverside Community Care"]
    ]
    # Both issuers share one JWKS URL, fetched once.
    nina = sign_with(idp_key, entra_claims(), typ="JWT")
    assert client.get("/api/v1/me", headers=bearer(nina)).status_code == 200
    assert jwks_server.fetches == 1


def assert_refused(response, reason: str) -> None:
    assert response.status_code == 401, response.json
    assert response.json["code"] == 401
    assert response.json["status"] == "Unauthorized"
    assert reason in response.json["message"]
    assert response.json["errors"] == {}
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        pytest.param({"tid": STRANGER_TENANT}, "unknown organisation", id="tenant-not-allowed"),
        pytest.param({"tid": None}, "unknown organisation or tenant", id="no-tenant"),
        pytest.param({"aud": "api://someone-else"}, "aud", id="wrong-audience"),
        pytest.param({"aud": ENTRA_CLIENT_ID, "nonce": "n-0S6_WzA2Mj"}, "aud", id="id-token"),
        pytest.param(
            {"iss": "https://login.microsoftonline.com/common/v2.0"},
            "unknown issuer",
            id="unconfigured-issuer-common",
        ),
        pytest.param({"iss": "https://evil.example"}, "unknown issuer", id="unconfigured-issuer"),
        pytest.param({"exp_in": -3600}, "expired", id="expired"),
        pytest.param({"nbf_in": 3600}, "not yet valid", id="not-yet-valid"),
        pytest.param({"preferred_username": None}, "lacks a subject or email", id="no-email"),
        pytest.param({"preferred_username": "nina"}, "lacks a subject", id="not-an-email"),
        pytest.param(
            {"preferred_username": "n" * 250 + "@x.example"},
            "email is too long",
            id="email-too-long",
        ),
        pytest.param({"oid": None}, "lacks a subject or email", id="no-object-id"),
        pytest.param({"sub": None}, "sub", id="no-subject"),
    ],
)
def test_entra_tokens_refused(make_oidc_client, idp_key, overrides, reason):
    client = make_oidc_client()
    token = sign_with(idp_key, entra_claims(**overrides), typ="JWT")
    assert_refused(client.get("/api/v1/me", headers=bearer(token)), reason)


def test_long_display_name_is_cut_to_fit(make_oidc_client, idp_key):
    client = make_oidc_client()
    token = sign_with(idp_key, entra_claims(name="N" * 500), typ="JWT")
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200, response.json
    assert response.json["display_name"] == "N" * 200


def test_entra_profile_refuses_a_token_that_is_not_typed_jwt(make_oidc_client, idp_key):
    client = make_oidc_client()
    response = client.get("/api/v1/me", headers=bearer(sign_with(idp_key, entra_claims())))
    assert_refused(response, "typ missing is not an access token")


def test_only_the_configured_algorithms_are_accepted(make_oidc_client, jwks_server):
    ec_key = jwks_server.new_key("EC")  # published, but the issuer allows only RS256
    client = make_oidc_client()
    response = client.get(
        "/api/v1/me", headers=bearer(sign_with(ec_key, entra_claims(), typ="JWT"))
    )
    assert_refused(response, "ES256")


def test_hmac_with_the_published_key_is_refused(make_oidc_client, idp_key):
    client = make_oidc_client()
    signing_input = (
        b64url({"alg": "HS256", "typ": "JWT", "kid": idp_key.kid}) + "." + b64url(entra_claims())
    )
    secret = idp_key.as_pem(private=False)
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    response = client.get("/api/v1/me", headers=bearer(f"{signing_input}.{b64url(signature)}"))
    assert_refused(response, "HS256")


def test_a_key_the_issuer_does_not_publish_is_refused(make_oidc_client, idp_key):
    client = make_oidc_client()
    stranger = rsa_key(1)  # not published: the server has only rsa_key(0)
    forged = sign_with(stranger, entra_claims(), typ="JWT")
    assert_refused(client.get("/api/v1/me", headers=bearer(forged)), "No key for kid")
    # ... nor with the issuer's kid on it.
    forged = sign_with(stranger, entra_claims(), typ="JWT", kid=idp_key.kid)
    assert_refused(client.get("/api/v1/me", headers=bearer(forged)), "bad_signature")


def test_issuers_cannot_sign_for_each_other(make_oidc_client, idp_key, sign, own_claims, app):
    client = make_oidc_client()
    # The identity provider's key cannot vouch for the registry's own tokens ...
    as_registry = sign(own_claims(), key=idp_key, alg="RS256", kid=idp_key.kid)
    assert_refused(client.get("/api/v1/me", headers=bearer(as_registry)), "No key for kid")
    # ... and the registry's key is not one of the identity provider's.
    registry_key = app.extensions["registry.token_keys"].keys[0]
    as_entra = sign_with(registry_key, entra_claims(), typ="JWT")
    assert_refused(client.get("/api/v1/me", headers=bearer(as_entra)), "No key for kid")


# Key rotation and an unreachable identity provider ---------------------------------------


def test_a_new_kid_triggers_one_refetch_of_the_keys(
    make_oidc_client, jwks_server, idp_key, monkeypatch
):
    client = make_oidc_client()
    old = sign_with(idp_key, entra_claims(), typ="JWT")
    assert client.get("/api/v1/me", headers=bearer(old)).status_code == 200
    assert jwks_server.fetches == 1

    monkeypatch.setattr(oidc, "JWKS_MIN_REFRESH_SECONDS", 0)  # as if time had passed
    rotated = jwks_server.new_key("RSA")
    jwks_server.keys.remove(idp_key)
    new = sign_with(rotated, entra_claims(), typ="JWT")
    response = client.get("/api/v1/me", headers=bearer(new))
    assert response.status_code == 200, response.json
    assert jwks_server.fetches == 2
    # A known kid is served from the cache.
    assert client.get("/api/v1/me", headers=bearer(new)).status_code == 200
    assert jwks_server.fetches == 2


def test_forged_kids_do_not_hammer_the_identity_provider(make_oidc_client, jwks_server, idp_key):
    client = make_oidc_client()
    assert (
        client.get(
            "/api/v1/me", headers=bearer(sign_with(idp_key, entra_claims(), typ="JWT"))
        ).status_code
        == 200
    )
    for _ in range(5):
        forged = sign_with(idp_key, entra_claims(), typ="JWT", kid=secrets.token_hex(8))
        assert_refused(client.get("/api/v1/me", headers=bearer(forged)), "No key for kid")
    assert jwks_server.fetches == 1


def test_unreachable_keys_refuse_the_token_and_are_not_retried_at_once(
    make_oidc_client, jwks_server, idp_key
):
    client = make_oidc_client(entra_issuer(jwks_server.url.replace("/jwks.json", "/gone")))
    token = sign_with(idp_key, entra_claims(), typ="JWT")
    for _ in range(3):
        assert_refused(client.get("/api/v1/me", headers=bearer(token)), "keys cannot be fetched")
    assert jwks_server.requests == 1


# A generic issuer --------------------------------------------------------------------------


def test_generic_issuer_maps_configured_claims(make_oidc_client, jwks_server, directory):
    key = jwks_server.new_key("EC")
    client = make_oidc_client(generic_issuer(jwks_server.url, algorithms=["ES256"]))
    response = client.get(
        "/api/v1/me", headers=bearer(sign_with(key, generic_claims(), typ="at+jwt"))
    )
    assert response.status_code == 200, response.json
    me = response.json
    assert me["email"] == "omar@riverside.example"
    assert me["client_id"] == "riverside-portal"
    assert [(m["organisation"], m["role"]) for m in me["memberships"]] == [
        (directory["Riverside Community Care"], "ccg_staff")
    ]


@pytest.mark.parametrize(
    ("overrides", "typ", "reason"),
    [
        pytest.param({"org": "harbour"}, "at+jwt", "unknown organisation", id="org-not-mapped"),
        pytest.param({"org": None}, "at+jwt", "unknown organisation", id="no-org"),
        pytest.param({"org": ["riverside"]}, "at+jwt", "unknown organisation", id="org-a-list"),
        pytest.param({"email": None}, "at+jwt", "lacks a subject or email", id="no-email"),
        pytest.param({}, "id_token+jwt", "not an access token", id="typ-id-token"),
        pytest.param({}, None, "not an access token", id="no-typ"),
        pytest.param({"aud": "riverside-portal"}, "at+jwt", "aud", id="aud-is-the-client"),
    ],
)
def test_generic_tokens_refused(make_oidc_client, jwks_server, overrides, typ, reason):
    key = jwks_server.new_key("RSA")
    client = make_oidc_client(generic_issuer(jwks_server.url))
    token = sign_with(key, generic_claims(**overrides), typ=typ)
    assert_refused(client.get("/api/v1/me", headers=bearer(token)), reason)


def test_an_issuer_may_accept_only_rfc9068_access_tokens(make_oidc_client, jwks_server):
    key = jwks_server.new_key("RSA")
    client = make_oidc_client(generic_issuer(jwks_server.url, token_types=["at+jwt"]))
    id_token = sign_with(key, generic_claims(), typ="JWT")
    assert_refused(client.get("/api/v1/me", headers=bearer(id_token)), "typ jwt")
    access_token = sign_with(key, generic_claims(), typ="at+jwt")
    assert client.get("/api/v1/me", headers=bearer(access_token)).status_code == 200


# The key set cache on its own, with a clock we move ---------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def make_cache() -> Callable[..., tuple[JWKSCache, list, Clock]]:
    """A factory: a cache whose fetches are recorded and whose clock the test moves."""

    def make(*documents: Any):
        fetched: list[str] = []
        answers = list(documents)
        clock = Clock()

        def fetch(url: str):
            fetched.append(url)
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
            if isinstance(answer, Exception):
                raise answer
            return answer

        return JWKSCache(fetch=fetch, clock=clock), fetched, clock

    return make


def jwks(*keys) -> dict:
    return KeySet(list(keys)).as_dict(private=False)


@pytest.fixture(scope="module")
def keys_a_b() -> tuple[RSAKey, RSAKey]:
    return rsa_key(0), rsa_key(1)


def test_cache_refetches_for_an_unknown_kid_at_most_every_interval(make_cache, keys_a_b):
    a, b = keys_a_b
    cache, fetched, clock = make_cache(jwks(a), jwks(a, b))
    assert cache.keys("https://idp/k", a.kid).get_by_kid(a.kid)
    clock.now += oidc.JWKS_MIN_REFRESH_SECONDS - 1
    with pytest.raises(InvalidKeyIdError):
        cache.keys("https://idp/k", b.kid).get_by_kid(b.kid)
    assert len(fetched) == 1
    clock.now += 1
    assert cache.keys("https://idp/k", b.kid).get_by_kid(b.kid)
    assert len(fetched) == 2


def test_cache_refreshes_after_its_lifetime(make_cache, keys_a_b):
    a, b = keys_a_b
    cache, fetched, clock = make_cache(jwks(a), jwks(b))
    cache.keys("https://idp/k", a.kid)
    clock.now += oidc.JWKS_TTL_SECONDS - 1
    cache.keys("https://idp/k", a.kid)
    assert len(fetched) == 1
    clock.now += 1
    assert [k.kid for k in cache.keys("https://idp/k", a.kid).keys] == [b.kid]
    assert len(fetched) == 2


def test_cache_keeps_the_keys_it_has_when_a_refresh_fails(make_cache, keys_a_b):
    a, _ = keys_a_b
    cache, fetched, clock = make_cache(jwks(a), OSError("connection refused"))
    cache.keys("https://idp/k", a.kid)
    clock.now += oidc.JWKS_TTL_SECONDS
    assert cache.keys("https://idp/k", a.kid).get_by_kid(a.kid)
    assert len(fetched) == 2


@pytest.mark.parametrize(
    "answer",
    [
        OSError("connection refused"),
        ValueError("not JSON"),
        [],
        {"keys": "none"},
        {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]},
        {"keys": [{"kty": "RSA"}]},
    ],
    ids=["unreachable", "not-json", "a-list", "keys-not-a-list", "only-symmetric", "bad-key"],
)
def test_cache_without_keys_says_so_and_waits_before_trying_again(make_cache, answer):
    cache, fetched, clock = make_cache(answer)
    for _ in range(2):
        with pytest.raises(oidc.KeySetUnavailableError, match="cannot be fetched"):
            cache.keys("https://idp/k", "kid")
    assert len(fetched) == 1
    clock.now += oidc.JWKS_MIN_REFRESH_SECONDS
    with pytest.raises(oidc.KeySetUnavailableError):
        cache.keys("https://idp/k", "kid")
    assert len(fetched) == 2


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://login.microsoftonline.com/common/discovery/v2.0/keys", True),
        ("http://127.0.0.1:8080/keys", True),
        ("http://localhost/keys", True),
        ("http://[::1]:8080/keys", True),
        ("https:///keys", False),
        ("http://idp.example/keys", False),
        ("http://127.0.0.1.evil.example/keys", False),
        ("http://localhost.evil.example/keys", False),
        ("http://localhost@evil.example/keys", False),
        ("http://[::ffff:8.8.8.8]/keys", False),
        ("file:///etc/passwd", False),
        ("ftp://127.0.0.1/keys", False),
    ],
)
def test_keys_are_fetched_over_https_or_from_this_machine(url, allowed):
    assert oidc.allowed_jwks_url(url) is allowed


# Linking external identities to people ---------------------------------------------------


def test_an_issuer_cannot_claim_a_known_email_it_does_not_vouch_for(
    make_oidc_client, idp_key, jwks_server
):
    """pat@northside.example already exists: a token merely asserting that email must
    not act as Pat, or any issuer could take over any account."""
    client = make_oidc_client()
    token = sign_with(idp_key, entra_claims(preferred_username="pat@northside.example"), typ="JWT")
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 401
    assert "may not claim" in response.json["message"]


def test_an_issuer_vouching_for_the_domain_links_the_known_person(
    make_oidc_client, idp_key, jwks_server, app
):
    client = make_oidc_client(
        {**entra_issuer(jwks_server.url), "email_domains": ["Northside.example"]}
    )
    token = sign_with(idp_key, entra_claims(preferred_username="pat@northside.example"), typ="JWT")
    me = client.get("/api/v1/me", headers=bearer(token)).json
    with app.app_context():
        assert me["id"] == str(person_by_email("pat@northside.example").id)


def test_a_person_is_found_by_issuer_and_subject_not_by_a_changed_email(make_oidc_client, idp_key):
    client = make_oidc_client()
    first = client.get(
        "/api/v1/me", headers=bearer(sign_with(idp_key, entra_claims(), typ="JWT"))
    ).json
    renamed = entra_claims(preferred_username="nina.renamed@northside.example")
    again = client.get("/api/v1/me", headers=bearer(sign_with(idp_key, renamed, typ="JWT"))).json
    assert again["id"] == first["id"]
