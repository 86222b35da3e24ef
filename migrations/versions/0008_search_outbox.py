"""Search: the outbox that keeps the optional Whoosh index in step with the register.

Revision ID: 0008_search_outbox
Revises: 0007_search
Create Date: 2026-11-25 09:00:00.000000

Rows are written in the transaction that changes an idea and deleted once applied to
the index folder (registry/search/whoosh.py); never updated, which a trigger enforces
on both backends. Created on every database: the Whoosh backend works beside either.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008_search_outbox"
down_revision = "0007_search"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "search_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.SmallInteger(), nullable=True),
        sa.Column("document", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(scope IS NULL) = (document IS NULL)", name=op.f("ck_search_outbox_put_or_remove")
        ),
        sa.CheckConstraint("scope IN (0, 1)", name=op.f("ck_search_outbox_scope")),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["idea_versions.id"],
            name=op.f("fk_search_outbox_version_id_idea_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_outbox")),
        sqlite_autoincrement=True,
    )
    # Deleted once applied, never changed.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER search_outbox_no_update BEFORE UPDATE ON search_outbox "
            "BEGIN SELECT RAISE(ABORT, 'search_outbox rows are immutable'); END"
        )
    else:
        op.execute(
            "CREATE TRIGGER search_outbox_immutable BEFORE UPDATE ON search_outbox "
            "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
        )


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER search_outbox_no_update")
    else:
        op.execute("DROP TRIGGER search_outbox_immutable ON search_outbox")
    op.drop_table("search_outbox")
