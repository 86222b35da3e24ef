"""The registry as its own OAuth 2.0 authorization server (client-credentials grant)."""

from __future__ import annotations

import json
import logging

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from flask import Flask
from sqlalchemy import select

from registry.auth.models import SECRET_AUTH_METHODS, ServiceClient
from registry.auth.tokens import AccessTokenGenerator
from registry.db import db

# authlib leaves these errors without a description; the message says what to do.
MESSAGES = {"unsupported_grant_type": "The only grant_type is client_credentials."}


class ClientCredentials(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = sorted(SECRET_AUTH_METHODS)


class RegistryAuthorizationServer(AuthorizationServer):
    def handle_response(self, status_code, payload, headers):
        # OAuth clients read `error`; everyone else reads the registry's shape.
        if status_code >= 400 and isinstance(payload, dict) and "error" in payload:
            from http import HTTPStatus

            payload = {
                "code": status_code,
                "status": HTTPStatus(status_code).phrase,
                "message": payload.get("error_description")
                or MESSAGES.get(payload["error"], payload["error"]),
                "errors": {},
                **payload,
            }
        headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
        headers.append(("Content-Type", "application/json"))
        return super().handle_response(status_code, json.dumps(payload), headers)


def _query_client(client_id: str) -> ServiceClient | None:
    return db.session.scalar(select(ServiceClient).where(ServiceClient.client_id == client_id))


def _save_token(token, request) -> None:
    # JWT access tokens are self-contained and short-lived: nothing to store.
    return None


class IssuedTokenRedaction(logging.Filter):
    """Keep the token out of authlib's DEBUG record of every token it issues ("Issue token
    %r to %r"): a bearer token in a server log works for whoever reads the log. A filter on
    the logger, not a level, so that no logging configuration lets the token through."""

    SECRETS = frozenset({"access_token", "refresh_token", "id_token"})

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._redacted(arg) for arg in record.args)
        return True

    def _redacted(self, value):
        if isinstance(value, dict) and self.SECRETS & value.keys():
            return {k: "[redacted]" if k in self.SECRETS else v for k, v in value.items()}
        return value


def _redact_issued_tokens() -> None:
    # The record is made by the grant's own module logger; filters apply only there.
    logger = logging.getLogger(ClientCredentialsGrant.__module__)
    if not any(isinstance(f, IssuedTokenRedaction) for f in logger.filters):
        logger.addFilter(IssuedTokenRedaction())


def create_server(app: Flask, generator: AccessTokenGenerator) -> RegistryAuthorizationServer:
    _redact_issued_tokens()
    server = RegistryAuthorizationServer(app, query_client=_query_client, save_token=_save_token)
    server.register_token_generator("default", generator)
    server.register_grant(ClientCredentials)
    return server
