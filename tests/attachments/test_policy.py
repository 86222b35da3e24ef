"""Who may attach, list, download and get the receipt of attachments: the access policy's
"read body" for reading, "add version" for attaching, on the record where a grant alone
opens them. Expectations are written by hand from the alliance's rules, as in
tests/access/test_policy.py."""

from __future__ import annotations

import pytest

from registry.access.breakglass import HEADER
from tests.attachments.conftest import (
    ADAM,
    AUDREY,
    CAROL,
    FRAN,
    PAT,
    PDF,
    QUINN,
    SENSITIVITIES,
)
from tests.ip.checks import error_body

ANONYMOUS = None
# Downloading (and listing) a provider idea's attachments, per sensitivity (public,
# alliance, commercial, confidential): 200, 403 (may know the idea, not read its body) or
# 404 (may not know it exists).
DOWNLOAD = {
    PAT: [200, 200, 200, 200],  # the owner's side
    FRAN: [200, 200, 200, 200],  # a Northside member too
    QUINN: [200, 200, 403, 404],  # another provider
    CAROL: [200, 200, 403, 404],  # the CCG reads no provider body without a grant
    AUDREY: [200, 403, 403, 403],  # auditors: registrations and receipts, never content
    ADAM: [200, 403, 403, 404],  # administrators manage people, not content
    ANONYMOUS: [200, 404, 404, 404],  # published ideas only
}
# The receipt (no content): whoever may know the idea exists; the openings only for the
# owner's side.
RECEIPT = {
    PAT: ["openings"] * 4,
    FRAN: ["openings"] * 4,
    QUINN: [200, 200, 200, 404],
    CAROL: [200, 200, 200, 404],
    AUDREY: [200, 200, 200, 200],
    ADAM: [200, 200, 200, 404],
    ANONYMOUS: [200, 404, 404, 404],
}
# Attaching: only the owner's side. Auditors and administrators never add to an idea
# (refused before any idea is looked up); without a token, nothing is written.
ATTACH = {
    PAT: [201] * 4,
    FRAN: [201] * 4,
    QUINN: [403, 403, 403, 404],
    CAROL: [403, 403, 403, 404],
    AUDREY: [403] * 4,
    ADAM: [403] * 4,
    ANONYMOUS: [401] * 4,
}
PERSONAS = list(DOWNLOAD)


def _who(persona: str | None, sensitivity: str) -> str:
    return f"{persona or 'anonymous'} on a {sensitivity} idea"


@pytest.mark.parametrize("sensitivity", SENSITIVITIES)
def test_who_reads_attachments(make_idea, attach, fetch, read_access_log, sensitivity):
    idea = make_idea(by=PAT, sensitivity=sensitivity)
    attached = attach(idea["id"])
    column = SENSITIVITIES.index(sensitivity)
    for persona in PERSONAS:
        expected, who = DOWNLOAD[persona][column], _who(persona, sensitivity)
        download = fetch(idea["id"], f"/{attached['id']}", by=persona)
        listed = fetch(idea["id"], by=persona)
        if expected == 200:
            assert download.status_code == 200, who
            assert download.get_data() == PDF[1], who
            assert [a["id"] for a in listed.json] == [attached["id"]], who
        else:
            body = error_body(download, expected)
            assert "plan.pdf" not in str(body), who
            error_body(listed, expected)
    # Nobody read on the record (what they read, they read anyway); every refusal, of the
    # download and of the list, is recorded.
    refusals = 2 * sum(DOWNLOAD[persona][column] != 200 for persona in PERSONAS)
    entries = read_access_log(idea["id"])
    assert [entry["outcome"] for entry in entries] == ["refused"] * refusals


@pytest.mark.parametrize("sensitivity", SENSITIVITIES)
def test_who_gets_an_attachments_receipt(make_idea, attach, fetch, sensitivity):
    idea = make_idea(by=PAT, sensitivity=sensitivity)
    attached = attach(idea["id"])
    column = SENSITIVITIES.index(sensitivity)
    for persona in PERSONAS:
        expected, who = RECEIPT[persona][column], _who(persona, sensitivity)
        response = fetch(idea["id"], f"/{attached['id']}/receipt", by=persona)
        if expected == "openings":
            assert response.status_code == 200, who
            assert set(response.json["openings"]) == {"content", "filename"}, who
        elif expected == 200:
            assert response.status_code == 200, who
            assert "openings" not in response.json, who
        else:
            error_body(response, expected)


@pytest.mark.parametrize("sensitivity", SENSITIVITIES)
def test_only_the_owners_side_attaches(make_idea, upload, sensitivity):
    idea = make_idea(by=PAT, sensitivity=sensitivity)
    column = SENSITIVITIES.index(sensitivity)
    for persona in PERSONAS:
        response = upload(idea["id"], by=persona)
        expected = ATTACH[persona][column]
        if expected == 201:
            assert response.status_code == 201, _who(persona, sensitivity)
        else:
            error_body(response, expected)


