from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

ENTRIES_MAX = 1000


class InclusionQuerySchema(ma.Schema):
    index = ma.fields.Integer(required=True, validate=validate.Range(min=0))
    tree_size = ma.fields.Integer(
        validate=validate.Range(min=1),
        metadata={"description": "Defaults to the latest checkpoint."},
    )


class ConsistencyQuerySchema(ma.Schema):
    first = ma.fields.Integer(required=True, validate=validate.Range(min=1))
    second = ma.fields.Integer(required=True, validate=validate.Range(min=1))


class EntriesQuerySchema(ma.Schema):
    start = ma.fields.Integer(required=True, validate=validate.Range(min=0))
    end = ma.fields.Integer(
        required=True,
        validate=validate.Range(min=1),
        metadata={"description": f"Exclusive; at most {ENTRIES_MAX} entries per call."},
    )


class InclusionProofSchema(ma.Schema):
    index = ma.fields.Integer()
    tree_size = ma.fields.Integer()
    inclusion = ma.fields.List(ma.fields.String(), metadata={"description": "base64 hashes"})
    checkpoint = ma.fields.String(metadata={"description": "signed note for tree_size"})


class ConsistencyProofSchema(ma.Schema):
    first = ma.fields.Integer()
    second = ma.fields.Integer()
    consistency = ma.fields.List(ma.fields.String(), metadata={"description": "base64 hashes"})


class LogEntrySchema(ma.Schema):
    index = ma.fields.Integer(attribute="log_index")
    statement = ma.fields.Dict()
    statement_hash = ma.fields.String()
    signature = ma.fields.Dict()


class LogEntriesSchema(ma.Schema):
    entries = ma.fields.List(ma.fields.Nested(LogEntrySchema))
