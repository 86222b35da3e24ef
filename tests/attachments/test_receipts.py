"""An attachment's statement and receipt: what it commits to, and that it verifies offline,
with the registry's tools and with OpenSSL alone."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from click.testing import CliRunner

from registry.evidence import statements as st
from registry.evidence.commands import verify
from registry.evidence.jcs import canonicalize
from registry.evidence.receipts import verify_receipt
from tests.attachments.conftest import PAT, PDF, QUINN

SECRET = b"%PDF-1.7\nthe confidential plan\n"


@pytest.fixture
def attached(make_idea, attach) -> tuple[dict, dict]:
    """A confidential idea and its attachment (with its receipt, as the owner got it)."""
    idea = make_idea(sensitivity="confidential")
    return idea, attach(idea["id"], filename="secret plan.pdf", content=SECRET)


def test_the_statement_names_the_version_and_commits_to_the_file(attached, client, auth):
    idea, attachment = attached
    statement = attachment["receipt"]["statement"]
    version_receipt = client.get(
        f"/api/v1/ideas/{idea['id']}/versions/1/receipt", headers=auth(PAT)
    ).json
    version_hash = hashlib.sha256(canonicalize(version_receipt["statement"])).hexdigest()
    assert statement == {
        "type": "idea-attachment",
        "statement_version": 1,
        "registry": version_receipt["statement"]["registry"],
        "idea": idea["id"],
        "version": 1,
        "version_statement": version_hash,
        "previous": version_hash,  # the idea's latest statement before it
        "attachment": attachment["id"],
        "media_type": "application/pdf",
        "size": len(SECRET),
        "attached_by": attachment["created_by"],
        "attached_at": statement["attached_at"],
        "commitments": statement["commitments"],
    }
    openings = {f: base64.b64decode(s) for f, s in attachment["receipt"]["openings"].items()}
    assert statement["commitments"] == {
        "content": st.commitment(openings["content"], SECRET),
        "filename": st.commitment(openings["filename"], b"secret plan.pdf"),
    }
    # Salted: no plain digest of the content or the name is in the statement.
    text = json.dumps(statement)
    for value in (SECRET, b"secret plan.pdf"):
        assert hashlib.sha256(value).hexdigest() not in text


def test_statements_of_one_idea_stay_chained(make_idea, attach, client, auth):
    idea = make_idea(sensitivity="commercial")
    first = attach(idea["id"])["receipt"]["statement"]
    second = attach(idea["id"])["receipt"]["statement"]
    assert second["previous"] == hashlib.sha256(canonicalize(first)).hexdigest()
    assert second["version_statement"] == first["version_statement"]
    new = {"title": "t", "summary": "s", "body": "b", "sensitivity": "commercial"}
    version = client.post(f"/api/v1/ideas/{idea['id']}/versions", json=new, headers=auth(PAT))
    assert version.json["receipt"]["statement"]["previous"] == (
        hashlib.sha256(canonicalize(second)).hexdigest()
    )


def test_the_receipt_verifies_and_proves_the_file(attached, keyset):
    _, attachment = attached
    receipt = attachment["receipt"]
    report = verify_receipt(
        receipt, keyset, content={"content": SECRET, "filename": b"secret plan.pdf"}
    )
    assert report.ok, report.to_dict()
    assert f"attachment {attachment['id']} (application/pdf, {len(SECRET)} bytes)" in (
        report.result("format").detail
    )
    wrong = verify_receipt(receipt, keyset, content={"content": SECRET + b" "})
    assert wrong.failed == ("content",)
    # Any change to the statement fails.
    tampered = json.loads(json.dumps(receipt))
    tampered["statement"]["size"] += 1
    assert set(verify_receipt(tampered, keyset).failed) >= {"signature", "timestamp"}


def test_the_receipt_fetched_later_verifies(attached, fetch, keyset, verified):
    idea, attachment = attached
    receipt = fetch(idea["id"], f"/{attachment['id']}/receipt").json
    verified(receipt)
    assert receipt["openings"] == attachment["receipt"]["openings"]
    assert verify_receipt(receipt, keyset, content=[SECRET]).ok


def test_a_reader_without_openings_verifies_all_but_content(make_idea, attach, fetch, keyset):
    idea = make_idea(sensitivity="alliance")
    attachment = attach(idea["id"])
    receipt = fetch(idea["id"], f"/{attachment['id']}/receipt", by=QUINN).json
    assert "openings" not in receipt
    assert verify_receipt(receipt, keyset).ok
    report = verify_receipt(receipt, keyset, content={"content": PDF[1]})
    assert report.failed == ("content",)


def test_a_receipt_with_a_members_set_wrong_is_refused_as_format(attached, keyset):
    _, attachment = attached
    for change in (
        lambda s: s["commitments"].update(title="0" * 64),
        lambda s: s.pop("version_statement"),
        lambda s: s.update(size=0),
        lambda s: s.update(version_statement="not a hash"),
    ):
        receipt = json.loads(json.dumps(attachment["receipt"]))
        change(receipt["statement"])
        assert verify_receipt(receipt, keyset).failed == ("format",)


def test_registry_verify_checks_the_file(attached, client, tmp_path):
    _, attachment = attached
    (tmp_path / "receipt.json").write_text(json.dumps(attachment))  # the upload's answer
    (tmp_path / "keys.json").write_text(json.dumps(client.get("/api/v1/keys").json))
    (tmp_path / "plan.pdf").write_bytes(SECRET)
    (tmp_path / "name.txt").write_bytes(b"secret plan.pdf")
    (tmp_path / "other.pdf").write_bytes(PDF[1])
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(verify, [str(tmp_path / "receipt.json"), *args])

    named = run(
        "--content",
        f"content={tmp_path / 'plan.pdf'}",
        "--content",
        f"filename={tmp_path / 'name.txt'}",
    )
    assert named.exit_code == 0, named.output
    assert "PASS format: idea-attachment statement: attachment" in named.output
    assert "PASS content: content, filename match their commitments" in named.output
    bare = run("--content", str(tmp_path / "plan.pdf"))
    assert bare.exit_code == 0, bare.output
    wrong = run("--content", f"content={tmp_path / 'other.pdf'}")
    assert wrong.exit_code == 1
    assert "FAIL content: content does not match its commitment" in wrong.output


def test_the_token_verifies_with_openssl(attached, check_token_with_openssl):
    check_token_with_openssl(attached[1]["receipt"])


def test_the_online_verifier_accepts_the_receipt(attached, client, auth):
    receipt = attached[1]["receipt"]
    response = client.post(
        "/api/v1/verify",
        json={"receipt": receipt},
        headers=auth(QUINN),
    )
    assert response.status_code == 200
    assert response.json["ok"], response.json
