"""The access log through the API: what is recorded, for whom, and who reads it."""

from __future__ import annotations

import uuid

import pytest

from registry.accesslog.services import check_chain
from registry.db import db
from tests.grants.conftest import (
    ADAM,
    AUDREY,
    CAROL,
    FRAN,
    PAT,
    QUINN,
    RIVERSIDE,
)
from tests.ip.checks import error_body

ABSTRACT = {"title", "summary", "tags"}


def test_the_issue_acceptance(client, auth, make_idea, share, read, keyset, verified, directory):
    """Issue 4: a commercial idea's body stays with its owner until they share it; the
    read is on the record; an auditor verifies the evidence without seeing content."""
    idea = make_idea(by=PAT, sensitivity="commercial", body="How the frailty hub works ...")
    path = f"/ideas/{idea['id']}"

    for reader in (QUINN, CAROL):
        seen = read(path, by=reader)
        assert seen.keys() >= ABSTRACT
        assert "body" not in seen

    grant = share(idea["id"], organisation=directory[RIVERSIDE])
    assert read(path, by=QUINN)["body"] == "How the frailty hub works ..."

    log = read(f"{path}/access-log", by=PAT)
    (entry,) = log["items"]
    assert entry["person"] == read("/me", by=QUINN)["id"]
    assert directory[RIVERSIDE] in entry["organisations"]
    assert (entry["version"], entry["fields"], entry["outcome"]) == (1, ["body"], "read")
    assert entry["endpoint"] == "ideas.get_idea"

    # Audrey, with the published keys alone: the grant's receipt (handed to her by the
    # owner) and the version's (which she fetches herself) verify; she sees no content.
    receipt = read(f"{path}/grants/{grant['id']}/receipt", by=PAT)
    verified(receipt)
    verified(read(f"{path}/versions/1/receipt", by=AUDREY))
    seen = read(path, by=AUDREY)
    assert not ({"title", "summary", "body", "tags"} & seen.keys()), seen
    assert "openings" not in read(f"{path}/versions/1/receipt", by=AUDREY)


def test_a_grantees_reads_of_a_body_are_recorded_each_time(make_idea, share, read):
    idea = make_idea(by=PAT, sensitivity="confidential")
    share(idea["id"], person=QUINN)
    read(f"/ideas/{idea['id']}", by=QUINN)
    read(f"/ideas/{idea['id']}/versions/1", by=QUINN)
    read(f"/ideas/{idea['id']}/versions/1/receipt", by=QUINN)  # no content: not recorded
    read("/ideas", by=QUINN)  # the list shows a grantee the abstract: not recorded

    items = read(f"/ideas/{idea['id']}/access-log", by=PAT)["items"]
    assert [(e["endpoint"], e["outcome"]) for e in items] == [
        ("ideas.get_version", "read"),  # newest first
        ("ideas.get_idea", "read"),
    ]


def test_the_owners_side_reads_off_the_record(make_idea, share, read):
    idea = make_idea(by=PAT, sensitivity="commercial")
    share(idea["id"], person=QUINN)
    for owner in (PAT, FRAN):
        read(f"/ideas/{idea['id']}", by=owner)
        read(f"/ideas/{idea['id']}/versions/1/receipt", by=owner)  # openings included
    assert read(f"/ideas/{idea['id']}/access-log", by=PAT)["items"] == []


def test_what_members_may_read_anyway_is_not_recorded(make_idea, share, read):
    idea = make_idea(by=PAT, sensitivity="alliance")
    share(idea["id"], person=QUINN)  # opens nothing Quinn could not read already
    assert read(f"/ideas/{idea['id']}", by=QUINN)["body"]
    assert read(f"/ideas/{idea['id']}", by=CAROL)["body"]
    assert read(f"/ideas/{idea['id']}/access-log", by=PAT)["total"] == 0


def test_refused_attempts_are_recorded(make_idea, read, client, auth):
    idea = make_idea(by=PAT, sensitivity="confidential")
    path = f"/api/v1/ideas/{idea['id']}"
    version = {"title": "t", "summary": "s", "body": "b", "sensitivity": "public"}
    error_body(client.get(path, headers=auth(QUINN)), 404)
    error_body(client.get(f"{path}/versions/1", headers=auth(CAROL)), 404)
    error_body(client.get(f"{path}/versions/1/receipt"), 404)  # without a token
    error_body(client.post(f"{path}/versions", json=version, headers=auth(QUINN)), 404)

    items = read(f"/ideas/{idea['id']}/access-log", by=PAT)["items"]
    me = {who: read("/me", by=who)["id"] for who in (QUINN, CAROL)}
    assert [(e["person"], e["endpoint"], e["version"], e["outcome"]) for e in items] == [
        (me[QUINN], "ideas.add_version", None, "refused"),
        (None, "ideas.get_receipt", 1, "refused"),
        (me[CAROL], "ideas.get_version", 1, "refused"),
        (me[QUINN], "ideas.get_idea", None, "refused"),
    ]
    assert all(e["fields"] == [] for e in items)


