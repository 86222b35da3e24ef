"""The access policy, checked end to end against a golden table written by hand from
the alliance's rules (not derived from registry/access/policy.py)."""

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
        expected = GOLDEN[origin][persona][column]
        headers = _headers(auth, persona)
        who = f"{persona or 'anonymous'} on a {sensitivity} {origin} idea"

        shown = client.get(f"/api/v1/ideas/{idea['id']}", headers=headers)
        version = client.get(f"/api/v1/ideas/{idea['id']}/versions/1", headers=headers)
        listed = client.get("/api/v1/ideas", headers=headers).json
        receipt = client.get(f"/api/v1/ideas/{idea['id']}/versions/1/receipt", headers=headers)
        ids = [item["id"] for item in listed["items"]]

        if expected == "none":
            assert shown.status_code == 404, who
            assert version.status_code == 404, who
            assert receipt.status_code == 404, who
            assert idea["id"] not in ids, who
            assert listed["total"] == len(ids), who  # the count knows nothing more
            continue
        assert shown.status_code == 200, who
        assert _seen(shown.json) == ("full" if expected == "owner" else expected), who
        assert _seen(version.json) == _seen(shown.json), who
        assert idea["id"] in ids, who
        item = listed["items"][ids.index(idea["id"])]
        assert _seen(item) == _seen(shown.json), who
        assert receipt.status_code == 200, who
        assert ("openings" in receipt.json) == (expected == "owner"), who


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
