"""Checking bearer tokens: the registry's own and those of configured issuers."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from typing import Any

from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2.rfc6750 import BearerTokenValidator, InvalidTokenError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from registry.alliance.models import Organisation, Person
from registry.auth.models import ExternalIdentity, ServiceClient
from registry.auth.oidc import ExternalIssuer, JWKSCache, KeySetUnavailableError
from registry.auth.principal import AS_PRINCIPAL, Principal
from registry.db import db, writing
from registry.errors import APIError

MAX_TOKEN_BYTES = 8192
# The column sizes of Person.email and Person.display_name.
EMAIL_MAX_LENGTH = 254
DISPLAY_NAME_MAX_LENGTH = 200
# Headers that would let a token choose its own verification key.
FORBIDDEN_HEADERS = frozenset({"jwk", "jku", "x5u", "x5c", "crit"})


class TokenRefusedError(ValueError):
    """The token is well-formed enough to read, and we refuse it for this reason."""


@dataclass(frozen=True)
class VerifiedToken:
    claims: dict[str, Any]
    issuer: ExternalIssuer | None  # None: the registry's own token

    # authlib's ResourceProtector asks these of the token it validated.
    def is_expired(self) -> bool:
        return False

    def is_revoked(self) -> bool:
        return False

    def get_scope(self) -> str:
        return self.claims.get("scope", "")


def _unverified_part(segment: str) -> dict[str, Any]:
    padded = segment + "=" * (-len(segment) % 4)
    value = json.loads(base64.urlsafe_b64decode(padded))
    if not isinstance(value, dict):
        raise TokenRefusedError("not a JSON object")
    return value


class TokenValidator(BearerTokenValidator):
    """Verifies signature, algorithm, ``kid``, ``typ``, ``iss``, ``aud``, ``exp``, ``nbf``."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        keys: KeySet,
        leeway: int,
        external: tuple[ExternalIssuer, ...],
        jwks_cache: JWKSCache,
    ):
        super().__init__()
        self.issuer = issuer
        self.audience = audience
        self.keys = keys
        self.leeway = leeway
        self.external = {e.issuer: e for e in external}
        self.jwks_cache = jwks_cache

    def authenticate_token(self, token_string: str) -> VerifiedToken:
        try:
            return self._verify(token_string)
        except (JoseError, ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise InvalidTokenError(description=f"invalid access token: {_reason(exc)}") from exc

    def _verify(self, token_string: str) -> VerifiedToken:
        if len(token_string) > MAX_TOKEN_BYTES:
            raise TokenRefusedError("token too large")
        parts = token_string.split(".")
        if len(parts) != 3:
            raise TokenRefusedError("not a signed JWT")
        header = _unverified_part(parts[0])
        iss = _unverified_part(parts[1]).get("iss")
        if FORBIDDEN_HEADERS & header.keys():
            raise TokenRefusedError("the header names its own key")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRefusedError("no kid in the header")

        if iss == self.issuer:
            external, keys = None, self.keys
            algorithms, token_types, audience = ("ES256",), ("at+jwt",), self.audience
        elif isinstance(iss, str) and iss in self.external:
            external = self.external[iss]
            keys = self.jwks_cache.keys(external.jwks_url, kid)
            algorithms, token_types = external.algorithms, external.token_types
            audience = external.audience
        else:
            raise TokenRefusedError("unknown issuer")

        key = keys.get_by_kid(kid)
        token = jwt.decode(token_string, key, algorithms=list(algorithms))
        typ = str(token.header.get("typ", "")).lower().removeprefix("application/")
        if typ not in {t.lower() for t in token_types}:
            raise TokenRefusedError(f"typ {typ or 'missing'} is not an access token")
        JWTClaimsRegistry(
            leeway=self.leeway,
            iss={"essential": True, "value": iss},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            sub={"essential": True},
        ).validate(token.claims)
        return VerifiedToken(claims=dict(token.claims), issuer=external)

    def validate_token(self, token, scopes, request) -> None:
        # Everything is checked in authenticate_token; scopes are not used:
        # what a caller may do is decided by the access policy.
        return None


def _reason(exc: Exception) -> str:
    if isinstance(exc, JoseError):
        return exc.description or exc.error
    if isinstance(exc, TokenRefusedError | KeySetUnavailableError):
        return str(exc)
    return "malformed token"


class Protector(ResourceProtector):
    """authlib's ResourceProtector, answering in the registry's error shape."""

    def raise_error_response(self, error):
        description = getattr(error, "description", None) or "authentication required"
        if error.error in {"missing_authorization", "unsupported_token_type"}:
            description = "authentication required: send a bearer access token"
        challenge = 'Bearer realm="alliance-registry"'
        if error.error not in {"missing_authorization", "unsupported_token_type"}:
            challenge += ', error="invalid_token"'
        raise APIError(401, description, headers={"WWW-Authenticate": challenge})


def principal_for(token: VerifiedToken) -> Principal:
    """Map a verified token to the person acting. Raises a 401 if they are unknown."""
    claims = token.claims
    if token.issuer is not None:
        return _external_principal(token.issuer, claims)
    if claims.get("client_id") == claims["sub"]:
        client = db.session.scalar(
            select(ServiceClient).where(ServiceClient.client_id == claims["sub"])
        )
        if client is None or client.revoked_at is not None:
            raise _unknown("service client")
        return Principal.of(client.person, client_id=client.client_id)
    try:
        person = db.session.get(Person, uuid.UUID(str(claims["sub"])), options=AS_PRINCIPAL)
    except ValueError:
        person = None
    if person is None:
        raise _unknown("person")
    return Principal.of(person, client_id=claims.get("client_id"))


def _unknown(what: str) -> APIError:
    return APIError(
        401,
        f"invalid access token: unknown {what}",
        headers={"WWW-Authenticate": 'Bearer realm="alliance-registry", error="invalid_token"'},
    )


def _external_person(
    issuer: ExternalIssuer, subject: str, email: str, claims: dict[str, Any]
) -> Person:
    """The person behind (issuer, subject), linked or created on first sight.

    An issuer can put any email in its tokens, so an email the registry already
    knows is linked only for domains the issuer is configured to vouch for;
    otherwise an administrator links the account.
    """
    from registry.alliance.services import person_by_email, provision_person

    identity = db.session.get(ExternalIdentity, (issuer.issuer, subject))
    if identity is not None:
        return identity.person
    known = person_by_email(email)
    if known is not None and email.rsplit("@", 1)[1] not in issuer.email_domains:
        raise _unknown("person: this email belongs to an account the issuer may not claim")
    # Stored now, not with the request's first write, so the id GET /me shows is
    # the one the person keeps; in a transaction of its own that declares it
    # writes (SQLite then takes the write lock before looking again).
    db.session.rollback()
    with writing():
        try:
            name = str(claims.get(issuer.name_claim) or email)[:DISPLAY_NAME_MAX_LENGTH]
            person = provision_person(email=email, display_name=name)
            db.session.add(ExternalIdentity(issuer=issuer.issuer, subject=subject, person=person))
            db.session.commit()
        except IntegrityError:  # the same person's first two requests at once
            db.session.rollback()
            identity = db.session.get(ExternalIdentity, (issuer.issuer, subject))
            if identity is None:
                raise
            return identity.person
    return person


def _external_principal(issuer: ExternalIssuer, claims: dict[str, Any]) -> Principal:
    value = issuer.organisation_value(claims)
    ods_code = issuer.organisations.get(value) if value else None
    organisation = (
        db.session.scalar(select(Organisation).where(Organisation.ods_code == ods_code))
        if ods_code
        else None
    )
    if organisation is None:
        raise _unknown("organisation or tenant")
    email = claims.get(issuer.email_claim)
    subject = claims.get(issuer.subject_claim)
    if not isinstance(subject, str) or not isinstance(email, str) or "@" not in email:
        raise _unknown("subject: the token lacks a subject or email")
    if len(email) > EMAIL_MAX_LENGTH:
        raise _unknown("subject: the email is too long")
    person = _external_person(issuer, subject, email.lower(), claims)
    principal = Principal.of(person)
    # Organisation and roles come from this token only, never from a stored copy.
    memberships = frozenset(
        (organisation.id, organisation.kind, role) for role in issuer.mapped_roles(claims)
    )
    return Principal(
        person_id=principal.person_id,
        display_name=principal.display_name,
        email=principal.email,
        memberships=memberships,
        group_ids=principal.group_ids,
        client_id=claims.get("azp") or claims.get("client_id"),
    )
