"""`registry audit` on a fresh instance made by `registry init`: a clean log passes, and
every kind of tampering by someone who can drop the evidence tables' triggers is found.

The database is SQLite of its own, or a temporary PostgreSQL database when the suite
runs on PostgreSQL (``REGISTRY_TEST_DATABASE_URL``).
"""

from __future__ import annotations

import hashlib
import secrets
from types import SimpleNamespace

import pytest
from click.testing import Result
from sqlalchemy import select, text

from registry.alliance.services import group_by_slug, person_by_email
from registry.auth.principal import Principal
from registry.db import db, writing
from registry.evidence import audit as audit_module
from registry.evidence import statements as st
from registry.evidence.audit import AuditReport, audit, audit_command
from registry.evidence.jcs import canonicalize
from registry.evidence.models import Statement
from registry.ip.models import IdeaVersion, Origin, Sensitivity
from registry.ip.services import IdeaRegister
from tests.conftest import Instance


@pytest.fixture(autouse=True)
def transaction() -> None:
    """Overrides the suite's per-test transaction: these tests need a database of their own,
    with real commits, as the commands see it."""
    return None


def statement(instance: Instance, log_index: int) -> Statement:
    with instance.app.app_context():
        row = db.session.scalar(select(Statement).where(Statement.log_index == log_index))
        db.session.expunge_all()
        return row


def submission(**fields) -> dict:
    return {
        "origin": Origin.PROVIDER,
        "owner": None,
        "group": None,
        "sensitivity": Sensitivity.COMMERCIAL,
        "title": "Frailty link workers",
        "summary": "Link workers for frail patients.",
        "body": "Each practice refers frail patients to a link worker.",
        "tags": ["frailty", "link workers"],
        "derived_from": [],
        **fields,
    }


@pytest.fixture
def instance(make_instance) -> Instance:
    """The demo ideas, then a second version, a derived idea, a forum idea and a withdrawal:
    every kind of statement, with ``previous`` and ``derived_from`` filled in."""
    made = make_instance("init", "demo")
    with made.app.app_context(), writing():
        register = IdeaRegister(db.session, made.app.extensions["registry.evidence"])
        pat = Principal.of(person_by_email("pat@northside.example"))
        fran = Principal.of(person_by_email("fran@northside.example"))
        first = register.submit(pat, submission()).version.idea_id
        register.add_version(pat, first, submission(body="Now with a pilot in two practices."))
        derived = register.submit(pat, submission(title="Frailty hub", derived_from=[first]))
        group = group_by_slug("general-practice").id
        register.submit(
            fran, submission(origin=Origin.FORUM, group=group, sensitivity=Sensitivity.ALLIANCE)
        )
        register.withdraw(pat, derived.version.idea_id, "Merged into the frailty link workers.")
    return made


def problems(result: Result) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("PROBLEM ")]


def assert_found(result: Result, table: str, check: str, *words: str) -> None:
    """The audit failed and listed a problem in ``table`` by ``check`` saying ``words``."""
    assert result.exit_code == 1, result.output
    assert "audit FAILED" in result.stdout
    found = [
        line
        for line in problems(result)
        if line.startswith(f"PROBLEM {table} [")
        and f"] {check}: " in line
        and all(word in line for word in words)
    ]
    assert found, f"no {table}/{check} problem mentioning {words} in:\n{result.stdout}"


# --- A clean log -----------------------------------------------------------------


def test_a_clean_log_passes(instance):
    result = instance.run(audit_command)
    assert result.exit_code == 0, result.output
    assert problems(result) == []
    assert result.stdout.startswith("audit passed: 8 statements (7 idea versions, 1 withdrawals)")
    assert "8 signatures and 8 registry time-stamp tokens verified" in result.stdout
    assert "8 checkpoints" in result.stdout


def test_the_report_counts_what_it_checked(instance):
    batches: list[int] = []
    with instance.app.app_context():
        report = audit(db.session, instance.app.extensions["registry.evidence"], batches.append)
        size = db.session.scalar(text("SELECT size FROM log_head"))
        root = db.session.scalar(text("SELECT root_hash FROM log_checkpoints WHERE tree_size = 8"))
    assert isinstance(report, AuditReport)
    assert report.ok
    assert report.problems == ()
    assert sum(batches) == report.statements == report.tree_size == size == 8
    assert report.root_hash == root
    assert report.log_hashes == 15  # stored_hash_count(8): 8 leaves and 7 interior nodes
    assert report.checkpoints == 8


