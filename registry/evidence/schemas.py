from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from registry.evidence.statements import COMMITTED_FIELDS

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


# POST /verify. The whole body is at most the app's MAX_CONTENT_LENGTH (1 MiB by
# default); a checkpoint is a few hundred bytes, so more than this is not one.
CHECKPOINT_MAX = 16_384


class _ContentValue(ma.fields.Field):
    """Text, or for tags the list of tags."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(tag, str) for tag in value):
            return value
        raise ma.ValidationError("Give the text, or for tags a list of strings.")


class VerifyRequestSchema(ma.Schema):
    receipt = ma.fields.Dict(
        required=True,
        metadata={"description": "A receipt as GET .../receipt returns it (docs/receipts.md)."},
    )
    content = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.OneOf(COMMITTED_FIELDS)),
        values=_ContentValue(),
        validate=validate.Length(min=1),
        metadata={
            "description": "Content to check against the commitments, by field: exact text "
            "for title, summary and body; for tags the list of tags (or the exact RFC 8785 "
            "JSON text of it). Needs a receipt with openings."
        },
    )
    previous_checkpoint = ma.fields.String(
        validate=validate.Length(1, CHECKPOINT_MAX),
        metadata={
            "description": "A checkpoint seen before (signed note text): the registry "
            "proves its log consistent with it."
        },
    )

    @ma.validates("content")
    def _lists_only_for_tags(self, value, **kwargs):
        for field, given in value.items():
            if isinstance(given, list) and field != "tags":
                raise ma.ValidationError(f"{field} is text, not a list.")


class CheckSchema(ma.Schema):
    check = ma.fields.String(metadata={"description": "format, signature, timestamp, ..."})
    ok = ma.fields.Boolean()
    detail = ma.fields.String()


class VerificationSchema(ma.Schema):
    ok = ma.fields.Boolean(metadata={"description": "True only if every check passed."})
    checks = ma.fields.List(ma.fields.Nested(CheckSchema))
