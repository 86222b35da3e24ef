from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime

from authlib.oauth2.rfc6749 import ClientMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.alliance.models import Organisation, Person
from registry.db import db, utcnow

SECRET_AUTH_METHODS = frozenset({"client_secret_basic", "client_secret_post"})


def hash_secret(secret: str) -> str:
    # Client secrets are 256 random bits made by us, so a plain hash is as
    # strong as a slow KDF here and keeps the token endpoint fast.
    return hashlib.sha256(secret.encode()).hexdigest()


class ServiceClient(db.Model, ClientMixin):
    """A provider's system that obtains tokens with the client-credentials grant.

    It acts through a person of its own (no email) who is a member of the
    organisation it was registered for.
    """

    __tablename__ = "service_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    person: Mapped[Person] = relationship(lazy="joined")

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, hash_secret(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in SECRET_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials" and self.revoked_at is None


class ExternalIdentity(db.Model):
    """A person as an external issuer knows them: found by (issuer, subject), never
    by an email an issuer merely asserts."""

    __tablename__ = "external_identities"

    issuer: Mapped[str] = mapped_column(String(500), primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship(lazy="joined")