def test_batches_are_checked_as_one_log(instance, monkeypatch):
    # Statements name earlier ones across batch boundaries (previous, derived_from), and
    # every stream is read while other queries run on the same connection.
    monkeypatch.setattr(audit_module, "BATCH", 3)
    monkeypatch.setattr(audit_module, "HASH_BATCH", 4)
    batches: list[int] = []
    with instance.app.app_context():
        report = audit(db.session, instance.app.extensions["registry.evidence"], batches.append)
    assert report.ok, "\n".join(map(str, report.problems))
    assert batches == [3, 3, 2]
    assert (report.log_hashes, report.checkpoints) == (15, 8)


def test_progress_goes_to_stderr_only_when_asked(instance):
    quiet = instance.run(audit_command)
    assert quiet.exit_code == 0
    assert "checking statements" not in quiet.output
    shown = instance.run(audit_command, "--progress")
    assert shown.exit_code == 0, shown.output
    assert "checking statements" in shown.stderr
    assert "checking statements" not in shown.stdout


def test_an_empty_log_passes(make_instance):
    result = make_instance("init").run(audit_command)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("audit passed: 0 statements")


# --- Tampering -----------------------------------------------------------------------


def test_an_edited_version_body_is_found(instance):
    instance.drop_guards("idea_versions")
    instance.sql("UPDATE idea_versions SET body = 'Something else entirely' WHERE id = 1")
    result = instance.run(audit_command)
    assert_found(result, "statements", "rebuild", "log index 0", "commitments.body")
    assert len(problems(result)) == 1


def test_an_edited_tag_is_found(instance):
    instance.drop_guards("version_tags")
    instance.sql("UPDATE version_tags SET tag = 'dementia' WHERE version_id = 4 AND position = 0")
    result = instance.run(audit_command)
    assert_found(result, "statements", "rebuild", "log index 3", "commitments.tags")


def test_edited_canonical_bytes_are_found(instance):
    original = statement(instance, 6).canonical
    forged = original.replace(b'"sensitivity":"alliance"', b'"sensitivity":"confidential"')
    assert forged != original
    instance.drop_guards("statements")
    instance.sql("UPDATE statements SET canonical = :forged WHERE log_index = 6", forged=forged)
    result = instance.run(audit_command)
    assert_found(result, "statements", "statement hash", "log index 6")
    assert_found(result, "statements", "signature", "log index 6", "does not verify")
    assert_found(result, "statements", "rebuild", "log index 6", "differ: sensitivity")
    assert_found(result, "statement_timestamps", "timestamp", "log index 6", "imprint")
    assert_found(result, "log_hashes", "merkle", "leaf of log index 6")


def test_an_edited_statement_hash_is_found(instance):
    instance.drop_guards("statements")
    instance.sql("UPDATE statements SET statement_hash = :h WHERE log_index = 4", h=bytes(32))
    result = instance.run(audit_command)
    assert_found(result, "statements", "statement hash", "log index 4")


def test_a_deleted_statement_is_found(instance):
    doomed = statement(instance, 4)
    instance.drop_guards("statement_timestamps", "statements")
    instance.sql(
        "DELETE FROM statement_timestamps WHERE statement_id = :id",
        "DELETE FROM statements WHERE id = :id",
        id=doomed.id,
    )
    result = instance.run(audit_command)
    assert_found(result, "statements", "log order", "no statement has log index 4")
    assert_found(result, "idea_versions", "coverage", f"idea {doomed.idea_id} version 2")
    assert_found(result, "log_hashes", "merkle", "leaf of log index 4")
    assert_found(result, "log_head", "log size", "size is 8, but there are 7 statements")
    # The derived idea's statement names the deleted one: that link breaks too.
    assert_found(result, "statements", "rebuild", "log index 5", "derived_from")


def test_swapped_log_indexes_are_found(instance):
    a, b = statement(instance, 1), statement(instance, 2)
    assert a.idea_id != b.idea_id
    instance.drop_guards("statements")
    instance.sql(
        "UPDATE statements SET log_index = -1 WHERE id = :a",
        "UPDATE statements SET log_index = 1 WHERE id = :b",
        "UPDATE statements SET log_index = 2 WHERE id = :a",
        a=a.id,
        b=b.id,
    )
    result = instance.run(audit_command)
    assert_found(result, "log_hashes", "merkle", "leaf of log index 1")
    assert_found(result, "log_hashes", "merkle", "leaf of log index 2")
    assert_found(result, "log_checkpoints", "checkpoint root", "tree_size 8")


