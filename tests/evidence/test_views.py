"""POST /api/v1/verify: receipts checked by the registry against its own published keys."""

from __future__ import annotations

import copy

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry.access import Permission, declared_permission
from registry.evidence import note
from registry.evidence.schemas import CHECKPOINT_MAX
from tests.evidence.receipt_vectors import VECTOR_RECEIPT

URL = "/api/v1/verify"
BASIC = ["format", "signature", "timestamp", "inclusion", "checkpoint signature"]
AUDITOR = "audrey@audit.example"
PEOPLE = [
    "pat@northside.example",
    "quinn@riverside.example",
    "fran@northside.example",
    "carol@ccg.example",
    "audrey@audit.example",
    "adam@ccg.example",
]


@pytest.fixture
def post(client, auth):
    def send(body, by: str = AUDITOR, expect: int = 200) -> dict:
        response = client.post(URL, json=body, headers=auth(by))
        assert response.status_code == expect, response.json
        return response.json

    return send


def failed(answer: dict) -> list[str]:
    return [check["check"] for check in answer["checks"] if not check["ok"]]


def test_a_receipt_of_this_registry_verifies(make_idea, post):
    answer = post({"receipt": make_idea()["receipt"]})
    assert answer["ok"] is True
    assert [check["check"] for check in answer["checks"]] == BASIC
    assert all(check["ok"] and check["detail"] for check in answer["checks"])


@pytest.mark.parametrize("person", PEOPLE)
def test_anyone_signed_in_may_verify(make_idea, post, person):
    receipt = make_idea()["receipt"]
    assert post({"receipt": receipt}, by=person)["ok"] is True


def test_the_route_declares_its_permission(app):
    with app.test_request_context():
        assert declared_permission("evidence.verify") is Permission.RECEIPT_VERIFY


def test_content_is_checked_against_the_commitments(make_idea, post):
    idea = make_idea(tags=["frailty", "falls"])
    content = {field: idea[field] for field in ("title", "summary", "body", "tags")}
    answer = post({"receipt": idea["receipt"], "content": content})
    assert answer["ok"] is True
    assert answer["checks"][-1] == {
        "check": "content",
        "ok": True,
        "detail": "title, summary, body, tags match their commitments",
    }


def test_tags_may_be_given_as_their_exact_json_text(make_idea, post):
    idea = make_idea(tags=["frailty", "falls"])
    answer = post({"receipt": idea["receipt"], "content": {"tags": '["frailty","falls"]'}})
    assert answer["ok"] is True


def test_wrong_content_is_a_200_that_says_so(make_idea, post):
    idea = make_idea()
    answer = post({"receipt": idea["receipt"], "content": {"body": idea["body"] + " "}})
    assert answer["ok"] is False
    assert failed(answer) == ["content"]
    assert answer["checks"][-1]["detail"] == "body does not match its commitment"


def test_a_receipt_without_openings_cannot_prove_content(make_idea, client, auth, post):
    idea = make_idea()
    response = client.get(
        f"/api/v1/ideas/{idea['id']}/versions/1/receipt", headers=auth("quinn@riverside.example")
    )
    receipt = response.json
    assert "openings" not in receipt
    assert post({"receipt": receipt})["ok"] is True
    answer = post({"receipt": receipt, "content": {"title": idea["title"]}})
    assert failed(answer) == ["content"]


def test_a_tampered_receipt_is_a_200_with_ok_false(make_idea, post):
    receipt = copy.deepcopy(make_idea()["receipt"])
    receipt["statement"]["sensitivity"] = "public"
    answer = post({"receipt": receipt})
    assert answer["ok"] is False
    assert failed(answer) == ["signature", "timestamp", "inclusion"]


def test_a_receipt_of_another_shape_fails_format(post):
    answer = post({"receipt": {"statement": "hello"}})
    assert answer == {
        "ok": False,
        "checks": [
            {
                "check": "format",
                "ok": False,
                "detail": "receipt lacks log, signature, timestamps",
            }
        ],
    }


