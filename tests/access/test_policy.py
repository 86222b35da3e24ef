"""The access policy, checked end to end against a golden table written by hand from
the alliance's rules (not derived from registry/access/policy.py)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from registry.access import policy

PAT = "pat@northside.example"  # Northside: owns the provider ideas below
FRAN = "fran@northside.example"  # Northside and the General Practice forum
QUINN = "quinn@riverside.example"  # another provider
CAROL = "carol@ccg.example"  # CCG staff
AUDREY = "audrey@audit.example"  # auditor
ADAM = "adam@ccg.example"  # administrator
ANONYMOUS = None
PERSONAS = [PAT, FRAN, QUINN, CAROL, AUDREY, ADAM, ANONYMOUS]
SENSITIVITIES = ["public", "alliance", "commercial", "confidential"]

# What each persona sees of an idea, per sensitivity (public, alliance, commercial,
# confidential): "full" (body too), "abstract" (title, summary, tags), "registration"
# (that it exists, whose, when), "none" (404, as for an unknown id); "owner" is "full"
# plus the openings in receipts and the right to add versions.
OTHER = ["full", "full", "abstract", "none"]
AUDITOR = ["full", "registration", "registration", "registration"]
ADMIN = ["full", "registration", "registration", "none"]
OUTSIDER = ["full", "none", "none", "none"]
GOLDEN = {
    "provider": {
        PAT: ["owner"] * 4,
        FRAN: ["owner"] * 4,  # a Northside member too
        QUINN: OTHER,
        CAROL: OTHER,  # no provider body without a grant
        AUDREY: AUDITOR,
        ADAM: ADMIN,
        ANONYMOUS: OUTSIDER,
    },
    "forum": {  # evolved in General Practice, owned by the CCG
        FRAN: ["owner"] * 4,  # the group's members act as the owner's
        CAROL: ["owner"] * 4,  # so do CCG staff
        PAT: OTHER,
        QUINN: OTHER,
        AUDREY: AUDITOR,
        ADAM: ADMIN,
        ANONYMOUS: OUTSIDER,
    },
}
ABSTRACT_FIELDS = {"title", "summary", "tags"}


def _headers(auth, persona):
    return auth(persona) if persona else {}


def _seen(body: dict) -> str:
    if "body" in body:
        return "full"
    if body.keys() >= ABSTRACT_FIELDS:
        return "abstract"
    assert not ABSTRACT_FIELDS & body.keys(), body
    return "registration"


def _observe(client, headers, idea_id: str) -> str:
    """What the caller sees of the idea by every read path, checked to agree: "none",
    "registration", "abstract", "full", "owner" (full, with the openings) or "grantee"
    (full when fetched, the abstract in lists, no openings)."""
    shown = client.get(f"/api/v1/ideas/{idea_id}", headers=headers)
    version = client.get(f"/api/v1/ideas/{idea_id}/versions/1", headers=headers)
    listed = client.get("/api/v1/ideas", headers=headers).json
    receipt = client.get(f"/api/v1/ideas/{idea_id}/versions/1/receipt", headers=headers)
    ids = [item["id"] for item in listed["items"]]

    if shown.status_code == 404:
        assert version.status_code == 404
        assert receipt.status_code == 404
        assert idea_id not in ids
        assert listed["total"] == len(ids)  # the count knows nothing more
        return "none"
    assert shown.status_code == 200
    assert version.status_code == 200
    assert receipt.status_code == 200
    seen = _seen(shown.json)
    assert _seen(version.json) == seen
    assert idea_id in ids
    in_list = _seen(listed["items"][ids.index(idea_id)])
    openings = "openings" in receipt.json
    if seen == "full" and in_list == "abstract" and not openings:
        return "grantee"  # a body only a grant opens is read one idea at a time
    assert in_list == seen
    if openings:
        assert seen == "full"
        return "owner"
    return seen


@pytest.mark.parametrize("sensitivity", SENSITIVITIES)
@pytest.mark.parametrize("origin", ["provider", "forum"])
def test_every_persona_sees_what_the_rules_say(
    client, auth, make_idea, directory, origin, sensitivity
):
    fields = {"sensitivity": sensitivity, "title": f"Golden {origin} {sensitivity}"}
    if origin == "forum":
        idea = make_idea(by=FRAN, origin="forum", group=directory["general-practice"], **fields)
    else:
        idea = make_idea(by=PAT, **fields)
    column = SENSITIVITIES.index(sensitivity)

    for persona in PERSONAS:
        who = f"{persona or 'anonymous'} on a {sensitivity} {origin} idea"
        seen = _observe(client, _headers(auth, persona), idea["id"])
        assert seen == GOLDEN[origin][persona][column], who


# Grants: (origin, the owner's side who shares it, to whom, the persona it reaches, a
# persona it does not). A grantee reads everything but the openings, on the record, at
# every sensitivity; what members read anyway they go on reading as members.
RIVERSIDE = "Riverside Community Care"
CCG = "NHS Sunderland CCG (demo)"
GRANTEE = ["full", "full", "grantee", "grantee"]
GRANTS = {
    "provider to an organisation": ("provider", PAT, ("organisation", RIVERSIDE), QUINN, CAROL),
    "provider to a group": ("provider", QUINN, ("group", "general-practice"), FRAN, PAT),
    "provider to a person": ("provider", PAT, ("person", QUINN), QUINN, CAROL),
    "provider to the CCG": ("provider", PAT, ("organisation", CCG), CAROL, QUINN),
    "forum to an organisation": ("forum", FRAN, ("organisation", RIVERSIDE), QUINN, PAT),
}
# What the persona a grant does not reach sees, as in GOLDEN.
BYSTANDER = {PAT: OTHER, QUINN: OTHER, CAROL: OTHER}


def _idea(make_idea, directory, origin: str, owner: str, sensitivity: str) -> dict:
    fields = {"sensitivity": sensitivity, "title": f"Granted {origin} {sensitivity}"}
    if origin == "forum":
        return make_idea(by=owner, origin="forum", group=directory["general-practice"], **fields)
    return make_idea(by=owner, **fields)


def _grant(client, auth, directory, idea_id: str, owner: str, grantee, **extra) -> dict:
    kind, name = grantee
    body = {kind: directory.get(name, name), **extra}
    response = client.post(f"/api/v1/ideas/{idea_id}/grants", json=body, headers=auth(owner))
    assert response.status_code == 201, response.json
    return response.json


@pytest.mark.parametrize("sensitivity", SENSITIVITIES)
@pytest.mark.parametrize("case", sorted(GRANTS))
def test_a_grantee_sees_what_the_rules_say_until_revoked(
    client, auth, make_idea, directory, case, sensitivity
):
    origin, owner, grantee, reached, bystander = GRANTS[case]
    idea = _idea(make_idea, directory, origin, owner, sensitivity)
    column = SENSITIVITIES.index(sensitivity)
    token = _headers(auth, reached)  # one token, from before the grant to after it ends

    grant = _grant(client, auth, directory, idea["id"], owner, grantee)
    assert _observe(client, token, idea["id"]) == GRANTEE[column], case
    assert _observe(client, _headers(auth, bystander), idea["id"]) == BYSTANDER[bystander][column]

    response = client.delete(
        f"/api/v1/ideas/{idea['id']}/grants/{grant['id']}", headers=auth(owner)
    )
    assert response.status_code == 204
    assert _observe(client, token, idea["id"]) == OTHER[column], case


@pytest.mark.parametrize("sensitivity", SENSITIVITIES)
def test_an_expired_grant_opens_nothing(
    client, auth, make_idea, directory, monkeypatch, sensitivity
):
    import registry.grants.services as services

    idea = _idea(make_idea, directory, "provider", PAT, sensitivity)
    now = datetime.now(UTC)
    with monkeypatch.context() as patch:  # granted two hours ago, for one hour
        patch.setattr(services, "utcnow", lambda: now - timedelta(hours=2))
        expiry = (now - timedelta(hours=1)).isoformat()
        _grant(client, auth, directory, idea["id"], PAT, ("person", QUINN), expires_at=expiry)
    seen = _observe(client, _headers(auth, QUINN), idea["id"])
    assert seen == OTHER[SENSITIVITIES.index(sensitivity)]


@pytest.mark.parametrize("sensitivity", SENSITIVITIES)
@pytest.mark.parametrize("origin", ["provider", "forum"])
def test_only_the_owners_side_adds_versions(
    client, auth, make_idea, directory, origin, sensitivity
):
    if origin == "forum":
        idea = make_idea(by=FRAN, origin="forum", group=directory["general-practice"])
    else:
        idea = make_idea(by=PAT)
    # make the idea's sensitivity the one under test, as its owner
    owner = FRAN if origin == "forum" else PAT
    column = SENSITIVITIES.index(sensitivity)
    version = {"title": "v", "summary": "s", "body": "b", "sensitivity": sensitivity}
    assert (
        client.post(f"/api/v1/ideas/{idea['id']}/versions", json=version, headers=auth(owner))
    ).status_code == 201

    for persona in PERSONAS:
        expected = GOLDEN[origin][persona][column]
        response = client.post(
            f"/api/v1/ideas/{idea['id']}/versions", json=version, headers=_headers(auth, persona)
        )
        if persona is None:
            want = 401  # writing always needs a token
        elif persona in {AUDREY, ADAM}:
            want = 403  # never adds versions: refused before any idea is looked up
        elif expected == "owner":
            want = 201
        elif expected == "none":
            want = 404
        else:
            want = 403
        assert response.status_code == want, f"{persona} on a {sensitivity} {origin} idea"


@pytest.mark.parametrize("persona", [AUDREY, ADAM])
def test_who_never_adds_versions_learns_nothing_from_the_refusal(client, auth, persona):
    """The same 403 for any id, so it says nothing about which ideas exist."""
    version = {"title": "v", "summary": "s", "body": "b", "sensitivity": "public"}
    unknown = client.post(
        "/api/v1/ideas/00000000-0000-4000-8000-000000000000/versions",
        json=version,
        headers=auth(persona),
    )
    assert unknown.status_code == 403


def test_an_idea_one_may_not_know_cannot_be_cited(make_idea, client, auth):
    secret = make_idea(by=PAT, sensitivity="confidential")
    response = client.post(
        "/api/v1/ideas",
        headers=auth(QUINN),
        json={
            "title": "t",
            "summary": "s",
            "body": "b",
            "sensitivity": "alliance",
            "origin": "provider",
            "derived_from": [secret["id"]],
        },
    )
    assert response.status_code == 422
    assert "Unknown ideas" in response.json["errors"]["json"]["derived_from"][0]


def test_the_policy_document_is_generated_from_the_table():
    document = Path(__file__).parents[2] / "docs" / "access-policy.md"
    assert document.read_text() == policy.markdown(), "run: registry access-policy > " + str(
        document.relative_to(Path(__file__).parents[2])
    )


def test_the_table_has_a_cell_for_every_relation_and_sensitivity():
    """Deny by default must be a decision in the table, never a missing cell."""
    for relation, row in policy.TABLE.items():
        assert set(row) == set(policy.Sensitivity), relation
        assert all(actions <= set(policy.Action) for actions in row.values()), relation
