"""Every API call needs a valid bearer token; forged, stale and malformed ones get a 401."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from joserfc.jwk import ECKey

from tests.auth.conftest import b64url, bearer, compact, es256, rsa_key

ME = "/api/v1/me"
LEEWAY = 30  # the default REGISTRY_TOKEN_LEEWAY
# What anyone may fetch without a token: the API documents, health checks and key sets,
# and the token endpoint (where clients authenticate with their own credentials).
PUBLIC_ENDPOINTS = {
    "api-docs.openapi_json",
    "api-docs.openapi_redoc",
    "evidence.checkpoint",
    "evidence.keys",
    "evidence.log_key",
    "evidence.tsa_certificates",
    "health.healthz",
    "health.readyz",
    # Without a token these answer as for anyone: published ideas only (the access policy).
    "ideas.list_ideas",
    "ideas.get_idea",
    "ideas.get_version",
    "ideas.get_receipt",
    "attachments.list_attachments",
    "attachments.download",
    "attachments.get_receipt",
    "search.search",
    "oauth.jwks",
    "oauth.metadata",
    "oauth.token",
    "static",
}


def assert_needs_a_token(response) -> None:
    assert response.status_code == 401, response.json
    assert response.json == {
        "code": 401,
        "status": "Unauthorized",
        "message": "authentication required: send a bearer access token",
        "errors": {},
    }
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="alliance-registry"'


def assert_invalid_token(response) -> None:
    assert response.status_code == 401, response.json
    body = response.json
    assert set(body) == {"code", "status", "message", "errors"}
    assert (body["code"], body["status"], body["errors"]) == (401, "Unauthorized", {})
    assert body["message"].startswith("invalid access token: ")
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="alliance-registry", error="invalid_token"'
    )


@pytest.mark.parametrize("signer", ["joserfc", "by-hand"])
def test_a_valid_token_is_accepted(client, sign, own_claims, registry_key, signer):
    # The forgeries below start from these two ways of signing: both must be sound.
    if signer == "joserfc":
        token = sign(own_claims())
    else:
        token = es256(
            registry_key, {"alg": "ES256", "typ": "at+jwt", "kid": registry_key.kid}, own_claims()
        )
    response = client.get(ME, headers=bearer(token))
    assert response.status_code == 200, response.json
    assert response.json["email"] == "pat@northside.example"


def test_missing_token_is_refused_with_a_challenge(client):
    assert_needs_a_token(client.get(ME))


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer ", "Basic cGF0OnNlY3JldA==", "Token abc", "Digest username=pat"],
)
def test_other_authorization_schemes_are_refused(client, authorization):
    assert_needs_a_token(client.get(ME, headers={"Authorization": authorization}))


def test_a_token_is_read_only_from_the_authorization_header(client, token_for):
    token = token_for("pat@northside.example")
    assert_needs_a_token(client.get(f"{ME}?access_token={token}"))
    assert_needs_a_token(client.post("/api/v1/ideas", data={"access_token": token}))


def test_scheme_name_is_case_insensitive(client, token_for):
    token = token_for("pat@northside.example")
    assert client.get(ME, headers={"Authorization": f"bearer {token}"}).status_code == 200


def test_every_route_but_the_public_ones_needs_a_token(app, client):
    """Deny by default: a route nobody marked public refuses a caller without a token."""
    samples = {"uuid": str(uuid.uuid4()), "int": "1"}
    open_endpoints = set()
    for rule in app.url_map.iter_rules():
        # <uuid:idea_id> -> a UUID, <int:number> -> 1, anything else -> "x"
        url = re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>", lambda m: samples.get(m[1], "x"), rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            challenge = response.headers.get("WWW-Authenticate", "")
            if not (response.status_code == 401 and challenge.startswith("Bearer")):
                open_endpoints.add(rule.endpoint)
    assert open_endpoints == PUBLIC_ENDPOINTS


@pytest.mark.parametrize(
    "url",
    [
        "/healthz",
        "/readyz",
        "/api/v1/openapi.json",
        "/api/v1/docs",
        "/.well-known/oauth-authorization-server",
        "/.well-known/jwks.json",
    ],
)
def test_documents_health_checks_and_key_sets_are_public(client, url):
    assert client.get(url).status_code == 200


# Forged and doctored tokens -----------------------------------------------------------------


@dataclass(frozen=True)
class Forger:
    """Builds tokens: valid ones signed with the registry's key, and doctored or forged ones.

    Forgeries use only what an attacker has (the public key, its kid, keys of their own);
    the private key signs the cases that test one check alone, such as a bad ``typ``.
    """

    claims: Callable[..., dict[str, Any]]
    sign: Callable[..., str]
    key: ECKey  # the registry's signing key

    @property
    def kid(self) -> str:
        return self.key.kid

    def hmac(self, secret: bytes, **header) -> str:
        signing_input = f"{b64url(header)}.{b64url(self.claims())}"
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64url(signature)}"

    def valid(self, **claims) -> str:
        return self.sign(self.claims(**claims))


@pytest.fixture
def forger(own_claims, sign, registry_key) -> Forger:
    return Forger(claims=own_claims, sign=sign, key=registry_key)


def attacker_key() -> ECKey:
    return ECKey.generate_key("P-256", private=True, auto_kid=True)


def swap_payload(token: str, payload: dict) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{b64url(payload)}.{signature}"


def swap_header(token: str, header: dict) -> str:
    _, payload, signature = token.split(".")
    return f"{b64url(header)}.{payload}.{signature}"


def psychic_signature(f: Forger) -> str:
    # CVE-2022-21449: r = s = 0 passed ECDSA verification in some Java releases.
    header, payload, _ = f.valid().split(".")
    return f"{header}.{payload}.{b64url(bytes(64))}"


ATTACKS: dict[str, Callable[[Forger], str]] = {
    "alg-none": lambda f: compact({"alg": "none", "typ": "at+jwt", "kid": f.kid}, f.claims()),
    "alg-None": lambda f: compact({"alg": "None", "typ": "at+jwt", "kid": f.kid}, f.claims()),
    "hs256-with-public-pem": lambda f: f.hmac(
        f.key.as_pem(private=False), alg="HS256", typ="at+jwt", kid=f.kid
    ),
    "hs256-with-public-jwk": lambda f: f.hmac(
        json.dumps(f.key.as_dict(private=False)).encode(), alg="HS256", typ="at+jwt", kid=f.kid
    ),
    "embedded-jwk": lambda f: f.sign(
        f.claims(), key=(k := attacker_key()), jwk=k.as_dict(private=False)
    ),
    "jku": lambda f: f.sign(
        f.claims(), key=attacker_key(), jku="http://127.0.0.1:9/.well-known/jwks.json"
    ),
    "x5u": lambda f: f.sign(f.claims(), key=attacker_key(), x5u="http://127.0.0.1:9/cert.pem"),
    "x5c": lambda f: f.sign(f.claims(), key=attacker_key(), x5c=["MIIB"]),
    "crit": lambda f: es256(
        f.key,
        {"alg": "ES256", "typ": "at+jwt", "kid": f.kid, "crit": ["urn:x"], "urn:x": 1},
        f.claims(),
    ),
    "unknown-kid": lambda f: f.sign(f.claims(), kid="2024-rotated-away"),
    "no-kid": lambda f: f.sign(f.claims(), kid=None),
    "path-like-kid": lambda f: f.sign(f.claims(), kid="../../keys/oauth-es256.pem"),
    "other-ec-key-with-our-kid": lambda f: f.sign(f.claims(), key=attacker_key()),
    "rsa-key-with-our-kid": lambda f: f.sign(f.claims(), key=rsa_key(0), alg="RS256"),
    "es384-header": lambda f: f.sign(
        f.claims(), key=ECKey.generate_key("P-384", private=True), alg="ES384"
    ),
    "tampered-payload": lambda f: swap_payload(f.valid(), f.claims("carol@ccg.example")),
    "tampered-header": lambda f: swap_header(f.valid(), {"alg": "ES256", "kid": f.kid}),
    "signature-stripped": lambda f: f.valid().rsplit(".", 1)[0] + ".",
    "psychic-signature": psychic_signature,
    "wrong-iss": lambda f: f.valid(iss="http://registry.example"),
    "iss-with-trailing-slash": lambda f: f.valid(iss="http://registry.test/"),
    "no-iss": lambda f: f.valid(iss=None),
    "wrong-aud": lambda f: f.valid(aud="urn:another-service:api"),
    "aud-list-without-ours": lambda f: f.valid(aud=["urn:a", "urn:b"]),
    "no-aud": lambda f: f.valid(aud=None),
    "expired-beyond-leeway": lambda f: f.valid(exp=int(time.time()) - LEEWAY - 60),
    "no-exp": lambda f: f.valid(exp=None),
    "exp-not-a-number": lambda f: f.valid(exp="tomorrow"),
    "nbf-beyond-leeway": lambda f: f.valid(nbf=int(time.time()) + LEEWAY + 60),
    "iat-in-the-future": lambda f: f.valid(iat=int(time.time()) + LEEWAY + 60),
    "typ-JWT": lambda f: f.sign(f.claims(), typ="JWT"),
    "typ-missing": lambda f: f.sign(f.claims(), typ=None),
    "typ-id-token": lambda f: f.sign(f.claims(), typ="id_token+jwt"),
    "oversized": lambda f: f.valid(padding="x" * 9000),
    "one-dot": lambda f: f.valid().rsplit(".", 1)[0],
    "two-dots-garbage": lambda f: "not.a.token",
    "three-dots": lambda f: f.valid() + ".e30",
    "four-dots-jwe-shaped": lambda f: "eyJhbGciOiJkaXIifQ..iv.ciphertext.tag",
    "no-dots": lambda f: "opaque-access-token",
    "header-not-json": lambda f: f"{b64url(b'{not json')}.e30.e30",
    "header-not-an-object": lambda f: compact(["ES256"], f.claims(), b"sig"),
    "payload-not-an-object": lambda f: compact({"alg": "ES256", "kid": f.kid}, [1], b"sig"),
    "not-base64": lambda f: "!!!.???.###",
    "not-utf8": lambda f: f"{b64url(bytes([0xFF, 0xFE]))}.e30.e30",
    "unknown-person": lambda f: f.valid(sub=str(uuid.uuid4())),
    "sub-not-a-uuid": lambda f: f.valid(sub="pat"),
    "sub-not-a-string": lambda f: f.valid(sub=42),
    "unknown-service-client": lambda f: f.valid(sub="svc-0000", client_id="svc-0000"),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_forged_or_malformed_tokens_are_refused(client, forger, attack):
    token = ATTACKS[attack](forger)
    assert_invalid_token(client.get(ME, headers=bearer(token)))


@pytest.mark.parametrize(
    ("attack", "reason"),
    [
        ("alg-none", "Algorithm of 'none' is not allowed"),
        ("hs256-with-public-pem", "Algorithm of 'HS256' is not allowed"),
        ("embedded-jwk", "the header names its own key"),
        ("unknown-kid", "No key for kid"),
        ("other-ec-key-with-our-kid", "bad_signature"),
        ("tampered-payload", "bad_signature"),
        ("wrong-iss", "unknown issuer"),
        ("wrong-aud", "'aud'"),
        ("expired-beyond-leeway", "expired"),
        ("nbf-beyond-leeway", "not yet valid"),
        ("typ-missing", "typ missing is not an access token"),
        ("oversized", "token too large"),
        ("unknown-person", "unknown person"),
    ],
)
def test_the_refusal_says_what_failed(client, forger, attack, reason):
    response = client.get(ME, headers=bearer(ATTACKS[attack](forger)))
    assert reason in response.json["message"]


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": -(LEEWAY - 20)},
        {"nbf": LEEWAY - 20},
        {"iat": LEEWAY - 20},
    ],
    ids=["expired-within-leeway", "nbf-within-leeway", "iat-within-leeway"],
)
def test_small_clock_skew_is_forgiven(client, forger, claims):
    now = int(time.time())
    token = forger.valid(**{name: now + offset for name, offset in claims.items()})
    assert client.get(ME, headers=bearer(token)).status_code == 200


def test_an_audience_list_naming_the_registry_is_accepted(client, forger):
    token = forger.valid(aud=["urn:another-service:api", "urn:alliance-registry:api"])
    assert client.get(ME, headers=bearer(token)).status_code == 200


def test_leeway_comes_from_configuration(make_app, forger):
    strict = make_app(TOKEN_LEEWAY=1).test_client()
    lenient = make_app(TOKEN_LEEWAY=600).test_client()
    token = forger.valid(exp=int(time.time()) - 300)
    assert_invalid_token(strict.get(ME, headers=bearer(token)))
    assert lenient.get(ME, headers=bearer(token)).status_code == 200


def test_token_of_another_registry_instance_is_refused(make_app, forger):
    # Same key file, another issuer name: the tokens of one are not tokens of the other.
    other = make_app(ISSUER="http://other-registry.test").test_client()
    assert_invalid_token(other.get(ME, headers=bearer(forger.valid())))
