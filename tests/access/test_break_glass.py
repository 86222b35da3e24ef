"""Break-glass: an administrator reads one idea's content with a stated reason, on the
record, and nothing more: never a list, never the openings, never a write."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import and_, select

from registry.access import policy
from registry.access.breakglass import ATTRIBUTE, HEADER
from registry.access.policy import Action, Relation
from registry.alliance.services import person_by_email
from registry.auth.principal import Principal
from registry.db import db
from registry.ip.models import Idea, IdeaVersion, Origin, Sensitivity
from tests.ip.checks import error_body

PAT = "pat@northside.example"  # Northside: owns the provider ideas below
FRAN = "fran@northside.example"  # Northside and the General Practice forum
QUINN = "quinn@riverside.example"  # another provider
CAROL = "carol@ccg.example"  # CCG staff: reads no provider body without a grant
AUDREY = "audrey@audit.example"  # auditor
ADAM = "adam@ccg.example"  # administrator
CCG = "NHS Sunderland CCG (demo)"

REASON = "Safeguarding review requested by the Caldicott Guardian, ticket 4471"
BODY = "The frailty hub's referral pathway, step by step ..."
CONTENT = {"title", "summary", "tags", "body"}

# Ideas an administrator cannot read without breaking glass: (origin, sensitivity, who
# submits it, who reads its access log for the owner's side).
SEALED_FROM_ADMINS = {
    "commercial provider": ("provider", "commercial", PAT, PAT),
    "confidential provider": ("provider", "confidential", PAT, FRAN),
    "confidential forum": ("forum", "confidential", FRAN, CAROL),
    "alliance forum": ("forum", "alliance", FRAN, FRAN),
}


@pytest.fixture
def make_sealed(make_idea, directory):
    """A factory: an idea of one of SEALED_FROM_ADMINS' kinds, with BODY as its body."""

    def make(case: str) -> dict:
        origin, sensitivity, by, _ = SEALED_FROM_ADMINS[case]
        fields = {"sensitivity": sensitivity, "body": BODY, "title": f"Sealed {case}"}
        if origin == "forum":
            fields |= {"origin": "forum", "group": directory["general-practice"]}
        return make_idea(by=by, **fields)

    return make


@pytest.fixture
def breaking(auth):
    """A factory: headers for ``who`` sending ``reason`` as Break-Glass-Reason."""
    return lambda reason=REASON, who=ADAM: {**auth(who), HEADER: reason}


@pytest.fixture
def access_log(client, auth):
    """A factory: the items of an idea's access log, as ``by`` of its owner's side."""

    def read(idea_id: str, by: str = PAT) -> list[dict]:
        response = client.get(f"/api/v1/ideas/{idea_id}/access-log", headers=auth(by))
        assert response.status_code == 200, response.json
        return response.json["items"]

    return read


def _me(client, auth, who: str) -> dict:
    return client.get("/api/v1/me", headers=auth(who)).json


# -- reading with a reason -------------------------------------------------------


@pytest.mark.parametrize("case", sorted(SEALED_FROM_ADMINS))
def test_an_administrator_reads_the_body_with_a_reason(
    client, auth, breaking, make_sealed, access_log, directory, case
):
    idea = make_sealed(case)
    path = f"/api/v1/ideas/{idea['id']}"
    owner_side = SEALED_FROM_ADMINS[case][3]

    latest = client.get(path, headers=breaking())
    assert latest.status_code == 200, latest.json
    assert latest.json["body"] == BODY
    assert latest.json["title"] == f"Sealed {case}"
    version = client.get(f"{path}/versions/1", headers=breaking())
    assert version.status_code == 200, version.json
    assert version.json["body"] == BODY

    adam = _me(client, auth, ADAM)
    items = access_log(idea["id"], by=owner_side)
    assert [(e["endpoint"], e["version"]) for e in items] == [
        ("ideas.get_version", 1),  # newest first
        ("ideas.get_idea", 1),
    ]
    for entry in items:
        assert (entry["outcome"], entry["fields"], entry["reason"]) == ("read", ["body"], REASON)
        assert entry["person"] == adam["id"]
        assert entry["person_name"] == "Adam (administrator)"
        assert entry["organisations"] == [directory[CCG]]


