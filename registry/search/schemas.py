"""What GET /api/v1/search accepts and returns."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from registry.ip.models import Origin, Sensitivity
from registry.ip.schemas import PER_PAGE_MAX, IdeaShownSchema, Tag
from registry.search.interface import Query
from registry.search.query import MAX_ITEMS, MAX_LENGTH, QueryError, parse

TAGS_MAX = 10
SORTS = ("relevance", "newest", "oldest")


class QueryText(ma.fields.String):
    """The query, parsed by our parser (registry/search/query.py) into a :class:`Query`."""

    def _deserialize(self, value, attr, data, **kwargs) -> Query:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parse(text)
        except QueryError as error:
            raise ma.ValidationError(str(error)) from None


class SearchQuerySchema(ma.Schema):
    """The query and filters. The view refuses unknown parameters: a mistyped filter must
    not quietly search the whole register."""

    q = QueryText(
        load_default=lambda: Query(()),
        metadata={
            "description": 'Words, "quoted phrases", -exclusions and OR (upper case) between '
            f"two items; at most {MAX_LENGTH} characters and {MAX_ITEMS} items. Empty: browse "
            "by the filters, newest first.",
            "maxLength": MAX_LENGTH,
        },
    )
    owner = ma.fields.UUID()
    origin = ma.fields.Enum(Origin, by_value=True)
    group = ma.fields.UUID()
    sensitivity = ma.fields.Enum(Sensitivity, by_value=True)
    tag = ma.fields.List(
        Tag(),
        validate=validate.Length(max=TAGS_MAX),
        metadata={"description": "Repeat to ask for ideas with every one of these tags."},
    )
    submitted_after = ma.fields.AwareDateTime(
        metadata={"description": "First registered at or after (RFC 3339 with offset)."}
    )
    submitted_before = ma.fields.AwareDateTime(
        metadata={"description": "First registered before (RFC 3339 with offset)."}
    )
    include_withdrawn = ma.fields.Boolean(load_default=False)
    sort = ma.fields.String(
        validate=validate.OneOf(SORTS),
        metadata={"description": "relevance (the default with q; needs q), newest, oldest."},
    )
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = ma.fields.Integer(load_default=20, validate=validate.Range(1, PER_PAGE_MAX))
    facets = ma.fields.Boolean(load_default=True)

    @ma.validates_schema
    def _relevance_needs_words(self, data, **_kwargs):
        if data.get("sort") == "relevance" and not data["q"].required:
            raise ma.ValidationError("Sorting by relevance needs words to find (q).", "sort")


class SnippetSchema(ma.Schema):
    field = ma.fields.String(metadata={"description": "title, summary, tags or body"})
    text = ma.fields.String()
    highlights = ma.fields.List(
        ma.fields.List(ma.fields.Integer()),
        metadata={"description": "[start, end) character offsets of the matches in text."},
    )


_SNIPPET = SnippetSchema()


class SearchHitSchema(IdeaShownSchema):
    """An idea exactly as the ideas list shows it to this reader, and a snippet."""

    snippet = ma.fields.Nested(SnippetSchema, allow_none=True)

    def dump(self, obj, *, many=None):
        if self.many if many is None else many:
            return [self.dump(item, many=False) for item in obj]
        data = super().dump(obj.shown, many=False)
        data["snippet"] = _SNIPPET.dump(obj.snippet) if obj.snippet else None
        return data


class FacetSchema(ma.Schema):
    id = ma.fields.String(metadata={"description": "The value to pass back as the filter."})
    name = ma.fields.String()
    count = ma.fields.Integer()


class FacetsSchema(ma.Schema):
    group = ma.fields.List(ma.fields.Nested(FacetSchema))
    owner = ma.fields.List(ma.fields.Nested(FacetSchema))
    origin = ma.fields.List(ma.fields.Nested(FacetSchema))
    tag = ma.fields.List(ma.fields.Nested(FacetSchema))


class SearchPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SearchHitSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    facets = ma.fields.Nested(
        FacetsSchema,
        metadata={
            "description": "Counts over every idea found, not just this page; {} when facets=false."
        },
    )
    suggestion = ma.fields.String(
        allow_none=True,
        metadata={"description": "A corrected q that finds ideas, when q found none."},
    )
