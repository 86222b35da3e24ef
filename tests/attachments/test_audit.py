"""`registry audit` rebuilds every attachment statement from its row and finds an attachment
changed, removed or made up by someone who dropped the triggers.

On an instance of its own: SQLite, or a temporary PostgreSQL database when the suite runs
on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from click.testing import Result

from registry.alliance.services import person_by_email
from registry.auth.tokens import person_token
from registry.evidence.audit import audit_command
from registry.sealing.crypto import NONCE_BYTES
from tests.attachments.conftest import PAT, PDF, attachments_path, multipart
from tests.conftest import Instance
from tests.evidence.test_audit import assert_found


@pytest.fixture(autouse=True)
def transaction() -> None:
    """Overrides the suite's per-test transaction: the instance needs real commits."""
    return None


@dataclass(frozen=True)
class Attached:
    """An instance where pat attached a file to a public idea and one to a commercial one."""

    instance: Instance
    clear: str  # the public idea's attachment
    sealed: str  # the commercial idea's

    def audit(self) -> Result:
        return self.instance.run(audit_command)

    def id(self, value: str) -> str:
        # Uuid columns: 32 hex digits on SQLite, the uuid type on PostgreSQL.
        return value.replace("-", "") if self.instance.database_url.startswith("sqlite") else value


@pytest.fixture
def attached(make_instance) -> Attached:
    instance = make_instance("init", "demo")
    app = instance.app
    client = app.test_client()
    with app.app_context():
        token = person_token(app.extensions["registry.token_generator"], person_by_email(PAT))
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    ids = []
    for sensitivity in ("public", "commercial"):
        idea = client.post(
            "/api/v1/ideas",
            json={
                "title": "t",
                "summary": "s",
                "body": "b",
                "origin": "provider",
                "sensitivity": sensitivity,
            },
            headers=headers,
        )
        assert idea.status_code == 201, idea.json
        body, content_type = multipart([("file", "plan.pdf", PDF[1])])
        response = client.post(
            attachments_path(idea.json["id"]),
            data=body,
            content_type=content_type,
            headers=headers,
        )
        assert response.status_code == 201, response.json
        ids.append(response.json["id"])
    return Attached(instance, *ids)


def test_attachment_statements_are_rebuilt_and_pass(attached: Attached):
    result = attached.audit()
    assert result.exit_code == 0, result.output
    # The demo's three ideas, and the two here.
    assert "audit passed: 7 statements (5 idea versions, 0 withdrawals, 2 attachments)" in (
        result.stdout
    )


@pytest.mark.parametrize(
    ("assignment", "member"),
    [
        ("size = size + 1", "members that differ: size"),
        ("media_type = 'text/html'", "members that differ: media_type"),
        ("created_at = '2020-01-01 00:00:00'", "members that differ: attached_at"),
    ],
)
def test_a_changed_attachment_row_is_found(attached: Attached, assignment, member):
    attached.instance.drop_guards("attachments")
    attached.instance.sql(
        f"UPDATE attachments SET {assignment} WHERE id = :id",  # noqa: S608 - the test's own SQL
        id=attached.id(attached.clear),
    )
    assert_found(attached.audit(), "statements", "rebuild", "attachment", member)


@pytest.mark.parametrize(
    ("column", "value", "member"),
    [
        ("content", PDF[1].replace(b"obj", b"OBJ"), "commitments.content"),  # the same size
        ("filename", b"other.pdf", "commitments.filename"),
    ],
)
def test_a_clear_file_or_name_changed_is_found(attached: Attached, column, value, member):
    attached.instance.drop_guards("attachments")
    attached.instance.sql(
        f"UPDATE attachments SET {column} = :value WHERE id = :id",  # noqa: S608 - our own SQL
        value=value,
        id=attached.id(attached.clear),
    )
    assert_found(attached.audit(), "statements", "rebuild", member)


def test_sealed_content_tampered_with_is_found(attached: Attached):
    attached.instance.drop_guards("attachments")
    attached.instance.sql(
        "UPDATE attachments SET content = :zeros WHERE id = :id",
        zeros=bytes(NONCE_BYTES + len(PDF[1]) + 16),  # as long as the sealed content
        id=attached.id(attached.sealed),
    )
    assert_found(attached.audit(), "statements", "rebuild", "does not open")


def test_an_attachment_row_removed_is_found(attached: Attached):
    attached.instance.drop_guards("attachments")
    attached.instance.sql("DELETE FROM attachments WHERE id = :id", id=attached.id(attached.clear))
    assert_found(attached.audit(), "statements", "rebuild", "no attachments row")


def test_an_attachment_row_without_its_statement_is_found(attached: Attached):
    # No trigger stops an INSERT: an attachment made up in the database names some
    # statement, here its version's, but not an attachment statement of its own.
    attached.instance.sql(
        "INSERT INTO attachments (id, version_id, position, media_type, size, created_at, "
        "created_by_id, statement_id, filename, content, content_opening, filename_opening) "
        "SELECT :new, a.version_id, 1, a.media_type, a.size, a.created_at, a.created_by_id, "
        "s.id, a.filename, a.content, a.content_opening, a.filename_opening "
        "FROM attachments a JOIN idea_versions v ON v.id = a.version_id "
        "JOIN statements s ON s.idea_id = v.idea_id AND s.kind = 'idea-version' "
        "WHERE a.id = :id",
        new=attached.id("5b1b3a52-4c1e-4a51-8f5e-1c2d3e4f5a6b"),
        id=attached.id(attached.clear),
    )
    assert_found(attached.audit(), "attachments", "coverage", "no attachment statement")