def test_another_registrys_receipt_fails_against_these_keys(post):
    answer = post({"receipt": VECTOR_RECEIPT})
    assert answer["ok"] is False
    # Its proof is self-consistent; nothing else holds with this registry's keys.
    assert failed(answer) == ["signature", "timestamp", "checkpoint signature"]


def _checkpoint(client) -> str:
    return client.get("/api/v1/log/checkpoint").get_data(as_text=True)


def test_an_earlier_checkpoint_is_proved_consistent_by_the_registry(make_idea, client, post):
    make_idea(title="One")
    make_idea(title="Two")
    earlier = _checkpoint(client)
    make_idea(title="Three")
    receipt = make_idea(title="Four")["receipt"]
    answer = post({"receipt": receipt, "previous_checkpoint": earlier})
    assert answer["ok"] is True, answer
    assert answer["checks"][-1] == {
        "check": "consistency",
        "ok": True,
        "detail": "the previous checkpoint (size 2) is a prefix of size 4",
    }


def test_a_later_checkpoint_is_proved_consistent_with_an_older_receipt(make_idea, client, post):
    receipt = make_idea(title="One")["receipt"]
    make_idea(title="Two")
    answer = post({"receipt": receipt, "previous_checkpoint": _checkpoint(client)})
    assert answer["ok"] is True, answer
    assert answer["checks"][-1]["detail"].startswith("the receipt is older")


def test_the_receipts_own_checkpoint_is_consistent(make_idea, post):
    receipt = make_idea()["receipt"]
    answer = post({"receipt": receipt, "previous_checkpoint": receipt["log"]["checkpoint"]})
    assert answer["ok"] is True


def test_a_checkpoint_signed_by_another_key_fails_consistency(make_idea, client, post):
    make_idea(title="One")
    text = _checkpoint(client).split("\n\n")[0] + "\n"
    origin = text.split("\n")[0]
    forged = note.sign_note(text, origin, Ed25519PrivateKey.generate())
    receipt = make_idea(title="Two")["receipt"]
    answer = post({"receipt": receipt, "previous_checkpoint": forged})
    assert failed(answer) == ["consistency"]
    assert answer["checks"][-1]["detail"].startswith("previous checkpoint: no signature by")


def test_a_checkpoint_beyond_the_log_gets_no_proof(make_idea, client, post):
    # A checkpoint claiming more entries than the log has: there is no proof to give.
    receipt = make_idea()["receipt"]
    text = _checkpoint(client).replace("\n1\n", "\n9\n", 1)
    answer = post({"receipt": receipt, "previous_checkpoint": text})
    assert failed(answer) == ["consistency"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "receipt"),
        ({"receipt": "text"}, "receipt"),
        ({"receipt": {}, "content": {"colour": "red"}}, "content"),
        ({"receipt": {}, "content": {"title": ["a", "list"]}}, "content"),
        ({"receipt": {}, "content": {"body": 5}}, "content"),
        ({"receipt": {}, "content": {}}, "content"),
        ({"receipt": {}, "previous_checkpoint": ""}, "previous_checkpoint"),
        ({"receipt": {}, "previous_checkpoint": "x" * (CHECKPOINT_MAX + 1)}, "previous_checkpoint"),
        ({"receipt": {}, "keys": {}}, "keys"),
    ],
    ids=[
        "no-receipt",
        "receipt-text",
        "unknown-field",
        "list-for-text",
        "number",
        "empty-content",
        "empty-checkpoint",
        "long-checkpoint",
        "unknown-member",
    ],
)
def test_a_malformed_request_is_422(post, body, field):
    answer = post(body, expect=422)
    assert set(answer) == {"code", "status", "message", "errors"}
    assert answer["code"] == 422
    assert field in answer["errors"]["json"]


def test_a_body_that_is_not_json_is_refused(client, auth):
    response = client.post(URL, data="receipt", headers=auth(AUDITOR))
    assert response.status_code == 415


def test_verifying_needs_a_token(client, make_idea):
    response = client.post(URL, json={"receipt": make_idea()["receipt"]})
    assert response.status_code == 401
    assert set(response.json) == {"code", "status", "message", "errors"}
