"""What the ideas API accepts and returns. Limits here are the documented limits."""

from __future__ import annotations

import re

import marshmallow as ma
from marshmallow import validate

from registry.ip.models import Origin, Sensitivity

TITLE_MAX = 300
SUMMARY_MAX = 4000
BODY_MAX = 100_000
TAGS_MAX = 20
TAG_MAX = 64
DERIVED_FROM_MAX = 50
REASON_MAX = 2000
PER_PAGE_MAX = 100
TAG_PATTERN = re.compile(r"^[\w][\w \-]*$")


class Tag(ma.fields.String):
    """A tag: letters, digits, spaces and hyphens, compared in lower case."""

    def __init__(self, **kwargs):
        super().__init__(
            validate=[
                validate.Length(1, TAG_MAX),
                validate.Regexp(TAG_PATTERN, error="Use letters, digits, spaces and hyphens."),
            ],
            **kwargs,
        )

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip().lower()


def _unique(values):
    if len(set(values)) != len(values):
        raise ma.ValidationError("Each value may appear only once.")


class VersionContentSchema(ma.Schema):
    title = ma.fields.String(required=True, validate=validate.Length(1, TITLE_MAX))
    summary = ma.fields.String(required=True, validate=validate.Length(1, SUMMARY_MAX))
    body = ma.fields.String(required=True, validate=validate.Length(1, BODY_MAX))
    tags = ma.fields.List(
        Tag(), load_default=list, validate=[validate.Length(max=TAGS_MAX), _unique]
    )
    sensitivity = ma.fields.Enum(Sensitivity, by_value=True, required=True)
    derived_from = ma.fields.List(
        ma.fields.UUID(),
        load_default=list,
        validate=[validate.Length(max=DERIVED_FROM_MAX), _unique],
        metadata={"description": "Ids of earlier ideas this one builds on."},
    )


class IdeaCreateSchema(VersionContentSchema):
    origin = ma.fields.Enum(
        Origin,
        by_value=True,
        required=True,
        metadata={
            "description": "provider: the provider's pre-existing idea, owned by it. "
            "forum: new IP evolved in a group, always owned by the CCG."
        },
    )
    owner = ma.fields.UUID(
        load_default=None,
        metadata={
            "description": "For provider ideas: a provider organisation you belong to "
            "(may be left out if you belong to one). Ignored for forum ideas."
        },
    )
    group = ma.fields.UUID(
        load_default=None,
        metadata={"description": "For forum ideas: the group it evolved in (required)."},
    )


class VersionCreateSchema(VersionContentSchema):
    # Accepted only to refuse a change with a clear message: a new version
    # keeps its idea's origin, owner and group.
    origin = ma.fields.Enum(Origin, by_value=True, load_default=None)
    owner = ma.fields.UUID(load_default=None)
    group = ma.fields.UUID(load_default=None)


class WithdrawSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(1, REASON_MAX))


class IdeaListQuerySchema(ma.Schema):
    """Filters for the list. The view refuses unknown parameters: a mistyped filter
    must not quietly return the unfiltered register."""

    owner = ma.fields.UUID()
    origin = ma.fields.Enum(Origin, by_value=True)
    group = ma.fields.UUID()
    tag = Tag()
    submitted_after = ma.fields.AwareDateTime(
        metadata={"description": "First registered at or after (RFC 3339 with offset)."}
    )
    submitted_before = ma.fields.AwareDateTime(
        metadata={"description": "First registered before (RFC 3339 with offset)."}
    )
    include_withdrawn = ma.fields.Boolean(load_default=False)
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = ma.fields.Integer(load_default=20, validate=validate.Range(1, PER_PAGE_MAX))


class IdeaRegistrationSchema(ma.Schema):
    """That an idea is registered, whose it is and when: for readers of no content."""

    id = ma.fields.UUID(attribute="idea.id")
    version = ma.fields.Integer(attribute="number")
    latest_version = ma.fields.Integer(attribute="idea.latest_version")
    state = ma.fields.String(attribute="idea.state")
    origin = ma.fields.String(attribute="idea.origin")
    owner = ma.fields.UUID(attribute="idea.owner_id")
    owner_name = ma.fields.String(attribute="idea.owner.name")
    group = ma.fields.UUID(attribute="idea.group_id", allow_none=True)
    group_name = ma.fields.Function(lambda v: v.idea.group.name if v.idea.group else None)
    sensitivity = ma.fields.String()
    submitted_by = ma.fields.UUID(attribute="submitted_by_id")
    submitted_at = ma.fields.DateTime(format="iso")
    registered_at = ma.fields.DateTime(attribute="idea.created_at", format="iso")
    withdrawn_at = ma.fields.DateTime(attribute="idea.withdrawn_at", format="iso")

    def get_attribute(self, obj, attr, default):
        """Each dotted attribute read by getattr alone: marshmallow's own reader asks
        every object on the path whether it is a mapping first, a quarter of a page's
        dump (a search page shows 20 ideas, 15 to 20 fields each)."""
        for name in attr.split("."):
            obj = getattr(obj, name, default)
            if obj is default:
                break
        return obj


class IdeaAbstractSchema(IdeaRegistrationSchema):
    """The abstract: what alliance members see of a commercial idea."""

    title = ma.fields.String()
    summary = ma.fields.String()
    tags = ma.fields.List(ma.fields.String())
    derived_from = ma.fields.List(ma.fields.UUID())
    withdrawal_reason = ma.fields.String(attribute="idea.withdrawal_reason")


class IdeaVersionSchema(IdeaAbstractSchema):
    """An idea as of one version, body included: for those who may read it."""

    body = ma.fields.String()


class IdeaShownSchema(IdeaVersionSchema):
    """Each idea in the form its reader may see: the registration, the abstract, or
    all of it, as the access policy decides (documented here in its fullest form)."""

    def dump(self, obj, *, many=None):
        from registry.access.policy import Action

        if self.many if many is None else many:
            return [self.dump(item, many=False) for item in obj]
        if Action.READ_BODY in obj.actions:
            audience = _AUDIENCES["body"]
        elif Action.READ_ABSTRACT in obj.actions:
            audience = _AUDIENCES["abstract"]
        else:
            audience = _AUDIENCES["registration"]
        data = audience.dump(obj.version)
        if getattr(obj.version, "shredded", False):
            # Erased for everyone: the sealed fields are left out, and said to be gone.
            from registry.sealing.service import sealed_fields

            for field in sealed_fields(obj.version.sensitivity):
                data.pop(field, None)
            data["shredded"] = True
        return data


# Built once: a schema's construction copies every field, and a page dumps many ideas.
_AUDIENCES = {
    "body": IdeaVersionSchema(),
    "abstract": IdeaAbstractSchema(),
    "registration": IdeaRegistrationSchema(),
}


class IdeaPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(IdeaShownSchema))
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer()


class SubmissionSchema(IdeaVersionSchema):
    """A stored version with its receipt (see docs/receipts.md)."""

    receipt = ma.fields.Dict(dump_only=True)

    @ma.pre_dump
    def _version(self, submission, **_kwargs):
        return submission.version

    @ma.post_dump(pass_original=True)
    def _receipt(self, data, submission, **_kwargs):
        return {**data, "receipt": submission.receipt}


class ReceiptSchema(ma.Schema):
    """A receipt: see docs/receipts.md for every member and how to verify it."""

    statement = ma.fields.Dict()
    signature = ma.fields.Dict()
    timestamps = ma.fields.List(ma.fields.Dict())
    log = ma.fields.Dict()
    openings = ma.fields.Dict()
