"""The alliance's ownership rule, as the register enforces it, through the API."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask

from registry.alliance.models import Organisation, Role
from registry.alliance.services import ensure_membership, person_by_email
from registry.db import db
from tests.ip.checks import error_body
from tests.ip.conftest import (
    ADAM,
    AUDREY,
    CAROL,
    CCG,
    FRAN,
    GENERAL_PRACTICE,
    MENTAL_HEALTH,
    NORTHSIDE,
    PAT,
    QUINN,
    RIVERSIDE,
    VERSION,
)

# Everything a version stores, as opposed to what the idea around it says now.
VERSION_FIELDS = (
    "id",
    "version",
    "title",
    "summary",
    "body",
    "tags",
    "sensitivity",
    "derived_from",
    "submitted_by",
    "submitted_at",
    "origin",
    "owner",
    "group",
)


@pytest.fixture
def forum_idea(make_idea, directory):
    """A factory: an idea Fran registers from the General Practice forum."""

    def make(**fields) -> dict:
        return make_idea(
            by=FRAN,
            origin="forum",
            group=directory[GENERAL_PRACTICE],
            sensitivity="alliance",
            **fields,
        )

    return make


@pytest.fixture
def submit(client, auth):
    """A factory: post an idea as ``by`` and return the raw response."""

    def post(by: str = PAT, **fields):
        payload = {
            "title": "Frailty link workers",
            "summary": "Link workers for frail patients.",
            "body": "Each practice refers frail patients to a link worker.",
            "sensitivity": "commercial",
            "origin": "provider",
            **fields,
        }
        return client.post("/api/v1/ideas", json=payload, headers=auth(by))

    return post


# -- origin: provider ----------------------------------------------------------


def test_provider_idea_is_owned_by_the_submitters_provider(make_idea, directory):
    idea = make_idea(by=PAT)
    assert idea["origin"] == "provider"
    assert idea["owner"] == directory[NORTHSIDE]
    assert idea["owner_name"] == NORTHSIDE
    assert idea["group"] is None
    assert idea["group_name"] is None
    assert idea["state"] == "active"


def test_provider_idea_may_name_the_submitters_own_provider(make_idea, directory):
    idea = make_idea(by=QUINN, owner=directory[RIVERSIDE])
    assert idea["owner"] == directory[RIVERSIDE]


@pytest.mark.parametrize(
    ("owner", "says"),
    [
        (RIVERSIDE, "not a member of Riverside"),  # another provider
        (CCG, "The CCG owns only ideas that evolved in a forum"),
        (None, "No such organisation"),  # an id nobody knows
    ],
)
def test_provider_idea_naming_another_owner_is_refused(
    submit, directory, nothing_written, owner, says
):
    owner_id = directory[owner] if owner else str(uuid.uuid4())
    with nothing_written():
        body = error_body(submit(by=PAT, owner=owner_id), 422)
    assert list(body["errors"]["json"]) == ["owner"]
    assert says in body["errors"]["json"]["owner"][0]
    assert "owner" in body["message"]


@pytest.mark.parametrize("person", [CAROL, AUDREY, ADAM])
def test_someone_with_no_provider_membership_cannot_register_a_provider_idea(
    submit, directory, nothing_written, person
):
    with nothing_written():
        error_body(submit(by=person), 403)
        # Naming a provider as owner does not help.
        error_body(submit(by=person, owner=directory[NORTHSIDE]), 403)


def test_provider_idea_in_a_group_is_refused(submit, directory, nothing_written):
    with nothing_written():
        body = error_body(submit(by=FRAN, group=directory[GENERAL_PRACTICE]), 422)
    assert list(body["errors"]["json"]) == ["group"]


@pytest.fixture
def pat_also_at_riverside(app: Flask, directory) -> None:
    """Pat becomes a member of Riverside as well as Northside, for this test."""
    with app.app_context():
        person = person_by_email(PAT)
        riverside = db.session.get(Organisation, uuid.UUID(directory[RIVERSIDE]))
        ensure_membership(person, riverside, Role.MEMBER)
        db.session.commit()


@pytest.mark.usefixtures("pat_also_at_riverside")
def test_a_member_of_two_providers_names_the_owner(submit, make_idea, directory, nothing_written):
    with nothing_written():
        body = error_body(submit(by=PAT), 422)
    assert list(body["errors"]["json"]) == ["owner"]
    assert make_idea(by=PAT, owner=directory[RIVERSIDE])["owner"] == directory[RIVERSIDE]
    assert make_idea(by=PAT, owner=directory[NORTHSIDE])["owner"] == directory[NORTHSIDE]


# -- origin: forum -------------------------------------------------------------


@pytest.mark.parametrize("named_owner", [None, NORTHSIDE, RIVERSIDE, CCG, "unknown"])
def test_forum_idea_is_owned_by_the_ccg_whatever_the_request_says(
    forum_idea, directory, named_owner
):
    fields = {}
    if named_owner == "unknown":
        fields["owner"] = str(uuid.uuid4())
    elif named_owner:
        fields["owner"] = directory[named_owner]
    idea = forum_idea(**fields)
    assert idea["origin"] == "forum"
    assert idea["owner"] == directory[CCG]
    assert idea["owner_name"] == CCG
    assert idea["group"] == directory[GENERAL_PRACTICE]
    assert idea["group_name"] == "General Practice"


@pytest.mark.parametrize(
    ("person", "group"),
    [
        (PAT, GENERAL_PRACTICE),  # a provider member, not in the forum
        (CAROL, GENERAL_PRACTICE),  # CCG staff, not in the forum
        (FRAN, MENTAL_HEALTH),  # in another forum
    ],
)
def test_only_members_of_the_group_register_forum_ideas(
    submit, directory, nothing_written, person, group
):
    with nothing_written():
        body = error_body(submit(by=person, origin="forum", group=directory[group]), 403)
    assert body["errors"] == {}


@pytest.mark.parametrize(
    ("group", "says"), [(None, "names the group"), ("unknown", "No such group")]
)
def test_forum_idea_needs_a_known_group(submit, nothing_written, group, says):
    fields = {"group": str(uuid.uuid4())} if group else {}
    with nothing_written():
        body = error_body(submit(by=FRAN, origin="forum", **fields), 422)
    assert list(body["errors"]["json"]) == ["group"]
    assert says in body["errors"]["json"]["group"][0]


# -- derived_from --------------------------------------------------------------


def test_deriving_a_forum_idea_leaves_the_provider_idea_untouched(
    make_idea, forum_idea, fetch, directory
):
    source = make_idea(by=PAT)
    before = fetch(f"/ideas/{source['id']}")

    derived = forum_idea(derived_from=[source["id"]])

    assert derived["derived_from"] == [source["id"]]
    assert derived["owner"] == directory[CCG]
    after = fetch(f"/ideas/{source['id']}")
    assert after == before
    assert after["owner"] == directory[NORTHSIDE]
    assert after["latest_version"] == 1
    fetch(f"/ideas/{source['id']}/versions/2", expect=404)


def test_derived_from_keeps_the_order_given(make_idea):
    first, second = make_idea(), make_idea()
    derived = make_idea(derived_from=[second["id"], first["id"]])
    assert derived["derived_from"] == [second["id"], first["id"]]


def test_deriving_from_many_ideas_in_a_diamond_is_not_a_cycle(make_idea, add_version):
    root = make_idea()
    left = make_idea(derived_from=[root["id"]])
    right = make_idea(derived_from=[root["id"]])
    joined = make_idea(derived_from=[left["id"], right["id"], root["id"]])
    add_version(joined["id"], derived_from=[left["id"], right["id"]])


@pytest.mark.parametrize("at", ["submit", "version"])
def test_unknown_sources_are_refused(make_idea, submit, client, auth, nothing_written, at):
    known = make_idea()
    unknown = str(uuid.uuid4())
    with nothing_written():
        if at == "submit":
            response = submit(derived_from=[known["id"], unknown])
        else:
            response = client.post(
                f"/api/v1/ideas/{known['id']}/versions",
                json={**VERSION, "derived_from": [unknown]},
                headers=auth(PAT),
            )
        body = error_body(response, 422)
    assert list(body["errors"]["json"]) == ["derived_from"]
    assert unknown in body["errors"]["json"]["derived_from"][0]
    assert known["id"] not in body["errors"]["json"]["derived_from"][0]


def test_a_cycle_is_refused(make_idea, add_version, fetch, nothing_written):
    a = make_idea()
    b = make_idea(derived_from=[a["id"]])
    with nothing_written():
        body = add_version(a["id"], derived_from=[b["id"]], expect=422)
    assert list(body["errors"]["json"]) == ["derived_from"]
    assert "cycle" in body["message"]
    assert fetch(f"/ideas/{a['id']}")["latest_version"] == 1


def test_a_longer_cycle_is_refused(make_idea, add_version, nothing_written):
    a = make_idea()
    b = make_idea(derived_from=[a["id"]])
    c = make_idea(by=FRAN, derived_from=[b["id"]])
    with nothing_written():
        body = add_version(a["id"], derived_from=[c["id"]], expect=422)
    assert list(body["errors"]["json"]) == ["derived_from"]


def test_a_cycle_through_an_earlier_version_is_refused(make_idea, add_version, nothing_written):
    # B's first version built on A; B's second no longer says so, but the history does.
    a = make_idea()
    b = make_idea(derived_from=[a["id"]])
    add_version(b["id"], derived_from=[])
    with nothing_written():
        add_version(a["id"], derived_from=[b["id"]], expect=422)


def test_an_idea_cannot_derive_from_itself(make_idea, add_version, nothing_written):
    a = make_idea()
    with nothing_written():
        body = add_version(a["id"], derived_from=[a["id"]], expect=422)
    assert list(body["errors"]["json"]) == ["derived_from"]
    assert "itself" in body["message"]


def test_a_source_named_twice_is_refused(make_idea, submit, nothing_written):
    a = make_idea()
    with nothing_written():
        body = error_body(submit(derived_from=[a["id"], a["id"]]), 422)
    assert list(body["errors"]["json"]) == ["derived_from"]


# -- versions ------------------------------------------------------------------


def test_a_new_version_keeps_origin_owner_and_group(forum_idea, add_version, directory):
    idea = forum_idea()
    second = add_version(idea["id"], by=FRAN)
    assert second["version"] == second["latest_version"] == 2
    assert second["origin"] == "forum"
    assert second["owner"] == directory[CCG]
    assert second["group"] == directory[GENERAL_PRACTICE]
    assert second["title"] == VERSION["title"]


def test_version_numbers_increment(make_idea, add_version, client, auth):
    idea = make_idea()
    for number in (2, 3, 4):
        response = client.post(
            f"/api/v1/ideas/{idea['id']}/versions", json=VERSION, headers=auth(PAT)
        )
        assert response.status_code == 201
        assert response.json["version"] == number
        assert response.headers["Location"] == f"/api/v1/ideas/{idea['id']}/versions/{number}"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("origin", "forum"),
        ("owner", RIVERSIDE),
        ("owner", CCG),
        ("group", GENERAL_PRACTICE),
    ],
)
def test_a_new_version_of_a_provider_idea_cannot_reclassify_it(
    make_idea, add_version, fetch, directory, nothing_written, field, value
):
    idea = make_idea(by=FRAN)
    with nothing_written():
        body = add_version(idea["id"], by=FRAN, expect=422, **{field: directory.get(value, value)})
    assert list(body["errors"]["json"]) == [field]
    assert f"keeps its idea's {field}" in body["errors"]["json"][field][0]
    assert field in body["message"]
    assert fetch(f"/ideas/{idea['id']}")["latest_version"] == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("origin", "provider"),
        ("owner", NORTHSIDE),
        ("group", MENTAL_HEALTH),
    ],
)
def test_a_new_version_of_a_forum_idea_cannot_reclassify_it(
    forum_idea, add_version, directory, nothing_written, field, value
):
    idea = forum_idea()
    with nothing_written():
        body = add_version(idea["id"], by=FRAN, expect=422, **{field: directory.get(value, value)})
    assert list(body["errors"]["json"]) == [field]


def test_a_new_version_may_repeat_origin_owner_and_group(forum_idea, add_version):
    idea = forum_idea()
    second = add_version(
        idea["id"], by=FRAN, origin=idea["origin"], owner=idea["owner"], group=idea["group"]
    )
    assert second["version"] == 2
    assert (second["origin"], second["owner"], second["group"]) == (
        idea["origin"],
        idea["owner"],
        idea["group"],
    )


def test_each_version_reads_back_exactly_as_stored(make_idea, add_version, fetch):
    first = make_idea(tags=["frailty", "Falls Prevention"])
    second = add_version(first["id"], by=FRAN, derived_from=[make_idea()["id"]])
    third = add_version(first["id"], title="Third thoughts", tags=[])

    for stored in (first, second, third):
        read = fetch(f"/ideas/{first['id']}/versions/{stored['version']}", by=PAT)
        assert {f: read[f] for f in VERSION_FIELDS} == {f: stored[f] for f in VERSION_FIELDS}
        assert read["latest_version"] == 3
    assert first["tags"] == ["frailty", "falls prevention"]
    assert second["submitted_by"] != first["submitted_by"]  # Fran added it, Pat registered it
    assert fetch(f"/ideas/{first['id']}")["title"] == "Third thoughts"


@pytest.mark.parametrize(
    ("person", "allowed"),
    [(PAT, True), (FRAN, True), (QUINN, False), (CAROL, False), (AUDREY, False)],
)
def test_only_members_of_the_owning_provider_add_versions(
    make_idea, add_version, nothing_written, person, allowed
):
    idea = make_idea(by=PAT)
    if allowed:
        assert add_version(idea["id"], by=person)["version"] == 2
        return
    with nothing_written():
        add_version(idea["id"], by=person, expect=403)


@pytest.mark.parametrize(
    ("person", "allowed"),
    [(FRAN, True), (CAROL, True), (PAT, False), (QUINN, False), (AUDREY, False)],
)
def test_the_group_and_ccg_staff_add_versions_to_forum_ideas(
    forum_idea, add_version, nothing_written, person, allowed
):
    idea = forum_idea()
    if allowed:
        assert add_version(idea["id"], by=person)["version"] == 2
        return
    with nothing_written():
        add_version(idea["id"], by=person, expect=403)


# -- withdrawal ----------------------------------------------------------------


def test_withdrawing_keeps_the_idea_and_its_versions(make_idea, add_version, withdraw, fetch):
    idea = make_idea()
    add_version(idea["id"])

    withdrawn = withdraw(idea["id"], reason="Replaced by the forum's version.")

    assert withdrawn["state"] == "withdrawn"
    assert withdrawn["withdrawal_reason"] == "Replaced by the forum's version."
    assert withdrawn["withdrawn_at"].endswith("+00:00")
    assert fetch(f"/ideas/{idea['id']}")["state"] == "withdrawn"
    for number in (1, 2):
        version = fetch(f"/ideas/{idea['id']}/versions/{number}")
        assert version["version"] == number
        assert version["state"] == "withdrawn"
    assert fetch(f"/ideas/{idea['id']}/versions/1")["title"] == idea["title"]


def test_withdrawing_twice_is_a_conflict(make_idea, withdraw, fetch):
    idea = make_idea()
    first = withdraw(idea["id"], reason="First reason.")
    withdraw(idea["id"], expect=409, reason="Second reason.")
    again = fetch(f"/ideas/{idea['id']}")
    assert again["withdrawal_reason"] == "First reason."
    assert again["withdrawn_at"] == first["withdrawn_at"]


def test_a_withdrawn_idea_takes_no_new_versions(make_idea, withdraw, add_version, nothing_written):
    idea = make_idea()
    withdraw(idea["id"])
    with nothing_written():
        body = add_version(idea["id"], expect=409)
    assert "withdrawn" in body["message"]


@pytest.mark.parametrize(("person", "allowed"), [(FRAN, True), (QUINN, False), (CAROL, False)])
def test_only_the_owners_members_withdraw_a_provider_idea(
    make_idea, withdraw, fetch, person, allowed
):
    idea = make_idea(by=PAT)
    withdraw(idea["id"], by=person, expect=200 if allowed else 403)
    assert fetch(f"/ideas/{idea['id']}")["state"] == ("withdrawn" if allowed else "active")


@pytest.mark.parametrize(("person", "allowed"), [(CAROL, True), (FRAN, True), (PAT, False)])
def test_the_group_and_ccg_staff_withdraw_a_forum_idea(
    forum_idea, withdraw, fetch, person, allowed
):
    idea = forum_idea()
    withdraw(idea["id"], by=person, expect=200 if allowed else 403)
    assert fetch(f"/ideas/{idea['id']}")["state"] == ("withdrawn" if allowed else "active")


@pytest.mark.parametrize("reason", ["", "x" * 2001, None])
def test_a_withdrawal_gives_a_reason(make_idea, client, auth, fetch, reason):
    idea = make_idea()
    payload = {} if reason is None else {"reason": reason}
    response = client.post(f"/api/v1/ideas/{idea['id']}/withdraw", json=payload, headers=auth(PAT))
    assert list(error_body(response, 422)["errors"]["json"]) == ["reason"]
    assert fetch(f"/ideas/{idea['id']}")["state"] == "active"