@pytest.mark.parametrize("sensitivity", SENSITIVITIES)
def test_forum_ideas_are_attached_to_by_the_group_and_the_ccg(
    make_idea, directory, upload, fetch, sensitivity
):
    idea = make_idea(
        by=FRAN, origin="forum", group=directory["general-practice"], sensitivity=sensitivity
    )
    for owner in (FRAN, CAROL):
        response = upload(idea["id"], by=owner)
        assert response.status_code == 201, owner
        assert fetch(idea["id"], f"/{response.json['id']}", by=owner).status_code == 200
    assert upload(idea["id"], by=PAT).status_code in {403, 404}


@pytest.mark.parametrize("sensitivity", ["commercial", "confidential"])
def test_a_grantees_download_is_on_the_record(
    make_idea, attach, upload, fetch, share, read_access_log, sensitivity
):
    idea = make_idea(by=PAT, sensitivity=sensitivity)
    attached = attach(idea["id"])
    share(idea["id"], person=QUINN)

    download = fetch(idea["id"], f"/{attached['id']}", by=QUINN)
    assert download.get_data() == PDF[1]
    assert [a["filename"] for a in fetch(idea["id"], by=QUINN).json] == ["plan.pdf"]
    receipt = fetch(idea["id"], f"/{attached['id']}/receipt", by=QUINN).json
    assert "openings" not in receipt  # a grantee never gets them

    entries = read_access_log(idea["id"])
    assert [(e["endpoint"], e["fields"], e["outcome"], e["version"]) for e in entries] == [
        ("attachments.list_attachments", ["attachment"], "read", 1),  # newest first
        ("attachments.download", ["attachment"], "read", 1),
    ]
    # A grantee reads, but never attaches.
    error_body(upload(idea["id"], by=QUINN), 403)


@pytest.mark.parametrize("sensitivity", ["public", "alliance"])
def test_what_members_read_anyway_is_not_recorded(
    make_idea, attach, fetch, share, read_access_log, sensitivity
):
    idea = make_idea(by=PAT, sensitivity=sensitivity)
    attached = attach(idea["id"])
    share(idea["id"], person=QUINN)
    assert fetch(idea["id"], f"/{attached['id']}", by=QUINN).status_code == 200
    assert read_access_log(idea["id"]) == []


def test_a_refused_download_is_recorded(make_idea, attach, fetch, read_access_log):
    idea = make_idea(by=PAT, sensitivity="commercial")
    attached = attach(idea["id"])
    error_body(fetch(idea["id"], f"/{attached['id']}", by=QUINN), 403)
    error_body(fetch(idea["id"], by=CAROL), 403)
    entries = read_access_log(idea["id"])
    assert [(e["endpoint"], e["fields"], e["outcome"], e["version"]) for e in entries] == [
        ("attachments.list_attachments", [], "refused", 1),
        ("attachments.download", [], "refused", 1),
    ]


def test_a_revoked_grant_opens_no_attachment(make_idea, attach, fetch, share, client, auth):
    idea = make_idea(by=PAT, sensitivity="commercial")
    attached = attach(idea["id"])
    grant = share(idea["id"], person=QUINN)
    assert fetch(idea["id"], f"/{attached['id']}", by=QUINN).status_code == 200
    revoked = client.delete(f"/api/v1/ideas/{idea['id']}/grants/{grant['id']}", headers=auth(PAT))
    assert revoked.status_code == 204
    error_body(fetch(idea["id"], f"/{attached['id']}", by=QUINN), 403)


REASON = "Safeguarding review requested by the Caldicott Guardian, ticket 4471"


@pytest.mark.parametrize("sensitivity", ["commercial", "confidential"])
def test_an_administrator_breaking_glass_reads_attachments_on_the_record(
    make_idea, attach, upload, client, auth, read_access_log, sensitivity
):
    idea = make_idea(by=PAT, sensitivity=sensitivity)
    attached = attach(idea["id"])
    path = f"/api/v1/ideas/{idea['id']}/versions/1/attachments"
    breaking = {**auth(ADAM), HEADER: REASON}

    assert client.get(f"{path}/{attached['id']}", headers=breaking).get_data() == PDF[1]
    assert [a["filename"] for a in client.get(path, headers=breaking).json] == ["plan.pdf"]
    entries = read_access_log(idea["id"])
    assert [(e["endpoint"], e["fields"], e["outcome"], e["reason"]) for e in entries] == [
        ("attachments.list_attachments", ["attachment"], "read", REASON),
        ("attachments.download", ["attachment"], "read", REASON),
    ]
    # No receipt's openings, and never a write, by breaking glass.
    receipt = client.get(f"{path}/{attached['id']}/receipt", headers=breaking)
    assert error_body(receipt, 400)["errors"] == {"headers": {HEADER: [receipt.json["message"]]}}
    response = client.post(path, headers=breaking)
    error_body(response, 400)
    assert len(read_access_log(idea["id"])) == 2
