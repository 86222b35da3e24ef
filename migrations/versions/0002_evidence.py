"""Evidence: signing keys, statements, timestamps, openings, the transparency log.

Revision ID: 0002_evidence
Revises: 0001_foundation
Create Date: 2026-11-22 19:36:53.381114

"""

import hashlib

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0002_evidence"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "log_checkpoints",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_log_checkpoints")),
    )
    op.create_table(
        "log_hashes",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_log_hashes")),
    )
    op.create_table(
        "log_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_head")),
    )
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_signing_keys")),
    )
    op.create_table(
        "statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("idea_id", sa.Uuid(), nullable=True),
        sa.Column("version_number", sa.Integer(), nullable=True),
        sa.Column("canonical", sa.LargeBinary(), nullable=False),
        sa.Column("statement_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name=op.f("fk_statements_idea_id_ideas")
        ),
        sa.ForeignKeyConstraint(
            ["kid"], ["signing_keys.kid"], name=op.f("fk_statements_kid_signing_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statements")),
        sa.UniqueConstraint("log_index", name=op.f("uq_statements_log_index")),
        sa.UniqueConstraint("statement_hash", name=op.f("uq_statements_statement_hash")),
    )
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_statements_idea_id"), ["idea_id"], unique=False)

    op.create_table(
        "openings",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("salt", sa.LargeBinary(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"], ["idea_versions.id"], name=op.f("fk_openings_version_id_idea_versions")
        ),
        sa.PrimaryKeyConstraint("version_id", "field", name=op.f("pk_openings")),
    )
    op.create_table(
        "statement_timestamps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("tsa", sa.String(length=500), nullable=False),
        sa.Column("token", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statements.id"],
            name=op.f("fk_statement_timestamps_statement_id_statements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_timestamps")),
    )
    with op.batch_alter_table("statement_timestamps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_statement_timestamps_statement_id"), ["statement_id"], unique=False
        )

    log_head = sa.table(
        "log_head",
        sa.column("id", sa.Integer()),
        sa.column("size", sa.BigInteger()),
        sa.column("root_hash", sa.LargeBinary()),
    )
    # The empty tree's root (RFC 9162): SHA-256 of nothing.
    op.execute(log_head.insert().values(id=1, size=0, root_hash=hashlib.sha256(b"").digest()))
    _append_only()


# Evidence is only ever added. (signing_keys and log_head change by design: a key's
# window closes on rotation; the head moves forward with the log.)
APPEND_ONLY = ("statements", "statement_timestamps", "openings", "log_hashes", "log_checkpoints")


def _append_only():
    if op.get_bind().dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} rows are immutable'); END"
                )
        return
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"
        )


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER {table}_no_{action}")
    else:
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_immutable ON {table}")
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
    with op.batch_alter_table("statement_timestamps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statement_timestamps_statement_id"))

    op.drop_table("statement_timestamps")
    op.drop_table("openings")
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statements_idea_id"))

    op.drop_table("statements")
    op.drop_table("signing_keys")
    op.drop_table("log_head")
    op.drop_table("log_hashes")
    op.drop_table("log_checkpoints")