def test_a_refusal_that_names_no_idea_is_not_recorded(make_idea, read, client, auth):
    idea = make_idea(by=PAT, sensitivity="confidential")
    unknown = uuid.uuid4()
    error_body(client.get(f"/api/v1/ideas/{unknown}", headers=auth(QUINN)), 404)
    version = {"title": "t", "summary": "s", "body": "b", "sensitivity": "public"}
    # An auditor never adds versions: refused before any idea is looked up.
    path = f"/api/v1/ideas/{idea['id']}/versions"
    error_body(client.post(path, json=version, headers=auth(AUDREY)), 403)
    assert read(f"/ideas/{idea['id']}/access-log", by=PAT)["total"] == 0


def test_a_refused_change_is_undone_and_recorded(make_idea, read, client, auth):
    idea = make_idea(by=PAT, sensitivity="commercial")
    path = f"/api/v1/ideas/{idea['id']}/withdraw"
    error_body(client.post(path, json={"reason": "mine now"}, headers=auth(QUINN)), 403)
    assert read(f"/ideas/{idea['id']}", by=PAT)["state"] == "active"
    (entry,) = read(f"/ideas/{idea['id']}/access-log", by=PAT)["items"]
    assert (entry["endpoint"], entry["outcome"]) == ("ideas.withdraw", "refused")


@pytest.mark.parametrize(
    ("person", "sensitivity", "status"),
    [
        (QUINN, "commercial", 403),
        (QUINN, "confidential", 404),
        (CAROL, "alliance", 403),
        (AUDREY, "commercial", 403),
        (ADAM, "public", 403),
        (None, "public", 401),
    ],
)
def test_only_the_owners_side_reads_the_access_log(
    make_idea, client, auth, person, sensitivity, status
):
    idea = make_idea(by=PAT, sensitivity=sensitivity)
    headers = auth(person) if person else {}
    response = client.get(f"/api/v1/ideas/{idea['id']}/access-log", headers=headers)
    body = error_body(response, status)
    assert "items" not in body


def test_a_grantee_does_not_read_the_access_log(make_idea, share, client, auth):
    idea = make_idea(by=PAT, sensitivity="commercial")
    share(idea["id"], person=QUINN)
    path = f"/api/v1/ideas/{idea['id']}/access-log"
    error_body(client.get(path, headers=auth(QUINN)), 403)


def test_the_access_log_is_paginated_newest_first(make_idea, share, read):
    idea = make_idea(by=PAT, sensitivity="commercial")
    share(idea["id"], person=QUINN)
    for _ in range(5):
        read(f"/ideas/{idea['id']}", by=QUINN)
    path = f"/ideas/{idea['id']}/access-log"
    first = read(path, by=PAT, per_page=2)
    third = read(path, by=PAT, per_page=2, page=3)
    assert (first["total"], len(first["items"]), len(third["items"])) == (5, 2, 1)
    positions = [e["position"] for e in first["items"] + third["items"]]
    assert positions == sorted(positions, reverse=True)
    read(path, by=PAT, expect=422, per_page=0)
    read(path, by=PAT, expect=422, colour="red")


def test_entries_chain_from_one_to_the_next(app, make_idea, share, read):
    idea = make_idea(by=PAT, sensitivity="commercial")
    share(idea["id"], person=QUINN)
    for _ in range(3):
        read(f"/ideas/{idea['id']}", by=QUINN)
    with app.app_context():
        count, problems = check_chain(db.session)
    assert (count, problems) == (3, [])


# -- the request id --------------------------------------------------------------


def test_the_request_id_sent_is_recorded_and_returned(make_idea, share, client, auth, read):
    idea = make_idea(by=PAT, sensitivity="commercial")
    share(idea["id"], person=QUINN)
    response = client.get(
        f"/api/v1/ideas/{idea['id']}", headers={**auth(QUINN), "X-Request-ID": "trace-42.a"}
    )
    assert response.headers["X-Request-ID"] == "trace-42.a"
    (entry,) = read(f"/ideas/{idea['id']}/access-log", by=PAT)["items"]
    assert entry["request_id"] == "trace-42.a"


@pytest.mark.parametrize("sent", [None, "", "no spaces please", "x" * 129, "ünïcode"])
def test_a_request_without_a_usable_id_gets_one(client, sent):
    headers = {} if sent is None else {"X-Request-ID": sent}
    response = client.get("/healthz", headers=headers)
    returned = response.headers["X-Request-ID"]
    assert returned != sent
    assert uuid.UUID(returned).version == 4


def test_errors_carry_the_request_id_too(client):
    response = client.get("/api/v1/ideas/not-an-id", headers={"X-Request-ID": "abc"})
    assert response.status_code == 404
    assert response.headers["X-Request-ID"] == "abc"