@pytest.mark.parametrize(
    ("case", "without"),
    [
        ("commercial provider", "registration"),
        ("alliance forum", "registration"),
        ("confidential provider", 404),
        ("confidential forum", 404),
    ],
)
def test_without_the_header_an_administrator_sees_what_the_table_gives_admins(
    client, auth, make_sealed, access_log, case, without
):
    idea = make_sealed(case)
    path = f"/api/v1/ideas/{idea['id']}"
    for route in (path, f"{path}/versions/1"):
        response = client.get(route, headers=auth(ADAM))
        if without == 404:
            error_body(response, 404)
        else:
            assert response.status_code == 200
            assert not CONTENT & response.json.keys(), response.json
    owner_side = SEALED_FROM_ADMINS[case][3]
    # Only refusals are on the record: reading a registration is not.
    outcomes = {e["outcome"] for e in access_log(idea["id"], by=owner_side)}
    assert outcomes == ({"refused"} if without == 404 else set())


def test_what_anyone_may_read_is_not_on_the_record(client, breaking, make_idea, access_log):
    idea = make_idea(by=PAT, sensitivity="public", body=BODY)
    response = client.get(f"/api/v1/ideas/{idea['id']}", headers=breaking())
    assert response.json["body"] == BODY
    assert access_log(idea["id"]) == []


def test_the_reason_may_be_any_printable_utf8_text_of_10_to_500_characters(
    client, breaking, make_idea, access_log
):
    idea = make_idea(by=PAT, sensitivity="confidential")
    reasons = ["x" * 10, "y" * 500, "Zoë's audit: ≥ 2 complaints, réf. 12"]
    for reason in reasons:
        # As a server hands it over: the UTF-8 bytes sent, decoded as Latin-1 (WSGI).
        sent = reason.encode().decode("latin-1")
        response = client.get(f"/api/v1/ideas/{idea['id']}", headers=breaking(sent))
        assert response.status_code == 200, response.json
    assert [e["reason"] for e in access_log(idea["id"])] == reasons[::-1]


def test_the_reason_is_recorded_without_the_spaces_around_it(
    client, breaking, make_idea, access_log
):
    idea = make_idea(by=PAT, sensitivity="commercial")
    client.get(f"/api/v1/ideas/{idea['id']}", headers=breaking(f"  {REASON}  "))
    assert [e["reason"] for e in access_log(idea["id"])] == [REASON]


@pytest.mark.parametrize(
    ("reason", "says"),
    [
        ("", "10 to 500 characters"),
        ("too short", "10 to 500 characters"),  # 9
        (" " * 12 + "short", "10 to 500 characters"),
        ("x" * 501, "10 to 500 characters"),
        ("Reason with\x01a control character", "control characters"),
        ("Reason with\ta tab inside it", "control characters"),
        ("Reason with a delete\x7f", "control characters"),
        ("Line\u2028separated reason", "control characters"),
        ("Latin-1, not UTF-8: caf\xe9 au lait", "UTF-8"),
    ],
)
def test_a_reason_that_is_not_10_to_500_printable_characters_is_refused(
    client, breaking, make_idea, access_log, reason, says
):
    idea = make_idea(by=PAT, sensitivity="confidential")
    sent = reason if "\xe9" in reason else reason.encode().decode("latin-1")
    response = client.get(f"/api/v1/ideas/{idea['id']}", headers=breaking(sent))
    body = error_body(response, 422)
    assert list(body["errors"]) == ["headers"]
    (message,) = body["errors"]["headers"][HEADER]
    assert says in message
    assert HEADER in body["message"]
    assert "body" not in response.get_data(as_text=True)
    assert access_log(idea["id"]) == []


@pytest.mark.parametrize("who", [PAT, QUINN, CAROL, AUDREY])
def test_only_administrators_may_break_glass(client, breaking, make_idea, access_log, who):
    idea = make_idea(by=QUINN if who == PAT else PAT, sensitivity="commercial", body=BODY)
    path = f"/api/v1/ideas/{idea['id']}"
    for route in (path, f"{path}/versions/1"):
        response = client.get(route, headers=breaking(who=who))
        body = error_body(response, 403)
        assert body["message"] == "Only administrators may break glass."
        assert BODY not in response.get_data(as_text=True)
    # As for any refusal before the idea is looked up (the same 403 for any id).
    assert access_log(idea["id"], by=QUINN if who == PAT else PAT) == []


def test_carol_reads_no_provider_body_by_breaking_glass(client, auth, breaking, make_idea):
    idea = make_idea(by=PAT, sensitivity="commercial", body=BODY)
    path = f"/api/v1/ideas/{idea['id']}"
    error_body(client.get(path, headers=breaking(who=CAROL)), 403)
    assert "body" not in client.get(path, headers=auth(CAROL)).json


