"""The ideas API: what a response holds, where ideas are found, what does not exist."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.ip.checks import error_body
from tests.ip.conftest import CCG, FRAN, GENERAL_PRACTICE, NORTHSIDE, PAT, QUINN, RIVERSIDE


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, text
    assert moment.utcoffset() == timedelta(0), text
    return moment


# -- one idea ------------------------------------------------------------------


def test_a_registered_idea_says_everything_about_its_version(client, auth, fetch, directory):
    before = datetime.now(UTC)
    response = client.post(
        "/api/v1/ideas",
        json={
            "title": "Frailty link workers",
            "summary": "Link workers for frail patients.",
            "body": "Each practice refers frail patients to a link worker.",
            "tags": ["frailty", "link workers"],
            "sensitivity": "confidential",
            "origin": "provider",
        },
        headers=auth(PAT),
    )
    after = datetime.now(UTC)

    assert response.status_code == 201
    idea = response.json
    assert response.headers["Location"] == f"/api/v1/ideas/{idea['id']}/versions/1"
    assert uuid.UUID(idea["id"])
    assert idea["version"] == idea["latest_version"] == 1
    assert idea["title"] == "Frailty link workers"
    assert idea["summary"] == "Link workers for frail patients."
    assert idea["body"] == "Each practice refers frail patients to a link worker."
    assert idea["tags"] == ["frailty", "link workers"]
    assert idea["sensitivity"] == "confidential"
    assert idea["origin"] == "provider"
    assert idea["owner"] == directory[NORTHSIDE]
    assert idea["derived_from"] == []
    assert idea["submitted_by"] == fetch("/me", by=PAT)["id"]
    # The server's clock, in UTC, with its offset in the JSON.
    assert before <= _aware(idea["submitted_at"]) <= after
    assert _aware(idea["registered_at"]) == _aware(idea["submitted_at"])
    assert idea["state"] == "active"
    assert idea["withdrawn_at"] is None
    assert idea["withdrawal_reason"] is None


@pytest.mark.parametrize("sensitivity", ["public", "alliance", "commercial", "confidential"])
def test_every_sensitivity_is_stored(make_idea, fetch, sensitivity):
    idea = make_idea(sensitivity=sensitivity)
    assert fetch(f"/ideas/{idea['id']}/versions/1", by=PAT)["sensitivity"] == sensitivity


@pytest.mark.parametrize(
    "field", ["submitted_at", "submitted_by", "registered_at", "state", "version", "id"]
)
def test_the_client_cannot_set_what_the_server_records(make_idea, nothing_written, field):
    with nothing_written():
        body = make_idea(expect=422, **{field: "2000-01-01T00:00:00+00:00"})
    assert list(body["errors"]["json"]) == [field]


def test_a_new_version_has_its_own_time_and_submitter(make_idea, add_version, fetch):
    idea = make_idea(by=PAT)
    second = add_version(idea["id"], by=FRAN)
    assert _aware(second["submitted_at"]) >= _aware(idea["submitted_at"])
    assert second["registered_at"] == idea["registered_at"]
    assert second["submitted_by"] == fetch("/me", by=FRAN)["id"]
    assert fetch(f"/ideas/{idea['id']}/versions/1")["submitted_by"] == idea["submitted_by"]


def test_get_idea_answers_the_latest_version(make_idea, add_version, fetch):
    idea = make_idea()
    add_version(idea["id"], title="Second")
    latest = fetch(f"/ideas/{idea['id']}", by=QUINN)  # any signed-in member may read
    assert (latest["version"], latest["title"]) == (2, "Second")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/ideas/{unknown}",
        "/api/v1/ideas/{unknown}/versions/1",
        "/api/v1/ideas/{idea}/versions/2",
        "/api/v1/ideas/{idea}/versions/0",
        "/api/v1/ideas/not-a-uuid",
        "/api/v1/ideas/not-a-uuid/versions/1",
        "/api/v1/ideas/{idea}/versions/first",
        "/api/v1/ideas/{idea}/versions/-1",
    ],
)
def test_what_does_not_exist_is_404(make_idea, client, auth, path):
    idea = make_idea()
    url = path.format(unknown=uuid.uuid4(), idea=idea["id"])
    error_body(client.get(url, headers=auth(PAT)), 404)


@pytest.mark.parametrize("action", ["versions", "withdraw"])
def test_writing_to_an_unknown_idea_is_404(client, auth, nothing_written, action):
    payload = {
        "versions": {
            "title": "t",
            "summary": "s",
            "body": "b",
            "sensitivity": "public",
        },
        "withdraw": {"reason": "r"},
    }[action]
    with nothing_written():
        response = client.post(
            f"/api/v1/ideas/{uuid.uuid4()}/{action}", json=payload, headers=auth(PAT)
        )
        error_body(response, 404)


@pytest.mark.parametrize("method", ["DELETE", "PUT", "PATCH"])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/ideas",
        "/api/v1/ideas/{idea}",
        "/api/v1/ideas/{idea}/versions",
        "/api/v1/ideas/{idea}/versions/1",
        "/api/v1/ideas/{idea}/withdraw",
    ],
)
def test_nothing_is_deleted_or_edited_through_the_api(
    make_idea, client, auth, fetch, nothing_written, method, path
):
    idea = make_idea()
    with nothing_written():
        response = client.open(
            path.format(idea=idea["id"]), method=method, json={}, headers=auth(PAT)
        )
        error_body(response, 405)
    assert method not in response.headers["Allow"]
    assert fetch(f"/ideas/{idea['id']}") == fetch(f"/ideas/{idea['id']}/versions/1")


# -- the list ------------------------------------------------------------------


@pytest.fixture
def three_ideas(make_idea, directory) -> list[dict]:
    """Pat's, Quinn's and a General Practice forum idea, registered in that order."""
    return [
        make_idea(by=PAT, tags=["frailty"]),
        make_idea(by=QUINN, tags=["falls", "frailty"]),
        make_idea(by=FRAN, origin="forum", group=directory[GENERAL_PRACTICE], tags=["falls"]),
    ]


AUDREY = "audrey@audit.example"  # an auditor


def _ids(page: dict) -> list[str]:
    return [item["id"] for item in page["items"]]


def test_the_list_is_newest_first_as_of_the_latest_version(three_ideas, add_version, fetch):
    add_version(three_ideas[0]["id"], title="Pat's second thoughts", tags=["frailty"])
    page = fetch("/ideas")
    assert _ids(page) == [i["id"] for i in reversed(three_ideas)]
    assert (page["page"], page["per_page"], page["total"]) == (1, 20, 3)
    assert page["items"][-1]["version"] == 2
    assert page["items"][-1]["title"] == "Pat's second thoughts"


def test_the_list_is_paginated(three_ideas, fetch):
    newest_first = [i["id"] for i in reversed(three_ideas)]
    first = fetch("/ideas", per_page=2)
    second = fetch("/ideas", per_page=2, page=2)
    beyond = fetch("/ideas", per_page=2, page=3)
    assert (_ids(first), first["total"], first["per_page"]) == (newest_first[:2], 3, 2)
    assert (_ids(second), second["total"], second["page"]) == (newest_first[2:], 3, 2)
    assert (_ids(beyond), beyond["total"]) == ([], 3)
    assert fetch("/ideas", per_page=100)["per_page"] == 100


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"per_page": 101}, "per_page"),
        ({"per_page": 0}, "per_page"),
        ({"page": 0}, "page"),
        ({"page": "two"}, "page"),
        ({"origin": "cluster"}, "origin"),
        ({"owner": "northside"}, "owner"),
        ({"group": "general-practice"}, "group"),
        ({"tag": "#frailty"}, "tag"),
        ({"include_withdrawn": "perhaps"}, "include_withdrawn"),
        ({"submitted_after": "2026-01-01T00:00:00"}, "submitted_after"),  # no offset
        ({"submitted_before": "2026-01-01"}, "submitted_before"),
        ({"submitted_after": "yesterday"}, "submitted_after"),
    ],
)
def test_a_bad_query_is_refused_naming_the_parameter(fetch, query, field):
    body = fetch("/ideas", expect=422, **query)
    assert list(body["errors"]["query"]) == [field]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"owner": NORTHSIDE}, [0]),
        ({"owner": RIVERSIDE}, [1]),
        ({"owner": CCG}, [2]),
        ({"origin": "provider"}, [1, 0]),
        ({"origin": "forum"}, [2]),
        ({"group": GENERAL_PRACTICE}, [2]),
        ({"group": "mental-health-ld-autism"}, []),
        ({"tag": "frailty"}, [1, 0]),
        ({"tag": "FALLS"}, [2, 1]),
        ({"tag": "falls", "origin": "provider"}, [1]),
        ({"tag": "nothing"}, []),
    ],
)
def test_the_list_filters(three_ideas, fetch, directory, query, expected):
    query = {k: directory.get(v, v) if k in {"owner", "group"} else v for k, v in query.items()}
    page = fetch("/ideas", **query)
    assert _ids(page) == [three_ideas[i]["id"] for i in expected]
    assert page["total"] == len(expected)


def test_the_tag_filter_looks_at_the_latest_version(three_ideas, add_version, fetch):
    add_version(three_ideas[0]["id"], tags=["housing"])
    assert _ids(fetch("/ideas", tag="frailty")) == [three_ideas[1]["id"]]
    assert _ids(fetch("/ideas", tag="housing")) == [three_ideas[0]["id"]]


@pytest.mark.parametrize("sensitivity", ["commercial", "confidential"])
def test_the_tag_filter_tells_nothing_to_who_may_not_read_the_abstract(
    make_idea, fetch, sensitivity
):
    idea = make_idea(by=PAT, sensitivity=sensitivity, tags=["tranexamic"])
    assert _ids(fetch("/ideas", by=PAT, tag="tranexamic")) == [idea["id"]]
    # The auditor sees the registration (so may know the idea exists), never its tags.
    assert idea["id"] in _ids(fetch("/ideas", by=AUDREY, per_page=100))
    assert fetch("/ideas", by=AUDREY, tag="tranexamic")["total"] == 0


def test_the_list_filters_by_time_of_registration(three_ideas, fetch):
    second = three_ideas[1]["registered_at"]
    assert _ids(fetch("/ideas", submitted_after=second)) == [
        three_ideas[2]["id"],
        three_ideas[1]["id"],
    ]
    assert _ids(fetch("/ideas", submitted_before=second)) == [three_ideas[0]["id"]]
    assert _ids(
        fetch("/ideas", submitted_after=second, submitted_before=three_ideas[2]["registered_at"])
    ) == [three_ideas[1]["id"]]


def test_time_filters_honour_the_offset_given(three_ideas, fetch):
    # The same instant, written in another time zone, selects the same ideas.
    second = datetime.fromisoformat(three_ideas[1]["registered_at"])
    elsewhere = second.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert _ids(fetch("/ideas", submitted_after=elsewhere.isoformat())) == [
        three_ideas[2]["id"],
        three_ideas[1]["id"],
    ]
    z = second.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert _ids(fetch("/ideas", submitted_before=z)) == [three_ideas[0]["id"]]


def test_the_list_hides_withdrawn_ideas_unless_asked(three_ideas, withdraw, fetch):
    withdraw(three_ideas[1]["id"], by=QUINN)
    shown = fetch("/ideas")
    assert _ids(shown) == [three_ideas[2]["id"], three_ideas[0]["id"]]
    assert shown["total"] == 2
    everything = fetch("/ideas", include_withdrawn="true")
    assert _ids(everything) == [i["id"] for i in reversed(three_ideas)]
    assert everything["items"][1]["state"] == "withdrawn"
    assert _ids(fetch("/ideas", include_withdrawn="false")) == _ids(shown)


def test_without_a_token_only_published_ideas_are_listed(client, make_idea, three_ideas):
    published = make_idea(by=PAT, sensitivity="public", title="Published")
    page = client.get("/api/v1/ideas").json
    assert _ids(page) == [published["id"]]
    assert page["total"] == 1
    assert page["items"][0]["body"] == published["body"]


def test_an_unknown_query_parameter_is_refused_not_ignored(client, auth):
    response = client.get("/api/v1/ideas?ownr=x", headers=auth("pat@northside.example"))
    assert response.status_code == 422
    assert response.json["errors"]["query"]["ownr"] == ["Unknown field."]
