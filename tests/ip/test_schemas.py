"""What the ideas API accepts: every limit refused with a 422 naming the field, and documented."""

from __future__ import annotations

import uuid

import pytest

from registry.ip import schemas
from tests.ip.checks import error_body
from tests.ip.conftest import PAT, VERSION

IDEA = {
    "title": "Frailty link workers",
    "summary": "Link workers for frail patients.",
    "body": "Each practice refers frail patients to a link worker.",
    "tags": ["frailty"],
    "sensitivity": "commercial",
    "origin": "provider",
}

# (field, value): each breaks exactly one rule of the schema.
REFUSED = [
    ("title", 123),
    ("title", ""),
    ("title", None),
    ("title", "x" * (schemas.TITLE_MAX + 1)),
    ("summary", ["a", "list"]),
    ("summary", "x" * (schemas.SUMMARY_MAX + 1)),
    ("body", {"an": "object"}),
    ("body", "x" * (schemas.BODY_MAX + 1)),
    ("tags", "frailty"),
    ("tags", [f"tag {n}" for n in range(schemas.TAGS_MAX + 1)]),
    ("tags", ["x" * (schemas.TAG_MAX + 1)]),
    ("tags", ["#frailty"]),
    ("tags", ["frailty; drop table"]),
    ("tags", [""]),
    ("tags", [7]),
    ("tags", ["frailty", "Frailty"]),  # the same tag once compared in lower case
    ("sensitivity", "secret"),
    ("sensitivity", "Public"),
    ("sensitivity", None),
    ("origin", "cluster"),
    ("origin", 1),
    ("derived_from", "3f17f614-94cf-5b10-ba64-aad683a7daa9"),
    ("derived_from", ["not-a-uuid"]),
    ("derived_from", [str(uuid.UUID(int=n)) for n in range(schemas.DERIVED_FROM_MAX + 1)]),
    ("owner", "northside"),
    ("group", 42),
    ("colour", "red"),  # an unknown field
]


def _ids(case):
    field, value = case
    shown = repr(value)
    return f"{field}={shown[:20]}{'...' if len(shown) > 20 else ''}({len(shown)})"


@pytest.mark.parametrize("case", REFUSED, ids=map(_ids, REFUSED))
def test_a_bad_field_is_refused_naming_it(client, auth, nothing_written, case):
    field, value = case
    with nothing_written():
        response = client.post("/api/v1/ideas", json={**IDEA, field: value}, headers=auth(PAT))
        body = error_body(response, 422)
    assert list(body["errors"]) == ["json"]
    assert list(body["errors"]["json"]) == [field]
    assert field in body["message"]


@pytest.mark.parametrize("field", ["title", "summary", "body", "sensitivity", "origin"])
def test_a_missing_field_is_refused_naming_it(client, auth, nothing_written, field):
    payload = {k: v for k, v in IDEA.items() if k != field}
    with nothing_written():
        body = error_body(client.post("/api/v1/ideas", json=payload, headers=auth(PAT)), 422)
    assert body["errors"]["json"] == {field: ["Missing data for required field."]}


def test_every_field_at_fault_is_named_at_once(client, auth, nothing_written):
    payload = {**IDEA, "title": "", "sensitivity": "secret", "colour": "red"}
    with nothing_written():
        body = error_body(client.post("/api/v1/ideas", json=payload, headers=auth(PAT)), 422)
    assert set(body["errors"]["json"]) == {"title", "sensitivity", "colour"}


@pytest.mark.parametrize("document", [["a", "list"], "a string", 42, True])
def test_a_body_that_is_not_an_object_is_refused(client, auth, nothing_written, document):
    with nothing_written():
        body = error_body(client.post("/api/v1/ideas", json=document, headers=auth(PAT)), 422)
    assert list(body["errors"]["json"]) == ["_schema"]


@pytest.mark.parametrize(
    "case",
    [
        ("title", "x" * (schemas.TITLE_MAX + 1)),
        ("tags", ["#frailty"]),
        ("sensitivity", "secret"),
        ("origin", "cluster"),
        ("colour", "red"),
        ("derived_from", ["not-a-uuid"]),
    ],
    ids=_ids,
)
def test_a_new_version_is_checked_the_same_way(make_idea, add_version, nothing_written, case):
    idea = make_idea()
    field, value = case
    with nothing_written():
        body = add_version(idea["id"], expect=422, **{field: value})
    assert list(body["errors"]["json"]) == [field]