def test_without_a_token_the_header_gets_a_401(client, make_idea):
    idea = make_idea(by=PAT, sensitivity="public")  # readable without a token otherwise
    path = f"/api/v1/ideas/{idea['id']}"
    for route in (path, f"{path}/versions/1"):
        response = client.get(route, headers={HEADER: REASON})
        error_body(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_idea_is_a_plain_404(client, breaking):
    unknown = uuid.uuid4()
    for route in (f"{unknown}", f"{unknown}/versions/1"):
        error_body(client.get(f"/api/v1/ideas/{route}", headers=breaking()), 404)


# -- only where one idea's content is read ---------------------------------------


def _refused_here(response) -> None:
    body = error_body(response, 400)
    assert "only to reading one idea" in body["message"]
    assert list(body["errors"]["headers"]) == [HEADER]


def test_lists_never_show_more_to_an_administrator_who_sends_it(client, auth, breaking, make_idea):
    make_idea(by=PAT, sensitivity="confidential")
    make_idea(by=PAT, sensitivity="commercial", body=BODY)
    response = client.get("/api/v1/ideas", headers=breaking())
    _refused_here(response)
    assert BODY not in response.get_data(as_text=True)
    listed = client.get("/api/v1/ideas", headers=auth(ADAM)).json
    assert listed["total"] == 1  # the commercial one's registration, nothing else
    assert not CONTENT & listed["items"][0].keys()


@pytest.mark.parametrize(
    ("method", "route", "body"),
    [
        ("get", "/api/v1/ideas", None),
        ("get", "/api/v1/ideas?owner={owner}", None),
        ("post", "/api/v1/ideas", "idea"),
        ("post", "/api/v1/ideas/{idea}/versions", "version"),
        ("post", "/api/v1/ideas/{idea}/withdraw", "withdrawal"),
        ("post", "/api/v1/ideas/{idea}/shred", None),
        ("get", "/api/v1/ideas/{idea}/grants", None),
        ("post", "/api/v1/ideas/{idea}/grants", "grant"),
        ("get", "/api/v1/ideas/{idea}/access-log", None),
        ("get", "/api/v1/organisations", None),
        ("get", "/api/v1/me", None),
        ("get", "/api/v1/log/entries", None),
        ("get", "/healthz", None),
        ("get", "/api/v1/keys", None),
    ],
)
@pytest.mark.parametrize("who", [ADAM, PAT, None])
def test_the_header_is_refused_where_it_does_not_read_one_idea(
    app, client, auth, make_idea, directory, access_log, method, route, body, who
):
    idea = make_idea(by=PAT, sensitivity="confidential")
    me = _me(client, auth, PAT)["id"]
    version = {"title": "t", "summary": "s", "body": "b", "sensitivity": "confidential"}
    payload = {
        "idea": {**version, "origin": "provider", "tags": []},
        "version": version,
        "withdrawal": {"reason": "Superseded by a better one"},
        "grant": {"person": me},
        None: None,
    }[body]
    url = route.format(idea=idea["id"], owner=directory["Northside GP Federation"])
    headers = {**(auth(who) if who else {}), HEADER: REASON}
    before = access_log(idea["id"])
    response = getattr(client, method)(url, headers=headers, json=payload)
    _refused_here(response)
    assert access_log(idea["id"]) == before
    assert client.get(f"/api/v1/ideas/{idea['id']}", headers=auth(PAT)).json["state"] == "active"
    assert client.get(f"/api/v1/ideas/{idea['id']}", headers=auth(PAT)).json["version"] == 1


# What accepts the header. A new route is added here on purpose, with the reads it
# serves recorded (see breaks_glass).
BREAKS_GLASS = {
    "ideas.get_idea",
    "ideas.get_version",
    # A version's attachments are read where its body is (tests/attachments/test_policy.py).
    "attachments.list_attachments",
    "attachments.download",
}


def test_only_the_routes_reading_one_idea_accept_it(app: Flask):
    marked = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if getattr(app.view_functions[rule.endpoint], ATTRIBUTE, False)
    }
    assert marked == BREAKS_GLASS


# -- receipts: no content, so no glass to break ------------------------------------


