"""Issuing RFC 9068 JWT access tokens, signed ES256."""

from __future__ import annotations

from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc.jwk import KeySet

from registry.alliance.models import Person

DEMO_CLIENT_ID = "registry-demo-cli"


class AccessTokenGenerator(JWTBearerTokenGenerator):
    def __init__(self, issuer: str, audience: str, keys: KeySet, ttl: int):
        super().__init__(issuer, alg="ES256", expires_generator=lambda _client, _grant: ttl)
        self._keys = keys
        self._audience = audience

    def get_jwks(self) -> KeySet:
        return self._keys

    def get_audiences(self, client, user, scope) -> str:
        return self._audience


class _DemoClient:
    """The `registry token` command, acting as a client of our own server."""

    def get_client_id(self) -> str:
        return DEMO_CLIENT_ID

    def get_allowed_scope(self, scope: str) -> str:
        return ""


class _PersonSubject:
    def __init__(self, person: Person):
        self._person = person

    def get_user_id(self) -> str:
        return str(self._person.id)


def person_token(generator: AccessTokenGenerator, person: Person) -> dict:
    """A token for a person, as `registry token EMAIL` prints in demo mode."""
    return generator.generate(
        grant_type="urn:alliance-registry:demo",
        client=_DemoClient(),
        user=_PersonSubject(person),
        scope="",
        include_refresh_token=False,
    )
