"""Sealed storage through the register: what is stored, who reads it, shredding, audit."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, text

from registry.alliance.services import person_by_email
from registry.auth.tokens import person_token
from registry.db import db
from registry.evidence.audit import audit
from registry.evidence.models import Opening
from registry.evidence.receipts import Keyset, verify_receipt
from registry.ip.models import IdeaVersion
from registry.sealing.crypto import SealError
from registry.sealing.models import DataKey, SealedField
from registry.sealing.service import ShreddedError
from tests.markers import postgresql_rows_holding

PAT = "pat@northside.example"  # Northside, owner of the ideas below
QUINN = "quinn@riverside.example"  # another provider: an alliance member


def _version(idea: dict) -> IdeaVersion:
    return db.session.scalar(
        select(IdeaVersion).where(IdeaVersion.idea_id == uuid.UUID(idea["id"]))
    )


def _sealed(version: IdeaVersion) -> set[str]:
    return set(
        db.session.scalars(select(SealedField.field).where(SealedField.version_id == version.id))
    )


def _unlock(table: str, trigger: str) -> None:
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text(f"DROP TRIGGER {trigger}"))
    else:
        db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_immutable"))


@pytest.fixture
def evidence(app):
    return app.extensions["registry.evidence"]


@pytest.mark.usefixtures("app_context")
def test_a_commercial_body_and_its_openings_are_stored_sealed(make_idea):
    idea = make_idea(sensitivity="commercial", body="the sealed body")
    version = _version(idea)
    assert (version.title, version.body) == (idea["title"], "")
    assert _sealed(version) == {
        "body",
        *(f"opening:{f}" for f in ("title", "summary", "body", "tags")),
    }
    assert not db.session.scalars(select(Opening).where(Opening.version_id == version.id)).all()
    assert idea["body"] == "the sealed body"  # the submitter's answer, from the request


@pytest.mark.usefixtures("app_context")
def test_a_confidential_title_and_summary_are_sealed_too(client, auth, make_idea):
    idea = make_idea(sensitivity="confidential", title="Hidden title", summary="Hidden summary")
    version = _version(idea)
    assert (version.title, version.summary, version.body) == ("", "", "")
    shown = client.get(f"/api/v1/ideas/{idea['id']}", headers=auth(PAT)).json
    assert (shown["title"], shown["summary"]) == ("Hidden title", "Hidden summary")
    listed = client.get("/api/v1/ideas", headers=auth(PAT)).json["items"]
    assert [i["title"] for i in listed if i["id"] == idea["id"]] == ["Hidden title"]


@pytest.mark.usefixtures("app_context")
def test_public_and_alliance_versions_are_stored_in_clear(make_idea):
    for sensitivity in ("public", "alliance"):
        version = _version(make_idea(sensitivity=sensitivity, body="clear body"))
        assert version.body == "clear body"
        assert _sealed(version) == set()


@pytest.mark.usefixtures("app_context")
def test_readers_see_what_the_policy_lets_them(client, auth, make_idea):
    idea = make_idea(sensitivity="commercial", body="owners only")
    assert (
        client.get(f"/api/v1/ideas/{idea['id']}", headers=auth(PAT)).json["body"] == "owners only"
    )
    member = client.get(f"/api/v1/ideas/{idea['id']}", headers=auth(QUINN)).json
    assert member["title"] == idea["title"]
    assert "body" not in member


@pytest.mark.usefixtures("app_context")
def test_the_owners_receipt_opens_the_sealed_content(client, auth, make_idea):
    idea = make_idea(sensitivity="commercial", body="provable body")
    receipt = client.get(f"/api/v1/ideas/{idea['id']}/versions/1/receipt", headers=auth(PAT)).json
    assert set(receipt["openings"]) == {"title", "summary", "body", "tags"}
    keyset = Keyset.from_jwks(client.get("/api/v1/keys").json)
    report = verify_receipt(receipt, keyset, content={"body": b"provable body"})
    assert report.ok, report.to_dict()
    wrong = verify_receipt(receipt, keyset, content={"body": b"another body"})
    assert not wrong.ok


@pytest.mark.usefixtures("app_context")
def test_two_sealed_fields_swapped_within_a_version_do_not_open(make_idea, evidence):
    version = _version(make_idea(sensitivity="confidential"))
    summary = db.session.get(SealedField, (version.id, "summary"))
    _unlock("sealed_fields", "sealed_fields_no_update")
    swap = text(
        "UPDATE sealed_fields SET nonce = :n, ciphertext = :c WHERE version_id = :v AND field = :f"
    )
    db.session.execute(
        swap, {"n": summary.nonce, "c": summary.ciphertext, "v": version.id, "f": "title"}
    )
    db.session.expire_all()
    with pytest.raises(SealError, match="wrong key, wrong place or tampered"):
        evidence.sealing.open(db.session, version.id, version.idea_id, 1, ["title"])


@pytest.mark.usefixtures("app_context")
def test_a_page_of_versions_opens_together_each_only_what_is_asked(
    client, auth, make_idea, evidence
):
    """open_many: each version's asked fields under its own key; a shredded version is
    left out; a field not asked for is never opened, though another version asks for it."""
    ideas = [
        make_idea(sensitivity="confidential", title="First title", body="first body"),
        make_idea(sensitivity="commercial", body="second body"),
        make_idea(sensitivity="confidential", title="Gone", body="gone body"),
    ]
    _withdraw(client, auth, ideas[2]["id"])
    assert _shred(client, auth, ideas[2]["id"]).status_code == 200
    first, second, gone = (_version(i) for i in ideas)
    opened = evidence.sealing.open_many(
        db.session,
        {
            first.id: (first.idea_id, 1, ["title"]),
            second.id: (second.idea_id, 1, ["body"]),
            gone.id: (gone.idea_id, 1, ["title", "body"]),
        },
    )
    assert opened == {first.id: {"title": b"First title"}, second.id: {"body": b"second body"}}
    with pytest.raises(ShreddedError):
        evidence.sealing.open(db.session, gone.id, gone.idea_id, 1, ["title"])


def _withdraw(client, auth, idea_id: str) -> None:
    response = client.post(
        f"/api/v1/ideas/{idea_id}/withdraw", json={"reason": "Erase it"}, headers=auth(PAT)
    )
    assert response.status_code == 200, response.json


def _shred(client, auth, idea_id: str, by: str = PAT):
    return client.post(f"/api/v1/ideas/{idea_id}/shred", json={}, headers=auth(by))


@pytest.mark.usefixtures("app_context")
def test_only_a_withdrawn_idea_is_shredded(client, auth, make_idea):
    idea = make_idea(sensitivity="commercial")
    response = _shred(client, auth, idea["id"])
    assert response.status_code == 409
    assert "withdraw it first" in response.json["message"]


@pytest.mark.usefixtures("app_context")
def test_only_the_owners_side_shreds(client, auth, make_idea):
    idea = make_idea(sensitivity="commercial")
    _withdraw(client, auth, idea["id"])
    assert _shred(client, auth, idea["id"], by=QUINN).status_code == 403


@pytest.mark.usefixtures("app_context")
def test_an_idea_stored_in_clear_has_nothing_to_shred(client, auth, make_idea):
    idea = make_idea(sensitivity="alliance")
    _withdraw(client, auth, idea["id"])
    response = _shred(client, auth, idea["id"])
    assert response.status_code == 409
    assert "no sealed content" in response.json["message"]


@pytest.mark.usefixtures("app_context")
def test_shredded_content_is_gone_and_the_evidence_still_verifies(
    app, client, auth, make_idea, evidence
):
    idea = make_idea(sensitivity="commercial", body="to be erased")
    client.post(
        f"/api/v1/ideas/{idea['id']}/versions",
        json={
            "title": "Second",
            "summary": "s",
            "body": "also erased",
            "sensitivity": "confidential",
        },
        headers=auth(PAT),
    )
    assert audit(db.session, evidence).ok
    _withdraw(client, auth, idea["id"])

    response = _shred(client, auth, idea["id"])
    assert response.status_code == 200, response.json
    assert response.json["shredded"] is True
    assert {"title", "summary", "body"}.isdisjoint(response.json)
    first = client.get(f"/api/v1/ideas/{idea['id']}/versions/1", headers=auth(PAT)).json
    assert first["shredded"] is True
    assert first["title"] == idea["title"]  # a commercial title was never sealed
    assert "body" not in first
    assert _shred(client, auth, idea["id"]).status_code == 409

    version = _version(idea)
    assert db.session.get(DataKey, version.id) is None
    assert _sealed(version)  # the ciphertexts stay, with no key to open them
    with pytest.raises(ShreddedError, match=f"version {version.id} was shredded"):
        evidence.sealing.open(db.session, version.id, version.idea_id, 1, ["body"])

    keyset = Keyset.from_jwks(client.get("/api/v1/keys").json)
    for number in (1, 2):
        receipt = client.get(
            f"/api/v1/ideas/{idea['id']}/versions/{number}/receipt", headers=auth(PAT)
        ).json
        assert "openings" not in receipt
        report = verify_receipt(receipt, keyset)
        assert report.ok, report.to_dict()
    report = audit(db.session, evidence)
    assert report.ok, [str(p) for p in report.problems]
    assert report.shredded == 2
    assert report.shreddings == 1
    assert "2 versions shredded" in report.summary()


@pytest.mark.usefixtures("app_context")
def test_audit_fails_on_a_tampered_ciphertext(make_idea, evidence):
    version = _version(make_idea(sensitivity="commercial", body="tamper with me"))
    assert audit(db.session, evidence).ok
    row = db.session.get(SealedField, (version.id, "body"))
    flipped = bytes([row.ciphertext[0] ^ 1]) + row.ciphertext[1:]
    _unlock("sealed_fields", "sealed_fields_no_update")
    db.session.execute(
        text("UPDATE sealed_fields SET ciphertext = :c WHERE version_id = :v AND field = 'body'"),
        {"c": flipped, "v": version.id},
    )
    db.session.expire_all()
    report = audit(db.session, evidence)
    assert not report.ok
    assert any("does not open" in p.message for p in report.problems), report.problems


@pytest.mark.usefixtures("app_context")
def test_audit_finds_a_data_key_left_after_shredding(client, auth, make_idea, evidence):
    idea = make_idea(sensitivity="commercial")
    version = _version(idea)
    kept = db.session.get(DataKey, version.id)
    kek_id, wrapped = kept.kek_id, kept.wrapped
    _withdraw(client, auth, idea["id"])
    assert _shred(client, auth, idea["id"]).status_code == 200
    db.session.add(DataKey(version_id=version.id, kek_id=kek_id, wrapped=wrapped))
    db.session.flush()
    report = audit(db.session, evidence)
    assert any("was shredded, but this data key" in p.message for p in report.problems)


# -- nothing in clear on disk --------------------------------------------------------------


def _submit(app, title: str, body: str) -> dict:
    with app.app_context():
        person = person_by_email(PAT)
        token = person_token(app.extensions["registry.token_generator"], person)["access_token"]
    response = app.test_client().post(
        "/api/v1/ideas",
        json={
            "origin": "provider",
            "title": title,
            "summary": "An idea with a marked body.",
            "body": body,
            "sensitivity": "commercial",
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.json
    return response.json


def test_no_plaintext_of_a_sealed_body_reaches_the_disk(make_isolated_app):
    app = make_isolated_app()
    marker, clear = uuid.uuid4().hex, uuid.uuid4().hex
    _submit(app, f"Title {clear}", f"The body holds {marker} only here.")
    with app.app_context():
        database = Path(db.engine.url.database)
        db.session.remove()
        db.engine.dispose()
    files = [p for p in Path(app.instance_path).rglob("*") if p.is_file()]
    files += [p for p in database.parent.glob(database.name + "*") if p.is_file()]
    contents = {path: path.read_bytes() for path in files}
    # The clear title is found: the search sees what the database wrote.
    assert any(clear.encode() in data for data in contents.values())
    assert [path for path, data in contents.items() if marker.encode() in data] == []


@pytest.mark.usefixtures("app_context")
def test_no_plaintext_of_a_sealed_body_is_in_any_postgresql_table(make_idea):
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite: the database file itself is searched above")
    marker, clear = uuid.uuid4().hex, uuid.uuid4().hex
    make_idea(title=f"Title {clear}", body=f"The body holds {marker} only here.")

    assert postgresql_rows_holding(db.session, clear) >= 1
    assert postgresql_rows_holding(db.session, marker) == 0


@pytest.mark.usefixtures("app_context")
def test_the_shredding_statement_has_a_receipt_that_verifies(client, auth, make_idea, evidence):
    idea = make_idea(sensitivity="commercial")
    _withdraw(client, auth, idea["id"])
    assert _shred(client, auth, idea["id"]).status_code == 200
    statement = evidence.latest_statement(db.session, uuid.UUID(idea["id"]))
    assert statement.kind == "idea-shredding"
    receipt = evidence.receipt(db.session, statement, None)
    report = verify_receipt(receipt, Keyset.from_jwks(client.get("/api/v1/keys").json))
    assert report.ok, report.to_dict()
    assert f"shredding of idea {idea['id']}" in report.result("format").detail
