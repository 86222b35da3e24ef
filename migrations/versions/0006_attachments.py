"""Attachments to idea versions.

Revision ID: 0006_attachments
Revises: 0005_break_glass
Create Date: 2026-11-22 22:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006_attachments"
down_revision = "0005_break_glass"
branch_labels = None
depends_on = None

# An attachment is written once, with its statement, and never changed or removed.
TABLE = "attachments"


def upgrade():
    op.create_table(
        TABLE,
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(length=128), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.LargeBinary(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("content_opening", sa.LargeBinary(length=60), nullable=False),
        sa.Column("filename_opening", sa.LargeBinary(length=60), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["people.id"], name=op.f("fk_attachments_created_by_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statements.id"],
            name=op.f("fk_attachments_statement_id_statements"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["idea_versions.id"],
            name=op.f("fk_attachments_version_id_idea_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("statement_id", name=op.f("uq_attachments_statement_id")),
        sa.UniqueConstraint("version_id", "position", name=op.f("uq_attachments_version_id")),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachments_version_id"), ["version_id"], unique=False)
    _immutable()


def _immutable():
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {TABLE}_no_{action.lower()} BEFORE {action} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, '{TABLE} rows are immutable'); END"
            )
        return
    # refuse_change() is migration 0001's.
    op.execute(
        f"CREATE TRIGGER {TABLE}_immutable BEFORE UPDATE OR DELETE ON {TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
    )
    op.execute(
        f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
        "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"
    )


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER {TABLE}_no_{action}")
    else:
        op.execute(f"DROP TRIGGER {TABLE}_immutable ON {TABLE}")
        op.execute(f"DROP TRIGGER {TABLE}_no_truncate ON {TABLE}")
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_version_id"))
    op.drop_table(TABLE)
