"""Attachments through the API: upload and download, what is stored, every bad input."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from sqlalchemy import select

from registry.attachments.models import Attachment
from registry.db import db
from registry.sealing.crypto import NONCE_BYTES
from tests.attachments.conftest import (
    PAT,
    PDF,
    SAMPLES,
    SEALED,
    SENSITIVITIES,
    attachments_path,
)
from tests.ip.checks import error_body


def _stored(attachment_id: str) -> Attachment:
    return db.session.scalar(select(Attachment).where(Attachment.id == uuid.UUID(attachment_id)))


# -- the round trip ----------------------------------------------------------------


@pytest.mark.usefixtures("app_context")
@pytest.mark.parametrize("sensitivity", SENSITIVITIES)
def test_an_attachment_goes_up_and_comes_back_the_same(make_idea, attach, fetch, sensitivity):
    idea = make_idea(sensitivity=sensitivity)
    filename, content = "Plan for the hub — v2.pdf", PDF[1]
    response_body = attach(idea["id"], filename=filename, content=content)
    assert response_body["filename"] == filename
    assert response_body["media_type"] == "application/pdf"
    assert (response_body["size"], response_body["position"]) == (len(content), 0)
    assert (response_body["idea"], response_body["version"]) == (idea["id"], 1)
    assert response_body["receipt"]["statement"]["type"] == "idea-attachment"

    download = fetch(idea["id"], f"/{response_body['id']}")
    assert download.status_code == 200
    assert download.get_data() == content
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"] == (
        "attachment; filename*=UTF-8''Plan%20for%20the%20hub%20%E2%80%94%20v2.pdf"
    )
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "ETag" not in download.headers
    if sensitivity in SEALED:
        assert download.headers["Cache-Control"] == "no-store"
    else:
        assert "no-store" not in download.headers.get("Cache-Control", "")

    listed = fetch(idea["id"]).json
    assert listed == [{k: v for k, v in response_body.items() if k != "receipt"}]


@pytest.mark.usefixtures("app_context")
@pytest.mark.parametrize("sensitivity", SENSITIVITIES)
def test_sealed_versions_store_the_file_and_its_name_sealed(make_idea, attach, sensitivity):
    idea = make_idea(sensitivity=sensitivity)
    filename, content = "secret-plan.pdf", PDF[1] + b"the secret plan"
    stored = _stored(attach(idea["id"], filename=filename, content=content)["id"])
    if sensitivity in SEALED:
        assert content not in stored.content
        assert filename.encode() not in stored.filename
        # nonce, ciphertext, and the 16-byte tag
        assert len(stored.content) == NONCE_BYTES + len(content) + 16
        assert len(stored.content_opening) == len(stored.filename_opening) == 60
    else:
        assert (stored.content, stored.filename) == (content, filename.encode())
        assert len(stored.content_opening) == len(stored.filename_opening) == 32
    assert (stored.media_type, stored.size) == ("application/pdf", len(content))


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_every_accepted_type_is_served_as_it_was_proved(make_idea, attach, fetch, kind):
    filename, content, media_type = SAMPLES[kind]
    idea = make_idea()
    attached = attach(idea["id"], filename=filename, content=content, part_type="text/html")
    assert attached["media_type"] == media_type  # what the client said the part was: ignored
    download = fetch(idea["id"], f"/{attached['id']}")
    assert download.mimetype == media_type
    assert download.get_data() == content


def test_text_is_served_as_utf_8(make_idea, attach, fetch):
    idea = make_idea()
    attached = attach(idea["id"], filename="notes.txt", content="café".encode())
    assert fetch(idea["id"], f"/{attached['id']}").headers["Content-Type"] == (
        "text/plain; charset=utf-8"
    )


def test_the_answer_names_the_new_attachment(make_idea, upload, client, auth):
    idea = make_idea()
    response = upload(idea["id"])
    assert response.status_code == 201
    location = response.headers["Location"]
    assert location.endswith(f"{attachments_path(idea['id'])}/{response.json['id']}")
    assert client.get(location, headers=auth(PAT)).get_data() == PDF[1]


def test_attachments_are_listed_in_the_order_they_came(make_idea, attach, fetch):
    idea = make_idea(sensitivity="confidential")
    names = [f"part-{n}.txt" for n in range(3)]
    for name in names:
        attach(idea["id"], filename=name, content=name.encode())
    listed = fetch(idea["id"]).json
    assert [(a["position"], a["filename"]) for a in listed] == list(enumerate(names))


def test_any_version_of_an_active_idea_takes_attachments(make_idea, attach, fetch, client, auth):
    idea = make_idea(sensitivity="alliance")
    second = {"title": "t", "summary": "s", "body": "b", "sensitivity": "commercial"}
    assert (
        client.post(f"/api/v1/ideas/{idea['id']}/versions", json=second, headers=auth(PAT))
    ).status_code == 201
    first = attach(idea["id"], number=1)
    latest = attach(idea["id"], number=2)
    assert first["position"] == latest["position"] == 0
    assert [a["id"] for a in fetch(idea["id"], number=1).json] == [first["id"]]
    assert [a["id"] for a in fetch(idea["id"], number=2).json] == [latest["id"]]
    # Each version's attachments are served as of that version's sensitivity.
    assert "Cache-Control" not in fetch(idea["id"], f"/{first['id']}", number=1).headers
    assert fetch(idea["id"], f"/{latest['id']}", number=2).headers["Cache-Control"] == "no-store"


def test_an_attachment_is_found_only_under_its_own_version(make_idea, attach, fetch):
    idea, other = make_idea(), make_idea()
    attached = attach(idea["id"])
    error_body(fetch(other["id"], f"/{attached['id']}"), 404)
    error_body(fetch(idea["id"], f"/{uuid.uuid4()}"), 404)
    assert fetch(idea["id"], f"/{attached['id']}/receipt").status_code == 200
    error_body(fetch(other["id"], f"/{attached['id']}/receipt"), 404)


def test_an_unknown_version_is_404(make_idea, upload, fetch):
    idea = make_idea()
    body = error_body(upload(idea["id"], number=2), 404)
    assert body["message"] == "Idea version not found"
    error_body(fetch(idea["id"], number=2), 404)


# -- refusals: the state of the idea -------------------------------------------------


def test_a_withdrawn_idea_takes_no_attachments(make_idea, attach, upload, fetch, client, auth):
    idea = make_idea()
    kept = attach(idea["id"])
    response = client.post(
        f"/api/v1/ideas/{idea['id']}/withdraw", json={"reason": "Done."}, headers=auth(PAT)
    )
    assert response.status_code == 200
    body = error_body(upload(idea["id"]), 409)
    assert "withdrawn" in body["message"]
    assert fetch(idea["id"], f"/{kept['id']}").get_data() == PDF[1]  # still readable


def test_a_version_takes_twenty_attachments(make_idea, attach, upload, fetch):
    idea = make_idea(sensitivity="public")
    for n in range(20):
        attach(idea["id"], filename=f"{n}.txt", content=b"x")
    body = error_body(upload(idea["id"], filename="21.txt", content=b"x"), 409)
    assert "20 attachments" in body["message"]
    assert len(fetch(idea["id"]).json) == 20


# -- refusals: the request -------------------------------------------------------------


def _refused(response, field: str = "file", location: str = "files", *words: str) -> dict:
    body = error_body(response, 422)
    assert list(body["errors"]) == [location]
    assert list(body["errors"][location]) == [field]
    assert all(word in body["message"] for word in words), body["message"]
    return body


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"content": b""}, ["empty"]),
        ({"files": []}, ["Missing file part"]),
        ({"files": [("file", "a.pdf", PDF[1]), ("file", "b.pdf", PDF[1])]}, ["one file"]),
        ({"filename": "../plan.pdf"}, ["path separators"]),
        ({"filename": "reports/plan.pdf"}, ["path separators"]),
        ({"filename": "C:\\reports\\plan.pdf"}, ["path separators"]),
        ({"filename": "plan\x00.pdf"}, ["control"]),
        ({"filename": "plan\n.pdf"}, ["control"]),
        ({"filename": "plan\x1b[31m.pdf"}, ["control"]),
        ({"filename": "invoice\u202efdp.exe"}, ["control or formatting"]),
        ({"filename": "plan.pdf "}, ["spaces"]),
        ({"filename": "a" * 252 + ".pdf"}, ["at most 255"]),
        ({"filename": "setup.exe"}, ["ends in one of"]),
        ({"filename": "plan.pdf", "content": b"MZ\x90\x00" + bytes(60)}, ["named as a PDF"]),
        ({"filename": "notes.txt", "content": b"\xff\xfe"}, ["not UTF-8"]),
        ({"filename": "notes.csv", "content": b"a,b\x00"}, ["NUL"]),
    ],
    ids=[
        "empty",
        "no part",
        "two files",
        "dot-dot",
        "slash",
        "backslash",
        "nul",
        "newline",
        "escape",
        "right-to-left override",
        "trailing space",
        "too long",
        "not allowed",
        "an executable named .pdf",
        "not utf-8",
        "nul in text",
    ],
)
def test_a_bad_file_is_422_naming_it(make_idea, upload, app, kwargs, words):
    idea = make_idea()
    _refused(upload(idea["id"], **kwargs), "file", "files", *words)
    with app.app_context():
        assert db.session.scalars(select(Attachment)).all() == []


def test_a_file_part_without_a_filename_is_422(make_idea, client, auth):
    idea = make_idea()
    response = client.post(
        attachments_path(idea["id"]),
        data={"file": "just text"},
        content_type="multipart/form-data",
        headers=auth(PAT),
    )
    _refused(response, "file", "files", "file part, with its filename")


def test_a_part_of_another_name_is_422_naming_it(make_idea, upload):
    idea = make_idea()
    _refused(upload(idea["id"], files=[("document", *PDF[:2])]), "document", "files", "Unknown")
    _refused(upload(idea["id"], form={"note": "hello"}), "note", "form", "Unknown")


def test_a_body_that_is_not_multipart_is_415(make_idea, client, auth):
    idea = make_idea()
    response = client.post(
        attachments_path(idea["id"]), data=PDF[1], content_type="application/pdf", headers=auth(PAT)
    )
    body = error_body(response, 415)
    assert "multipart/form-data" in body["message"]


def test_a_malformed_multipart_body_is_422(make_idea, client, auth):
    idea = make_idea()
    response = client.post(
        attachments_path(idea["id"]),
        data=b"--nope\r\nnot a part",
        content_type="multipart/form-data",  # no boundary
        headers=auth(PAT),
    )
    _refused(response, "file", "files", "well-formed")


# -- the size limit ------------------------------------------------------------------------


@pytest.fixture
def small_client(make_app):
    """A client of an app whose attachments are at most 1000 bytes."""
    return make_app(MAX_ATTACHMENT_BYTES=1000).test_client()


def _post(client, auth, idea_id: str, content: bytes, filename: str = "notes.txt"):
    return client.post(
        attachments_path(idea_id),
        data={"file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
        headers=auth(PAT),
    )


def test_the_limit_is_the_configured_one(make_idea, small_client, auth):
    idea = make_idea()
    assert _post(small_client, auth, idea["id"], b"x" * 1000).status_code == 201
    body = error_body(_post(small_client, auth, idea["id"], b"x" * 1001), 413)
    assert "at most 1000 bytes" in body["message"]
    assert body["errors"] == {"files": {"file": ["At most 1000 bytes."]}}


def test_a_body_far_over_the_limit_is_413_before_it_is_read(make_idea, small_client, auth):
    idea = make_idea()
    body = error_body(_post(small_client, auth, idea["id"], b"x" * 200_000), 413)
    assert "at most 1000 bytes" in body["message"]


def test_the_json_limit_leaves_room_for_an_attachment(make_idea, attach, fetch, app):
    # The app's body limit is for JSON; an upload has its own, from MAX_ATTACHMENT_BYTES.
    json_limit = app.config["MAX_CONTENT_LENGTH"]
    assert app.config["REGISTRY"]["MAX_ATTACHMENT_BYTES"] == 10 * 1024 * 1024 > json_limit
    idea = make_idea()
    content = b"%PDF-" + b"x" * (2 * json_limit)
    attached = attach(idea["id"], content=content)
    assert fetch(idea["id"], f"/{attached['id']}").get_data() == content


def test_a_json_body_keeps_its_own_limit(make_idea, client, auth, app):
    idea = make_idea()
    oversize = json.dumps({"reason": "x" * app.config["MAX_CONTENT_LENGTH"]})
    response = client.post(
        f"/api/v1/ideas/{idea['id']}/withdraw",
        data=oversize,
        content_type="application/json",
        headers=auth(PAT),
    )
    error_body(response, 413)


def test_an_upload_is_read_in_memory_never_into_a_temporary_file(
    make_idea, attach, fetch, monkeypatch
):
    # werkzeug spools file parts over 500 kB to a temporary file: for a sealed version,
    # the plaintext would reach the disk. Here any temporary file fails the upload.
    import tempfile

    import werkzeug.formparser

    def refused(*_args, **_kwargs):
        raise AssertionError("a temporary file was opened for the upload")

    monkeypatch.setattr(werkzeug.formparser, "SpooledTemporaryFile", refused)
    monkeypatch.setattr(tempfile, "TemporaryFile", refused)
    idea = make_idea(sensitivity="confidential")
    content = b"%PDF-" + b"x" * 2_000_000
    attached = attach(idea["id"], content=content)
    assert fetch(idea["id"], f"/{attached['id']}").get_data() == content