@pytest.mark.parametrize("sensitivity", ["public", "confidential"])
def test_a_receipt_is_not_read_by_breaking_glass(
    client, auth, breaking, make_idea, access_log, sensitivity
):
    # A receipt holds no content: break-glass would only show an administrator the
    # registration of a confidential idea, off the record. Auditors verify receipts.
    idea = make_idea(by=PAT, sensitivity=sensitivity)
    path = f"/api/v1/ideas/{idea['id']}/versions/1/receipt"
    _refused_here(client.get(path, headers=breaking()))
    assert access_log(idea["id"]) == []


# -- the policy table ------------------------------------------------------------


@pytest.fixture
def principal(app_context):
    """A factory: the principal of a demo person, breaking glass with ``reason``."""

    def make(email: str, reason: str | None = None) -> Principal:
        return replace(Principal.of(person_by_email(email)), break_glass=reason)

    return make


def _idea(origin: Origin = Origin.PROVIDER, group: uuid.UUID | None = None) -> Idea:
    return Idea(id=uuid.uuid4(), origin=origin, owner_id=uuid.uuid4(), group_id=group)


def test_only_an_administrator_stating_a_reason_holds_break_glass(principal):
    idea = _idea()
    assert Relation.BREAK_GLASS in policy.relations(principal(ADAM, REASON), idea)
    assert Relation.BREAK_GLASS not in policy.relations(principal(ADAM), idea)
    for who in (PAT, QUINN, CAROL, AUDREY):
        assert Relation.BREAK_GLASS not in policy.relations(principal(who, REASON), idea), who
    anonymous = replace(Principal.anonymous(), break_glass=REASON)
    assert policy.relations(anonymous, idea) == {Relation.ANYONE}


@pytest.mark.parametrize("sensitivity", list(Sensitivity))
@pytest.mark.parametrize("origin", list(Origin))
def test_break_glass_reads_every_sensitivity_and_does_nothing_else(principal, origin, sensitivity):
    idea = _idea(origin, uuid.uuid4() if origin is Origin.FORUM else None)
    adam = principal(ADAM, REASON)
    reads = {Action.LIST, Action.READ_ABSTRACT, Action.READ_BODY}
    if sensitivity is not Sensitivity.CONFIDENTIAL:  # receipts: the admins' own row only
        reads.add(Action.READ_RECEIPT)
    assert policy.actions(adam, idea, sensitivity) == reads
    for action in Action:
        assert policy.allowed(adam, action, idea, sensitivity) is (action in reads), action
    # On the record wherever nothing else would allow it: all but public ideas' bodies.
    public = sensitivity is Sensitivity.PUBLIC
    assert policy.recorded(adam, Action.READ_BODY, idea, sensitivity) is not public
    assert not policy.recorded(principal(ADAM), Action.READ_BODY, idea, sensitivity)


def test_break_glass_is_recorded_beside_a_grant(principal):
    idea = _idea()
    adam = principal(ADAM, REASON)
    for sensitivity in (Sensitivity.COMMERCIAL, Sensitivity.CONFIDENTIAL):
        assert policy.recorded(adam, Action.READ_BODY, idea, sensitivity, granted={idea.id})


def test_break_glass_opens_no_list(principal, make_idea, app_context):
    ideas = {s: make_idea(by=PAT, sensitivity=s.value)["id"] for s in Sensitivity}
    at = datetime.now(UTC)
    adam, breaking = principal(ADAM), principal(ADAM, REASON)
    assert policy._holds(breaking, Relation.BREAK_GLASS, at, policy.IDEAS) is None

    def visible_to(who: Principal, action: Action) -> set[Sensitivity]:
        query = (
            select(Idea.id)
            .join(
                IdeaVersion,
                and_(IdeaVersion.idea_id == Idea.id, IdeaVersion.number == Idea.latest_version),
            )
            .where(policy.visible(who, IdeaVersion.sensitivity, action, at))
        )
        found = {str(i) for i in db.session.scalars(query)}
        return {s for s, idea_id in ideas.items() if idea_id in found}

    registrations = {Sensitivity.PUBLIC, Sensitivity.ALLIANCE, Sensitivity.COMMERCIAL}
    for who in (adam, breaking):  # what the table gives admins, and no more
        assert visible_to(who, Action.LIST) == registrations
        assert visible_to(who, Action.READ_RECEIPT) == registrations
        assert visible_to(who, Action.READ_ABSTRACT) == {Sensitivity.PUBLIC}
        assert visible_to(who, Action.READ_BODY) == {Sensitivity.PUBLIC}