def test_an_inserted_statement_is_found(instance):
    victim = statement(instance, 0)
    with instance.app.app_context():
        forged = canonicalize(
            st.withdrawal_statement(
                instance.app.extensions["registry.evidence"].origin,
                SimpleNamespace(
                    id=victim.idea_id,
                    withdrawn_by_id=person_by_email("quinn@riverside.example").id,
                    withdrawn_at=victim.created_at,
                    withdrawal_reason="forged",
                ),
                victim.statement_hash.hex(),
            )
        )
        db.session.add(
            Statement(
                log_index=8,
                kind=st.IDEA_WITHDRAWAL,
                idea_id=victim.idea_id,
                version_number=None,
                canonical=forged,
                statement_hash=hashlib.sha256(forged).digest(),
                kid=victim.kid,
                signature=secrets.token_bytes(64),
            )
        )
        db.session.commit()
    result = instance.run(audit_command)
    assert_found(result, "statements", "signature", "log index 8", "does not verify")
    assert_found(result, "statements", "timestamp", "log index 8", "no time-stamp token")
    assert_found(result, "statements", "rebuild", "log index 8", "is not withdrawn")
    assert_found(result, "log_hashes", "merkle", "stored hashes are missing")
    assert_found(result, "log_head", "log size", "size is 8, but there are 9 statements")


def test_a_statement_added_for_an_existing_version_is_found(instance):
    copy = statement(instance, 5)
    instance.sql(
        "INSERT INTO statements (log_index, kind, idea_id, version_number, canonical, "
        "statement_hash, kid, signature, created_at) SELECT 8, kind, idea_id, version_number, "
        "canonical, :other_hash, kid, signature, created_at FROM statements WHERE id = :id",
        id=copy.id,
        other_hash=hashlib.sha256(b"another").digest(),
    )
    result = instance.run(audit_command)
    assert_found(result, "statements", "coverage", f"idea {copy.idea_id} version 1", "2 statements")


def test_an_edited_log_hash_is_found(instance):
    instance.drop_guards("log_hashes")
    instance.sql("UPDATE log_hashes SET hash = :h WHERE idx = 2", h=bytes(32))
    result = instance.run(audit_command)
    # Storage index 2 is the node over entries 0 and 1.
    assert_found(result, "log_hashes", "merkle", "idx 2: level 1 node over log indexes 0 to 1")
    assert len(problems(result)) == 1


def test_an_edited_checkpoint_is_found(instance):
    with instance.app.app_context():
        note = db.session.scalar(text("SELECT note FROM log_checkpoints WHERE tree_size = 5"))
    size_line = "\n5\n"
    assert size_line in note
    instance.drop_guards("log_checkpoints")
    instance.sql(
        "UPDATE log_checkpoints SET note = :note WHERE tree_size = 5",
        note=note.replace(size_line, "\n6\n", 1),
    )
    result = instance.run(audit_command)
    assert_found(
        result, "log_checkpoints", "checkpoint signature", "tree_size 5", "does not verify"
    )


def test_an_edited_checkpoint_root_is_found(instance):
    instance.drop_guards("log_checkpoints")
    instance.sql("UPDATE log_checkpoints SET root_hash = :h WHERE tree_size = 3", h=bytes(32))
    result = instance.run(audit_command)
    assert_found(result, "log_checkpoints", "checkpoint root", "tree_size 3")
    assert_found(result, "log_checkpoints", "checkpoint", "tree_size 3", "another root hash")
    assert_found(result, "log_checkpoints", "consistency", "tree_size 3")


def test_a_deleted_checkpoint_is_found(instance):
    instance.drop_guards("log_checkpoints")
    instance.sql("DELETE FROM log_checkpoints WHERE tree_size = 8")
    result = instance.run(audit_command)
    assert_found(result, "log_checkpoints", "log size", "latest checkpoint is for 7 statements")


def test_a_statement_signed_outside_its_key_window_is_found(instance):
    # As if the key had been retired before the last statement was signed.
    instance.sql("UPDATE signing_keys SET valid_until = valid_from WHERE purpose = 'statement'")
    result = instance.run(audit_command)
    assert_found(result, "statements", "key window", "log index 7", "outside key")


def test_a_version_with_no_statement_is_found(instance):
    # A version slipped in by SQL, without the evidence layer.
    with instance.app.app_context():
        version = db.session.get(IdeaVersion, 1)
        idea_id, person = version.idea_id, version.submitted_by_id
    instance.sql(
        "INSERT INTO idea_versions (idea_id, number, title, summary, body, sensitivity, "
        "submitted_by_id, submitted_at) VALUES (:idea, 9, 't', 's', 'b', 'public', :person, "
        "'2026-01-01 00:00:00')",
        idea=idea_id if instance.database_url.startswith("postgresql") else idea_id.hex,
        person=person if instance.database_url.startswith("postgresql") else person.hex,
    )
    result = instance.run(audit_command)
    assert_found(result, "idea_versions", "coverage", f"idea {idea_id} version 9")
