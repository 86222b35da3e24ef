"""Sealing: data keys, sealed fields, shreddings.

Revision ID: 0004_sealing
Revises: 0003_grants_access_log
Create Date: 2026-11-24 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0004_sealing"
down_revision = "0003_grants_access_log"
branch_labels = None
depends_on = None

# data_keys are updated (rewrapped by rotate-kek) and deleted (shredding): no trigger.
APPEND_ONLY = ("sealed_fields", "shreddings")


def upgrade():
    op.create_table(
        "data_keys",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("kek_id", sa.String(length=64), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"], ["idea_versions.id"], name=op.f("fk_data_keys_version_id_idea_versions")
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_data_keys")),
    )
    with op.batch_alter_table("data_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_keys_kek_id"), ["kek_id"], unique=False)
    op.create_table(
        "sealed_fields",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("nonce", sa.LargeBinary(length=12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["idea_versions.id"],
            name=op.f("fk_sealed_fields_version_id_idea_versions"),
        ),
        sa.PrimaryKeyConstraint("version_id", "field", name=op.f("pk_sealed_fields")),
    )
    op.create_table(
        "shreddings",
        sa.Column("idea_id", sa.Uuid(), nullable=False),
        sa.Column("shredded_by_id", sa.Uuid(), nullable=False),
        sa.Column("shredded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name=op.f("fk_shreddings_idea_id_ideas")
        ),
        sa.ForeignKeyConstraint(
            ["shredded_by_id"], ["people.id"], name=op.f("fk_shreddings_shredded_by_id_people")
        ),
        sa.PrimaryKeyConstraint("idea_id", name=op.f("pk_shreddings")),
    )
    _append_only()


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
    op.drop_table("shreddings")
    op.drop_table("sealed_fields")
    with op.batch_alter_table("data_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_keys_kek_id"))
    op.drop_table("data_keys")
