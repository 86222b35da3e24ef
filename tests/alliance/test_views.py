"""The alliance directory: organisations, groups and who the caller is."""

from __future__ import annotations

import uuid

import pytest

from registry import demo
from tests.ip.checks import error_body

# The alliance's standing groups, as the issue names them; seeded by the migrations.
GROUPS = {
    "general-practice": ("forum", "General Practice"),
    "mental-health-ld-autism": ("forum", "Mental Health, Learning Disabilities and Autism"),
    "enhanced-primary-community-care": ("forum", "Enhanced Primary and Community Care"),
    "urgent-intermediate-care": ("forum", "Urgent and Intermediate Care"),
    "alliance-executive-group": ("executive", "Alliance Executive Group"),
}
# Every database agrees on the groups' ids: they are derived from the slug.
GENERAL_PRACTICE_ID = "3f17f614-94cf-5b10-ba64-aad683a7daa9"


@pytest.fixture
def get(client, auth):
    """A factory: GET an API path as ``by``; return the response."""
    return lambda path, by="pat@northside.example": client.get(f"/api/v1{path}", headers=auth(by))


def test_organisations_are_the_ccg_and_the_providers(get):
    response = get("/organisations")
    assert response.status_code == 200
    found = {o["name"]: (o["kind"], o["ods_code"]) for o in response.json}
    assert found == {name: (kind.value, ods) for kind, name, ods in demo.ORGANISATIONS}
    assert [o["name"] for o in response.json] == sorted(found)
    assert all(uuid.UUID(o["id"]) for o in response.json)
    assert set(response.json[0]) == {"id", "kind", "name", "ods_code"}


def test_groups_are_the_four_forums_and_the_executive_group(get):
    response = get("/groups")
    assert response.status_code == 200
    assert {g["slug"]: (g["kind"], g["name"]) for g in response.json} == GROUPS
    assert len(response.json) == len(GROUPS)
    ids = {g["slug"]: g["id"] for g in response.json}
    assert ids["general-practice"] == GENERAL_PRACTICE_ID
    assert [g["kind"] for g in response.json] == ["executive"] + ["forum"] * 4


@pytest.mark.parametrize(
    "person",
    [
        "carol@ccg.example",
        "pat@northside.example",
        "quinn@riverside.example",
        "fran@northside.example",
        "audrey@audit.example",
        "adam@ccg.example",
    ],
)
def test_every_signed_in_person_reads_the_directory(get, person):
    assert get("/organisations", by=person).status_code == 200
    assert get("/groups", by=person).status_code == 200
    assert get("/me", by=person).status_code == 200


@pytest.mark.parametrize("path", ["/organisations", "/groups", "/me"])
def test_the_directory_needs_a_token(client, path):
    response = client.get(f"/api/v1{path}")
    error_body(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("person", "memberships", "groups"),
    [
        ("pat@northside.example", [("Northside GP Federation", "member")], []),
        ("quinn@riverside.example", [("Riverside Community Care", "member")], []),
        (
            "fran@northside.example",
            [("Northside GP Federation", "member")],
            ["general-practice"],
        ),
        ("carol@ccg.example", [("NHS Sunderland CCG (demo)", "ccg_staff")], []),
        ("audrey@audit.example", [("NHS Sunderland CCG (demo)", "auditor")], []),
        ("adam@ccg.example", [("NHS Sunderland CCG (demo)", "admin")], []),
    ],
)
def test_me_says_who_the_token_speaks_for(get, directory, person, memberships, groups):
    me = get("/me", by=person).json
    expected_name = next(name for email, name, _, _ in demo.PEOPLE if email == person)
    assert me["email"] == person
    assert me["display_name"] == expected_name
    assert uuid.UUID(me["id"])
    assert [(m["organisation_name"], m["role"]) for m in me["memberships"]] == memberships
    assert [m["organisation"] for m in me["memberships"]] == [
        directory[name] for name, _ in memberships
    ]
    assert [g["slug"] for g in me["groups"]] == groups
    for group in me["groups"]:
        assert group == {
            "id": directory[group["slug"]],
            "kind": GROUPS[group["slug"]][0],
            "slug": group["slug"],
            "name": GROUPS[group["slug"]][1],
        }


def test_people_are_told_apart(get):
    ids = {get("/me", by=p).json["id"] for p in ("pat@northside.example", "fran@northside.example")}
    assert len(ids) == 2


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/organisations", "/groups", "/me"])
def test_the_directory_is_read_only_through_the_api(client, auth, method, path):
    response = client.open(
        f"/api/v1{path}", method=method, json={}, headers=auth("adam@ccg.example")
    )
    error_body(response, 405)
