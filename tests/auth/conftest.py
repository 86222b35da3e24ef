"""Fixtures for authentication: service clients, forged tokens and a loopback JWKS server."""

from __future__ import annotations

import base64
import functools
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from flask import Flask
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy import select

from registry.alliance.models import Organisation, Person, Role
from registry.alliance.services import ensure_membership, person_by_email
from registry.auth.models import ServiceClient, hash_secret
from registry.db import db


def b64url(data: bytes | dict | list) -> str:
    if not isinstance(data, bytes):
        data = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(segment: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def compact(header: dict, payload: dict, signature: bytes = b"") -> str:
    """A compact JWS built by hand, for what joserfc rightly refuses to produce."""
    return f"{b64url(header)}.{b64url(payload)}.{b64url(signature)}"


def es256(key: ECKey, header: dict, payload: dict) -> str:
    """A compact JWS signed ES256 by hand, whatever the header says (joserfc checks headers)."""
    signing_input = f"{b64url(header)}.{b64url(payload)}"
    der = key.private_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str


@pytest.fixture
def make_service_client(app: Flask) -> Callable[..., ClientCredentials]:
    """A factory: register a service client for an organisation, as `registry clients create`."""

    def make(organisation: str = "DEMO1", name: str = "Northside EPR") -> ClientCredentials:
        secret = secrets.token_urlsafe(32)
        with app.app_context():
            org = db.session.scalar(
                select(Organisation).where(Organisation.ods_code == organisation)
            )
            person = Person(email=None, display_name=f"{name} (service client of {org.name})")
            db.session.add(person)
            db.session.flush()
            ensure_membership(person, org, Role.MEMBER)
            client = ServiceClient(
                client_id="svc-" + secrets.token_hex(8),
                secret_hash=hash_secret(secret),
                name=name,
                organisation=org,
                person=person,
            )
            db.session.add(client)
            db.session.commit()
            return ClientCredentials(client.client_id, secret)

    return make


@pytest.fixture
def registry_key(app: Flask) -> ECKey:
    """The registry's own signing key (private), as loaded from the instance folder."""
    return app.extensions["registry.token_keys"].keys[0]


@pytest.fixture
def own_claims(app: Flask) -> Callable[..., dict[str, Any]]:
    """A factory: the claims of a valid registry access token for a person, with overrides."""

    def make(email: str = "pat@northside.example", **overrides) -> dict[str, Any]:
        with app.app_context():
            person = person_by_email(email)
            assert person is not None
            subject = str(person.id)
        now = int(time.time())
        claims = {
            "iss": app.config["ISSUER"],
            "aud": app.config["REGISTRY"]["AUDIENCE"],
            "sub": subject,
            "client_id": "registry-demo-cli",
            "iat": now,
            "exp": now + 300,
            "jti": secrets.token_hex(8),
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    return make


def sign_with(key: ECKey | RSAKey, claims: dict[str, Any], **header) -> str:
    """Sign claims with ``key``; the header has its ``alg`` and ``kid`` unless overridden.

    A header value of ``None`` leaves that parameter out (joserfc adds no ``typ`` of its own).
    """
    fields = {"alg": "RS256" if isinstance(key, RSAKey) else "ES256", "kid": key.kid, **header}
    fields = {k: v for k, v in fields.items() if v is not None}
    return jwt.encode(fields, claims, key, algorithms=[fields["alg"]], default_type=None)


@pytest.fixture
def sign(registry_key: ECKey) -> Callable[..., str]:
    """A factory: sign claims as the registry does (ES256, typ at+jwt, our kid), with overrides."""

    def make(claims: dict[str, Any], key: ECKey | RSAKey | None = None, **header) -> str:
        header = {"typ": "at+jwt", "kid": registry_key.kid, **header}
        return sign_with(key or registry_key, claims, **header)

    return make


@functools.cache
def rsa_key(number: int) -> RSAKey:
    """The n-th RSA key of the run: generating 2048-bit keys is slow, and tests may share them."""
    return RSAKey.generate_key(2048, private=True, auto_kid=True)


class _JWKSHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        server: JWKSServer = self.server.jwks  # type: ignore[attr-defined]
        server.requests += 1
        if self.path != "/jwks.json":
            self.send_error(404)
            return
        server.fetches += 1
        body = json.dumps(KeySet(server.keys).as_dict(private=False)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # keep the test output quiet
        return None


class JWKSServer:
    """An identity provider's key set, served over HTTP on a loopback port."""

    def __init__(self) -> None:
        self.keys: list[RSAKey | ECKey] = []
        self.requests = 0  # every GET
        self.fetches = 0  # the GETs that were answered with the key set
        self._http = HTTPServer(("127.0.0.1", 0), _JWKSHandler)
        self._http.jwks = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}/jwks.json"

    def new_key(self, kty: str = "RSA") -> RSAKey | ECKey:
        """Publish a new signing key and return it, private (RSA keys come from ``rsa_key``)."""
        if kty == "RSA":
            key = rsa_key(sum(isinstance(k, RSAKey) for k in self.keys))
        else:
            key = ECKey.generate_key("P-256", private=True, auto_kid=True)
        self.keys.append(key)
        return key

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()


@pytest.fixture
def jwks_server() -> Iterator[JWKSServer]:
    """A loopback HTTP server publishing a key set; keys are added with ``new_key``."""
    server = JWKSServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