def test_fields_at_their_limits_are_accepted(make_idea, fetch):
    sources = [make_idea(title=f"Source {n}")["id"] for n in range(schemas.DERIVED_FROM_MAX)]
    limits = {
        "title": "t" * schemas.TITLE_MAX,
        "summary": "s" * schemas.SUMMARY_MAX,
        "body": "b" * schemas.BODY_MAX,
        "tags": [f"tag {n}" for n in range(schemas.TAGS_MAX - 1)] + ["x" * schemas.TAG_MAX],
        "derived_from": sources,
    }
    idea = make_idea(**limits)
    stored = fetch(f"/ideas/{idea['id']}/versions/1", by=PAT)
    assert {field: stored[field] for field in limits} == limits


def test_tags_are_compared_in_lower_case_and_trimmed(make_idea, fetch):
    idea = make_idea(tags=["Frailty", " Falls Prevention ", "café", "under_score", "year-2026"])
    assert fetch(f"/ideas/{idea['id']}")["tags"] == [
        "frailty",
        "falls prevention",
        "café",
        "under_score",
        "year-2026",
    ]


def test_tags_and_sources_may_be_left_out(client, auth):
    payload = {k: v for k, v in IDEA.items() if k != "tags"}
    response = client.post("/api/v1/ideas", json=payload, headers=auth(PAT))
    assert response.status_code == 201
    assert (response.json["tags"], response.json["derived_from"]) == ([], [])


def test_a_version_needs_its_content_again(make_idea, add_version):
    idea = make_idea()
    body = add_version(idea["id"], expect=422, title=None, summary=None, body=None)
    assert set(body["errors"]["json"]) == {"title", "summary", "body"}
    assert add_version(idea["id"], **VERSION)["version"] == 2


# -- documented limits -----------------------------------------------------------


@pytest.fixture
def openapi(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json


@pytest.mark.parametrize("schema", ["IdeaCreate", "VersionCreate"])
def test_the_openapi_document_gives_the_field_limits(openapi, schema):
    properties = openapi["components"]["schemas"][schema]["properties"]
    assert properties["title"]["maxLength"] == schemas.TITLE_MAX == 300
    assert properties["summary"]["maxLength"] == schemas.SUMMARY_MAX == 4000
    assert properties["body"]["maxLength"] == schemas.BODY_MAX == 100_000
    assert properties["tags"]["maxItems"] == schemas.TAGS_MAX == 20
    assert properties["tags"]["items"]["maxLength"] == schemas.TAG_MAX == 64
    assert properties["tags"]["items"]["pattern"] == schemas.TAG_PATTERN.pattern
    assert properties["derived_from"]["maxItems"] == schemas.DERIVED_FROM_MAX == 50
    assert properties["derived_from"]["items"]["format"] == "uuid"
    assert properties["sensitivity"]["enum"] == ["public", "alliance", "commercial", "confidential"]
    # On a new version origin may be null (it is accepted only to refuse a change).
    assert [o for o in properties["origin"]["enum"] if o is not None] == ["provider", "forum"]
    assert openapi["components"]["schemas"][schema]["additionalProperties"] is False


def test_the_openapi_document_gives_the_list_limits(openapi):
    parameters = {p["name"]: p for p in openapi["paths"]["/api/v1/ideas"]["get"]["parameters"]}
    assert parameters["per_page"]["schema"]["maximum"] == schemas.PER_PAGE_MAX == 100
    assert parameters["per_page"]["schema"]["minimum"] == 1
    assert parameters["page"]["schema"]["minimum"] == 1
    assert parameters["submitted_after"]["schema"]["format"] == "date-time"
    assert "offset" in parameters["submitted_after"]["description"]
    withdraw = openapi["components"]["schemas"]["Withdraw"]["properties"]["reason"]
    assert withdraw["maxLength"] == schemas.REASON_MAX


def test_the_openapi_document_gives_the_body_limit(openapi, app):
    assert f"at most {app.config['MAX_CONTENT_LENGTH']} bytes" in openapi["info"]["description"]
