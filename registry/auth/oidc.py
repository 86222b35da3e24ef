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

import ipaddress
import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from registry.alliance.models import Role

log = logging.getLogger(__name__)

PROFILES = ("generic", "entra")
# Signature algorithms whose verification key can be public: never HMAC, never "none".
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
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
    # Email domains this issuer is trusted to vouch for: only for these may its
    # tokens be linked to a person the registry already knows by email.
    email_domains: tuple[str, ...] = ()

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
        if not allowed_jwks_url(entry["jwks_url"]):
            raise ConfigError(f"{where}.jwks_url must be https (plain http only on loopback)")
        profile = entry.get("profile", "generic")
        if profile not in PROFILES:
            raise ConfigError(f"{where}.profile must be one of {', '.join(PROFILES)}")
        if profile == "entra":
            entry = _entra_defaults(entry)
            if not entry.get("organisations"):
                raise ConfigError(f"{where}.organisations must list the allowed tenants")
        roles_map = _strings_map(where, "roles", entry.get("roles", {}))
        try:
            roles = {k: Role(v) for k, v in roles_map.items()}
        except ValueError as exc:
            raise ConfigError(f"{where}.roles: {exc}") from None
        organisations = _strings_map(where, "organisations", entry.get("organisations", {}))
        algorithms = _strings(where, "algorithms", entry.get("algorithms", ("RS256",)))
        token_types = _strings(where, "token_types", entry.get("token_types", ("at+jwt", "JWT")))
        email_domains = (
            tuple(d.lower() for d in _strings(where, "email_domains", entry["email_domains"]))
            if "email_domains" in entry
            else ()
        )
        if not set(algorithms) <= ASYMMETRIC_ALGORITHMS:
            raise ConfigError(
                f"{where}.algorithms must be asymmetric signature algorithms "
                f"({', '.join(sorted(ASYMMETRIC_ALGORITHMS))})"
            )
        known = set(ExternalIssuer.__dataclass_fields__)
        unknown = set(entry) - known
        if unknown:
            raise ConfigError(f"{where} has unknown settings: {', '.join(sorted(unknown))}")
        issuers.append(
            ExternalIssuer(
                **{
                    **entry,
                    "algorithms": algorithms,
                    "token_types": token_types,
                    "email_domains": email_domains,
                    "roles": roles,
                    "organisations": organisations,
                }
            )
        )
    return tuple(issuers)


def _strings(where: str, name: str, value: Any) -> tuple[str, ...]:
    from registry.config import ConfigError

    if (
        not isinstance(value, list | tuple)
        or not value
        or not all(isinstance(v, str) and v for v in value)
    ):
        raise ConfigError(f"{where}.{name} must be a non-empty list of strings")
    return tuple(value)


def _strings_map(where: str, name: str, value: Any) -> dict[str, str]:
    from registry.config import ConfigError

    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ConfigError(f"{where}.{name} must be an object whose values are strings")
    return dict(value)


def allowed_jwks_url(url: str) -> bool:
    """True for https URLs, and for plain http only to this machine (a local identity provider)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    if parts.scheme != "http" or parts.username is not None:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname or "").is_loopback
    except ValueError:
        return False


class KeySetUnavailableError(ValueError):
    """An issuer's key set could not be fetched or read, and none is cached."""


class JWKSCache:
    """Fetches and caches each issuer's key set.

    A token with a kid we have not seen triggers one refetch (keys rotate), at
    most every ``JWKS_MIN_REFRESH_SECONDS`` so a stream of forged kids cannot
    make us hammer the identity provider. Failed fetches count too: an
    unreachable provider costs one timeout per interval, not one per request.
    If a refresh fails, the keys fetched before stay in use.
    """

    def __init__(self, fetch=None, clock=time.monotonic):
        self._fetch = fetch or _fetch_json
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, KeySet]] = {}
        self._attempted: dict[str, float] = {}

    def keys(self, url: str, kid: str) -> KeySet:
        """The key set at ``url``; raises ``KeySetUnavailableError`` if there is none."""
        now = self._clock()
        with self._lock:
            cached = self._cache.get(url)
            fresh = cached is not None and now - cached[0] < JWKS_TTL_SECONDS
            knows_kid = cached is not None and any(k.kid == kid for k in cached[1].keys)
            attempted = self._attempted.get(url)
            may_refresh = attempted is None or now - attempted >= JWKS_MIN_REFRESH_SECONDS
            if (not fresh or not knows_kid) and may_refresh:
                self._attempted[url] = now
                try:
                    cached = (now, _public_key_set(self._fetch(url)))
                except (OSError, ValueError, TypeError, KeyError, JoseError) as exc:
                    log.warning("cannot fetch the key set at %s: %s", url, exc)
                else:
                    self._cache[url] = cached
            if cached is None:
                raise KeySetUnavailableError("the issuer's keys cannot be fetched")
            return cached[1]


def _public_key_set(document: Any) -> KeySet:
    # Only asymmetric keys verify anything here; an "oct" key in a published
    # set is a mistake at best, and joserfc fails on it with an AttributeError.
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise ValueError("not a JWKS document")
    public = [k for k in keys if isinstance(k, dict) and k.get("kty") in {"RSA", "EC", "OKP"}]
    return KeySet.import_key_set({"keys": public})


def _fetch_json(url: str) -> dict[str, Any]:
    if not allowed_jwks_url(url):
        raise ValueError("JWKS URLs must be https (plain http only on loopback)")
    with _NO_REDIRECTS.open(url, timeout=5) as response:
        return json.loads(response.read(JWKS_MAX_BYTES + 1)[:JWKS_MAX_BYTES])


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect could lead from the checked https URL to anywhere, http included.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise urllib.error.HTTPError(req.full_url, code, "JWKS redirects are refused", headers, fp)


_NO_REDIRECTS = urllib.request.build_opener(_RefuseRedirects)
