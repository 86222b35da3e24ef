"""What the access log API accepts and returns."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

PER_PAGE_MAX = 100


class AccessLogQuerySchema(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = ma.fields.Integer(load_default=20, validate=validate.Range(1, PER_PAGE_MAX))


class AccessLogEntrySchema(ma.Schema):
    position = ma.fields.Integer(metadata={"description": "The entry's place in the chain."})
    at = ma.fields.DateTime(format="iso")
    person = ma.fields.UUID(attribute="person_id", allow_none=True)
    person_name = ma.fields.String(
        allow_none=True, metadata={"description": "The reader's name now; null: no token."}
    )
    organisations = ma.fields.List(ma.fields.String())
    idea = ma.fields.UUID(attribute="idea_id")
    version = ma.fields.Integer(allow_none=True)
    fields = ma.fields.List(ma.fields.String(), metadata={"description": "body, openings"})
    outcome = ma.fields.String(metadata={"description": "read or refused"})
    reason = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "Break-glass: the reason the administrator stated to read it; "
            "null for every other entry."
        },
    )
    endpoint = ma.fields.String()
    request_id = ma.fields.String()
    hash = ma.fields.Function(
        lambda entry: entry.hash.hex(),
        metadata={"description": "SHA-256(previous entry's hash || JCS of this entry), hex."},
    )


class AccessLogPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AccessLogEntrySchema))
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer()
