"""What the grants API accepts and returns."""

from __future__ import annotations

import uuid

import marshmallow as ma
from marshmallow import validate

GRANTEES = ("organisation", "group", "person")
EMAIL_MAX = 254


class PersonField(ma.fields.Field):
    """A person, by id or by email."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not value.strip():
            raise ma.ValidationError("Give a person's id or email.")
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
        validate.Email(error="Not a person's id or email.")(value.strip())
        if len(value) > EMAIL_MAX:
            raise ma.ValidationError(f"Longer than {EMAIL_MAX} characters.")
        return value.strip().lower()


class GrantCreateSchema(ma.Schema):
    """Share the idea with exactly one organisation, group or person."""

    organisation = ma.fields.UUID(metadata={"description": "An organisation's id."})
    group = ma.fields.UUID(metadata={"description": "A forum, cluster or the Executive Group."})
    person = PersonField(
        metadata={"description": "A person's id or email.", "type": "string"},
    )
    expires_at = ma.fields.AwareDateTime(
        load_default=None,
        metadata={"description": "When the grant ends (RFC 3339 with offset, in the future)."},
    )

    @ma.validates_schema
    def _one_grantee(self, data, **_kwargs):
        named = [name for name in GRANTEES if data.get(name) is not None]
        if len(named) != 1:
            message = "Name exactly one of organisation, group or person."
            raise ma.ValidationError({name: [message] for name in named or GRANTEES})


class GrantSchema(ma.Schema):
    """A grant, and its status when it was read: active, revoked or expired."""

    id = ma.fields.UUID(attribute="grant.id")
    idea = ma.fields.UUID(attribute="grant.idea_id")
    grantee_kind = ma.fields.String(attribute="grant.grantee_kind")
    grantee = ma.fields.UUID(attribute="grant.grantee_id")
    grantee_name = ma.fields.String(attribute="grant.grantee_name")
    granted_by = ma.fields.UUID(attribute="grant.granted_by_id")
    granted_at = ma.fields.DateTime(attribute="grant.granted_at", format="iso")
    expires_at = ma.fields.DateTime(attribute="grant.expires_at", format="iso", allow_none=True)
    revoked_at = ma.fields.DateTime(attribute="grant.revoked_at", format="iso", allow_none=True)
    revoked_by = ma.fields.UUID(attribute="grant.revoked_by_id", allow_none=True)
    status = ma.fields.String()


class SharedSchema(GrantSchema):
    """A new grant with the receipt that proves it (see docs/receipts.md)."""

    receipt = ma.fields.Dict()
