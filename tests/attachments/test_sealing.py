"""Sealed attachments: bound to their place, gone when the idea is shredded, never in
clear on disk; and rows that cannot change."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from registry.alliance.services import person_by_email
from registry.attachments.models import COLUMNS, Attachment
from registry.auth.tokens import person_token
from registry.db import db
from registry.evidence.audit import audit
from registry.evidence.receipts import verify_receipt
from registry.ip.models import IdeaVersion
from registry.sealing.crypto import SealError
from registry.sealing.service import ShreddedError
from tests.attachments.conftest import PAT, PDF, attachments_path, multipart
from tests.markers import postgresql_rows_holding


@pytest.fixture
def evidence(app):
    return app.extensions["registry.evidence"]


def _row(attachment_id: str) -> Attachment:
    return db.session.scalar(select(Attachment).where(Attachment.id == uuid.UUID(attachment_id)))


def _version(idea_id: str) -> IdeaVersion:
    return db.session.scalar(select(IdeaVersion).where(IdeaVersion.idea_id == uuid.UUID(idea_id)))


def _unlock() -> None:
    """Drop the guard, inside the test's transaction (rolled back with it)."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("DROP TRIGGER attachments_no_update"))
    else:
        db.session.execute(text("ALTER TABLE attachments DISABLE TRIGGER attachments_immutable"))


# The name each column's value is sealed under (and opened as).
NAMES = {column: name for name, column in COLUMNS.items()}


@pytest.mark.usefixtures("app_context")
@pytest.mark.parametrize(
    ("from_other", "source", "target"),
    [
        (True, "content", "content"),
        (True, "filename_opening", "filename_opening"),
        (False, "content", "filename"),
    ],
    ids=["another attachment's content", "another's opening", "its content as its filename"],
)
def test_a_ciphertext_moved_elsewhere_does_not_open(
    make_idea, attach, evidence, from_other, source, target
):
    idea = make_idea(sensitivity="commercial")
    row = _row(attach(idea["id"], content=PDF[1] + b"first")["id"])
    other = _row(attach(idea["id"], content=PDF[1] + b"second")["id"])
    version = _version(idea["id"])
    assert row.reveal(db.session, evidence.sealing, version, [NAMES[target]])  # it opens
    moved = getattr(other if from_other else row, source)
    _unlock()
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    db.session.execute(
        text(f"UPDATE attachments SET {target} = :moved WHERE id = :id"),  # noqa: S608 - our own
        {"moved": moved, "id": row.id.hex if sqlite else row.id},
    )
    db.session.expire_all()
    with pytest.raises(SealError, match="wrong key, wrong place or tampered"):
        _row(str(row.id)).reveal(db.session, evidence.sealing, version, [NAMES[target]])


@pytest.mark.usefixtures("app_context")
def test_the_same_file_twice_is_sealed_differently(make_idea, attach):
    idea = make_idea(sensitivity="commercial")
    first, second = (attach(idea["id"])["id"] for _ in range(2))
    assert _row(first).content != _row(second).content


def _shred(client, auth, idea_id: str) -> None:
    for action, body in (("withdraw", {"reason": "Erase it"}), ("shred", {})):
        response = client.post(f"/api/v1/ideas/{idea_id}/{action}", json=body, headers=auth(PAT))
        assert response.status_code == 200, response.json


