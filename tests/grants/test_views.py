"""Sharing an idea through the API: who may grant, to whom, and what a grant opens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from registry.evidence import statements as st
from tests.grants.conftest import (
    ADAM,
    AUDREY,
    CAROL,
    CCG,
    FRAN,
    GENERAL_PRACTICE,
    NORTHSIDE,
    PAT,
    QUINN,
    RIVERSIDE,
    later,
)
from tests.ip.checks import error_body


def test_a_grant_opens_the_body_to_the_organisations_members(
    make_idea, share, read, directory, verified
):
    idea = make_idea(by=PAT, sensitivity="commercial")
    assert "body" not in read(f"/ideas/{idea['id']}", by=QUINN)

    grant = share(idea["id"], organisation=directory[RIVERSIDE])

    assert grant["status"] == "active"
    assert grant["grantee_kind"] == "organisation"
    assert grant["grantee"] == directory[RIVERSIDE]
    assert grant["grantee_name"] == RIVERSIDE
    assert grant["expires_at"] is None
    assert grant["revoked_at"] is None
    verified(grant["receipt"])
    assert "openings" not in grant["receipt"]
    assert read(f"/ideas/{idea['id']}", by=QUINN)["body"] == idea["body"]
    assert read(f"/ideas/{idea['id']}/versions/1", by=QUINN)["body"] == idea["body"]


def test_the_grant_statement_names_the_grant_and_chains_to_the_idea(
    make_idea, share, read, directory
):
    idea = make_idea(by=PAT)
    grant = share(idea["id"], person=QUINN, expires_at=later(days=30))
    statement = grant["receipt"]["statement"]
    version_statement = read(f"/ideas/{idea['id']}/versions/1/receipt", by=PAT)["statement"]
    person = read("/me", by=QUINN)["id"]

    assert statement["type"] == st.IDEA_GRANT
    assert statement["idea"] == idea["id"]
    assert statement["grant"] == grant["id"]
    assert statement["grantee_kind"] == "person"
    assert statement["grantee"] == person
    assert statement["granted_by"] == read("/me", by=PAT)["id"]
    assert statement["granted_at"].endswith("Z")
    assert datetime.fromisoformat(statement["expires_at"]) == datetime.fromisoformat(
        grant["expires_at"]
    )
    assert statement["previous"] == _hash(version_statement)
    assert "title" not in statement
    assert "commitments" not in statement


def _hash(statement: dict) -> str:
    from registry.evidence.jcs import canonicalize

    return st.statement_hash(canonicalize(statement)).hex()


def test_the_grant_receipt_verifies_and_is_for_the_owners_side(make_idea, share, read, verified):
    idea = make_idea(by=PAT)
    grant = share(idea["id"], person=QUINN)
    path = f"/ideas/{idea['id']}/grants/{grant['id']}/receipt"

    receipt = read(path, by=FRAN)  # another Northside member: the owner's side
    verified(receipt)
    assert receipt["statement"] == grant["receipt"]["statement"]
    assert "openings" not in receipt
    for person in (QUINN, CAROL, AUDREY):  # the grantee, a member, an auditor
        read(path, by=person, expect=403)


def test_a_grant_to_a_group_reaches_its_members(make_idea, share, read, directory):
    idea = make_idea(by=QUINN, sensitivity="commercial")  # Riverside's
    share(idea["id"], by=QUINN, group=directory[GENERAL_PRACTICE])
    assert read(f"/ideas/{idea['id']}", by=FRAN)["body"] == idea["body"]
    assert "body" not in read(f"/ideas/{idea['id']}", by=PAT)  # Northside, not in the forum


def test_a_grant_to_the_ccg_reaches_its_staff_not_its_administrators(
    make_idea, share, read, directory
):
    idea = make_idea(by=PAT, sensitivity="confidential")
    read(f"/ideas/{idea['id']}", by=CAROL, expect=404)
    share(idea["id"], organisation=directory[CCG])
    assert read(f"/ideas/{idea['id']}", by=CAROL)["body"] == idea["body"]
    read(f"/ideas/{idea['id']}", by=ADAM, expect=404)


def test_a_grant_to_a_person_reaches_that_person_only(make_idea, share, read, directory):
    idea = make_idea(by=PAT, sensitivity="confidential")
    share(idea["id"], person=read("/me", by=QUINN)["id"])
    assert read(f"/ideas/{idea['id']}", by=QUINN)["body"] == idea["body"]
    read(f"/ideas/{idea['id']}", by=CAROL, expect=404)


def test_a_forum_ideas_group_members_may_share_it(make_idea, share, read, directory):
    idea = make_idea(
        by=FRAN, origin="forum", group=directory[GENERAL_PRACTICE], sensitivity="confidential"
    )
    share(idea["id"], by=FRAN, organisation=directory[RIVERSIDE])
    assert read(f"/ideas/{idea['id']}", by=QUINN)["body"] == idea["body"]


def test_revocation_closes_the_idea_at_once_for_the_same_token(
    make_idea, share, revoke, client, auth, directory
):
    idea = make_idea(by=PAT, sensitivity="confidential")
    grant = share(idea["id"], organisation=directory[RIVERSIDE])
    quinn = auth(QUINN)  # one token, issued while the grant is active
    assert client.get(f"/api/v1/ideas/{idea['id']}", headers=quinn).json["body"]

    revoke(idea["id"], grant["id"])

    error_body(client.get(f"/api/v1/ideas/{idea['id']}", headers=quinn), 404)
    listed = client.get("/api/v1/ideas", headers=quinn).json
    assert idea["id"] not in [item["id"] for item in listed["items"]]


def test_the_owners_side_lists_grants_with_their_status(
    make_idea, share, revoke, read, directory, monkeypatch
):
    idea = make_idea(by=PAT)
    active = share(idea["id"], organisation=directory[RIVERSIDE])
    revoked = share(idea["id"], person=CAROL)
    revoke(idea["id"], revoked["id"])
    expired = _expired_grant(monkeypatch, share, idea["id"], group=directory[GENERAL_PRACTICE])

    listed = read(f"/ideas/{idea['id']}/grants", by=FRAN)

    # Oldest first: the expired one was granted two hours ago.
    assert [(g["id"], g["status"]) for g in listed] == [
        (expired["id"], "expired"),
        (active["id"], "active"),
        (revoked["id"], "revoked"),
    ]
    assert listed[2]["revoked_by"] == read("/me", by=PAT)["id"]
    assert listed[2]["revoked_at"] is not None
    assert listed[1]["revoked_by"] is None


def _expired_grant(monkeypatch, share, idea_id: str, **grantee) -> dict:
    """A grant made two hours ago that expired an hour ago: the service's clock is set
    back while it grants, so nothing waits for real time to pass."""
    import registry.grants.services as services

    now = datetime.now(UTC)
    with monkeypatch.context() as patch:
        patch.setattr(services, "utcnow", lambda: now - timedelta(hours=2))
        return share(idea_id, expires_at=(now - timedelta(hours=1)).isoformat(), **grantee)


def test_an_expired_grant_opens_nothing(make_idea, share, read, directory, monkeypatch):
    idea = make_idea(by=PAT, sensitivity="confidential")
    _expired_grant(monkeypatch, share, idea["id"], organisation=directory[RIVERSIDE])
    read(f"/ideas/{idea['id']}", by=QUINN, expect=404)
    # ...and does not count as a duplicate: the grantee may be granted again.
    share(idea["id"], organisation=directory[RIVERSIDE])
    assert read(f"/ideas/{idea['id']}", by=QUINN)["body"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({}, "organisation", "exactly one"),
        ({"organisation": RIVERSIDE, "person": QUINN}, "person", "exactly one"),
        ({"organisation": "00000000-0000-4000-8000-000000000000"}, "organisation", "No such"),
        ({"group": "00000000-0000-4000-8000-000000000000"}, "group", "No such"),
        ({"person": "00000000-0000-4000-8000-000000000000"}, "person", "No such"),
        ({"person": "nobody@nowhere.example"}, "person", "No such"),
        ({"person": "not an email"}, "person", "id or email"),
        ({"organisation": NORTHSIDE}, "organisation", "owner"),
        ({"person": FRAN}, "person", "owner"),
        ({"person": PAT}, "person", "owner"),
        ({"person": QUINN, "expires_at": "PAST"}, "expires_at", "future"),
        ({"person": QUINN, "expires_at": "2030-01-01T00:00:00"}, "expires_at", ""),
    ],
)
def test_a_grant_that_names_no_proper_grantee_is_refused(
    make_idea, client, auth, directory, body, field, words
):
    idea = make_idea(by=PAT)
    body = {key: directory.get(value, value) for key, value in body.items()}
    if body.get("expires_at") == "PAST":
        body["expires_at"] = later(minutes=-1)
    response = client.post(f"/api/v1/ideas/{idea['id']}/grants", json=body, headers=auth(PAT))
    errors = error_body(response, 422)["errors"]["json"]
    assert field in errors, errors
    assert words in " ".join(errors[field])


def test_a_forum_idea_is_not_granted_to_its_owner_or_its_group(make_idea, share, directory):
    idea = make_idea(by=FRAN, origin="forum", group=directory[GENERAL_PRACTICE])
    share(idea["id"], by=FRAN, expect=422, organisation=directory[CCG])
    share(idea["id"], by=FRAN, expect=422, group=directory[GENERAL_PRACTICE])
    share(idea["id"], by=FRAN, expect=422, person=CAROL)  # CCG staff act as the owner


def test_an_active_grant_is_not_granted_twice(make_idea, share, revoke, directory):
    idea = make_idea(by=PAT)
    first = share(idea["id"], organisation=directory[RIVERSIDE])
    error = share(idea["id"], expect=409, organisation=directory[RIVERSIDE])
    assert set(error) == {"code", "status", "message", "errors"}
    share(idea["id"], person=QUINN)  # another grantee is another grant
    revoke(idea["id"], first["id"])
    share(idea["id"], organisation=directory[RIVERSIDE])


def test_a_grant_is_revoked_once(make_idea, share, revoke):
    idea = make_idea(by=PAT)
    grant = share(idea["id"], person=QUINN)
    revoke(idea["id"], grant["id"], by=FRAN)
    revoke(idea["id"], grant["id"], expect=409)


def test_a_grant_is_revoked_through_its_own_idea_only(make_idea, share, revoke):
    idea, other = make_idea(by=PAT), make_idea(by=PAT, title="Another")
    grant = share(idea["id"], person=QUINN)
    revoke(other["id"], grant["id"], expect=404)
    revoke(idea["id"], "00000000-0000-4000-8000-000000000000", expect=404)
    revoke(idea["id"], grant["id"])


@pytest.mark.parametrize(
    ("person", "sensitivity", "status"),
    [
        (QUINN, "commercial", 403),  # may know it exists, may not share it
        (QUINN, "confidential", 404),  # may not know it exists
        (CAROL, "alliance", 403),
        (AUDREY, "commercial", 403),  # never shares: refused before the idea is looked up
        (ADAM, "commercial", 403),
    ],
)
def test_only_the_owners_side_grants_lists_and_revokes(
    make_idea, share, revoke, client, auth, person, sensitivity, status
):
    idea = make_idea(by=PAT, sensitivity=sensitivity)
    grant = share(idea["id"], person=QUINN if person != QUINN else CAROL)
    share(idea["id"], by=person, expect=status, person=FRAN)
    error_body(client.get(f"/api/v1/ideas/{idea['id']}/grants", headers=auth(person)), status)
    revoke(idea["id"], grant["id"], by=person, expect=status)


def test_a_grantee_reads_but_never_acts_for_the_owner(make_idea, share, read, client, auth):
    idea = make_idea(by=PAT, sensitivity="confidential")
    share(idea["id"], person=QUINN)
    quinn = auth(QUINN)
    receipt = read(f"/ideas/{idea['id']}/versions/1/receipt", by=QUINN)
    assert "openings" not in receipt
    version = {"title": "t", "summary": "s", "body": "b", "sensitivity": "confidential"}
    path = f"/api/v1/ideas/{idea['id']}"
    error_body(client.post(f"{path}/versions", json=version, headers=quinn), 403)
    error_body(client.post(f"{path}/withdraw", json={"reason": "r"}, headers=quinn), 403)
    error_body(client.post(f"{path}/grants", json={"person": CAROL}, headers=quinn), 403)
    error_body(client.get(f"{path}/grants", headers=quinn), 403)


def test_a_granted_idea_is_listed_with_its_abstract(make_idea, share, read):
    idea = make_idea(by=PAT, sensitivity="confidential", title="Shared with Quinn")
    before = read("/ideas", by=QUINN)
    share(idea["id"], person=QUINN)
    after = read("/ideas", by=QUINN)

    assert idea["id"] not in [item["id"] for item in before["items"]]
    assert after["total"] == before["total"] + 1
    item = next(item for item in after["items"] if item["id"] == idea["id"])
    assert item["title"] == "Shared with Quinn"
    assert "body" not in item  # read one idea at a time, on the record
