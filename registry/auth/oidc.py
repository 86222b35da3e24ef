"""External OpenID Connect issuers whose access tokens the registry accepts.

NHS organisations sign in with Microsoft Entra ID, so an ``entra`` profile
knows its claims (``tid``, ``oid``, ``roles``) and allows only listed tenants.
A ``generic`` profile reads the claims the configuration names.

The organisation and roles of the caller come from the verified token each
time, never from a stored copy, so a role removed at the identity provider is
gone with the next token. The person is provisioned on first sight so that
what they submit is attributed to someone.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from joserfc.jwk import KeySet

from registry.alliance.models import Role

PROFILES = ("generic", "entra")
JWKS_TTL_SECONDS = 600
JWKS_MIN_REFRESH_SECONDS = 30
JWKS_MAX_BYTES = 256 * 1024


@dataclass(frozen=True)
class ExternalIssuer:
    """One trusted issuer, as configured in ``REGISTRY_OIDC_ISSUERS``."""

    issuer: str
    audience: str
    jwks_url: str
    profile: str = "generic"
    algorithms: tuple[str, ...] = ("RS256",)
    token_types: tuple[str, ...] = ("at+jwt", "JWT")
    subject_claim: str = "sub"
    email_claim: str = "email"
    name_claim: str = "name"
    organisation_claim: str | None = None
    # Value of the organisation claim (Entra: the tenant id) -> organisation ODS code.
    organisations: dict[str, str] = field(default_factory=dict)
    roles_claim: str = "roles"
    # Role value at the identity provider -> registry role.
    roles: dict[str, Role] = field(default_factory=dict)

    def organisation_value(self, claims: dict[str, Any]) -> str | None:
        value = claims.get(self.organisation_claim) if self.organisation_claim else None
        return value if isinstance(value, str) else None

    def mapped_roles(self, claims: dict[str, Any]) -> frozenset[Role]:
        values = claims.get(self.roles_claim) or []
        if isinstance(values, str):
            values = values.split()
        mapped = {self.roles[v] for v in values if isinstance(v, str) and v in self.roles}
        return frozenset(mapped or {Role.MEMBER})


def _entra_defaults(raw: dict[str, Any]) -> dict[str, Any]:
    # Entra v2 access tokens: the object id is stable per tenant, the tenant id
    # names the organisation, and the user principal name is the email.
    return {
        "subject_claim": "oid",
        "email_claim": "preferred_username",
        "organisation_claim": "tid",
        "token_types": ("JWT",),
        **raw,
    }


def parse_issuers(raw: list[Any]) -> tuple[ExternalIssuer, ...]:
    """Validate the configured issuers; raises ``ConfigError`` naming the problem."""
    from registry.config import ConfigError

    issuers = []
    for position, entry in enumerate(raw):
        if isinstance(entry, ExternalIssuer):
            issuers.append(entry)
            continue
        where = f"REGISTRY_OIDC_ISSUERS[{position}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be an object")
        for required in ("issuer", "audience", "jwks_url"):
            if not isinstance(entry.get(required), str) or not entry[required]:
                raise ConfigError(f"{where}.{required} is required")
        profile = entry.get("profile", "generic")
        if profile not in PROFILES:
            raise ConfigError(f"{where}.profile must be one of {', '.join(PROFILES)}")
        if profile == "entra":
            entry = _entra_defaults(entry)
            if not entry.get("organisations"):
                raise ConfigError(f"{where}.organisations must list the allowed tenants")
        try:
            roles = {k: Role(v) for k, v in entry.get("roles", {}).items()}
        except ValueError as exc:
            raise ConfigError(f"{where}.roles: {exc}") from None
        algorithms = tuple(entry.get("algorithms", ("RS256",)))
        if not algorithms or any(a.lower() == "none" or a.startswith("HS") for a in algorithms):
            raise ConfigError(f"{where}.algorithms must be asymmetric signature algorithms")
        known = set(ExternalIssuer.__dataclass_fields__)
        unknown = set(entry) - known
        if unknown:
            raise ConfigError(f"{where} has unknown settings: {', '.join(sorted(unknown))}")
        issuers.append(
            ExternalIssuer(
                **{
                    **entry,
                    "algorithms": algorithms,
                    "token_types": tuple(entry.get("token_types", ("at+jwt", "JWT"))),
                    "roles": roles,
                    "organisations": dict(entry.get("organisations", {})),
                }
            )
        )
    return tuple(issuers)


class JWKSCache:
    """Fetches and caches each issuer's key set.

    A token with a kid we have not seen triggers one refetch (keys rotate), at
    most every ``JWKS_MIN_REFRESH_SECONDS`` so a stream of forged kids cannot
    make us hammer the identity provider.
    """

    def __init__(self, fetch=None):
        self._fetch = fetch or _fetch_json
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, KeySet]] = {}

    def keys(self, url: str, kid: str) -> KeySet:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(url)
            fresh = cached is not None and now - cached[0] < JWKS_TTL_SECONDS
            knows_kid = cached is not None and any(k.kid == kid for k in cached[1].keys)
            may_refresh = cached is None or now - cached[0] >= JWKS_MIN_REFRESH_SECONDS
            if (not fresh or not knows_kid) and may_refresh:
                cached = (now, KeySet.import_key_set(self._fetch(url)))
                self._cache[url] = cached
            return cached[1]


def _fetch_json(url: str) -> dict[str, Any]:
    if not url.startswith(("https://", "http://127.", "http://localhost", "http://[::1]")):
        raise ValueError("JWKS URLs must be https (plain http only on loopback)")
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - scheme checked above
        return json.loads(response.read(JWKS_MAX_BYTES + 1)[:JWKS_MAX_BYTES])