@pytest.mark.usefixtures("app_context")
def test_shredding_an_idea_makes_its_attachments_unreadable(
    make_idea, attach, fetch, client, auth, evidence, keyset
):
    idea = make_idea(sensitivity="commercial")
    attached = attach(idea["id"], filename="to be erased.pdf")
    clear = make_idea(sensitivity="alliance")
    kept = attach(clear["id"])
    assert audit(db.session, evidence).ok
    _shred(client, auth, idea["id"])

    download = fetch(idea["id"], f"/{attached['id']}")
    assert download.status_code == 410
    assert "shredded" in download.json["message"]
    listed = fetch(idea["id"]).json
    assert listed == [
        {
            **{k: v for k, v in attached.items() if k not in {"receipt", "filename"}},
            "shredded": True,
        }
    ]
    row = _row(attached["id"])
    assert row.content  # the ciphertext stays, with no key to open it
    with pytest.raises(ShreddedError):
        row.reveal(db.session, evidence.sealing, _version(idea["id"]), ["content"])

    receipt = fetch(idea["id"], f"/{attached['id']}/receipt").json
    assert "openings" not in receipt
    assert verify_receipt(receipt, keyset).ok
    # Whoever kept the file and the openings from the upload's receipt still proves it.
    report = verify_receipt(attached["receipt"], keyset, content={"content": PDF[1]})
    assert report.ok, report.to_dict()
    report = audit(db.session, evidence)
    assert report.ok, [str(p) for p in report.problems]
    assert (report.attachments, report.shredded_attachments) == (2, 1)
    assert "1 versions and 1 attachments shredded" in report.summary()
    # Another idea's attachments, stored in clear, are untouched.
    assert fetch(clear["id"], f"/{kept['id']}").get_data() == PDF[1]


@pytest.mark.usefixtures("app_context")
def test_rows_cannot_be_changed_or_deleted(make_idea, attach):
    idea = make_idea(sensitivity="alliance")
    row = _row(attach(idea["id"])["id"])
    row.media_type = "text/html"
    with pytest.raises(RuntimeError, match="Attachment is immutable"):
        db.session.flush()
    db.session.rollback()
    db.session.delete(_row(str(row.id)))
    with pytest.raises(RuntimeError, match="can never be deleted"):
        db.session.flush()
    db.session.rollback()
    for statement in (
        "UPDATE attachments SET size = size + 1",
        "UPDATE attachments SET content = filename",
        "DELETE FROM attachments",
    ):
        # The savepoint is rolled back before the error is caught: PostgreSQL aborts it.
        with pytest.raises(DatabaseError, match="immutable"), db.session.begin_nested():
            db.session.execute(text(statement))


# -- nothing in clear on disk ----------------------------------------------------------------


def _headers(app) -> dict[str, str]:
    with app.app_context():
        person = person_by_email(PAT)
        token = person_token(app.extensions["registry.token_generator"], person)["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_no_plaintext_of_a_sealed_attachment_reaches_the_disk(make_isolated_app):
    app = make_isolated_app()
    client, headers = app.test_client(), _headers(app)
    marker, clear = uuid.uuid4().hex, uuid.uuid4().hex
    idea = client.post(
        "/api/v1/ideas",
        json={
            "origin": "provider",
            "title": f"Title {clear}",
            "summary": "An idea with a marked attachment.",
            "body": "The body.",
            "sensitivity": "commercial",
        },
        headers=headers,
    )
    assert idea.status_code == 201, idea.json
    # Megabytes, as attachments are (and more than werkzeug would keep in memory).
    content = b"%PDF-1.7\n" + f"The attachment holds {marker} only here.\n".encode() * 20_000
    body, content_type = multipart([("file", f"plan {marker}.pdf", content)])
    response = client.post(
        attachments_path(idea.json["id"]), data=body, content_type=content_type, headers=headers
    )
    assert response.status_code == 201, response.json
    download = client.get(response.headers["Location"], headers=headers)
    assert download.get_data() == content
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
def test_no_plaintext_of_a_sealed_attachment_is_in_any_postgresql_table(make_idea, attach):
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite: the database file itself is searched above")
    marker, clear = uuid.uuid4().hex, uuid.uuid4().hex
    idea = make_idea(title=f"Title {clear}", sensitivity="commercial")
    attach(idea["id"], filename=f"plan {marker}.pdf", content=PDF[1] + marker.encode())

    assert postgresql_rows_holding(db.session, clear) >= 1
    assert postgresql_rows_holding(db.session, marker) == 0
