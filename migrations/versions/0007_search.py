"""Search: the full-text index (FTS5 on SQLite, tsvector on PostgreSQL), its vocabulary
and the reindex checkpoint.

Revision ID: 0007_search
Revises: 0006_attachments
Create Date: 2026-11-23 09:00:00.000000

The index starts empty: existing ideas are indexed by `registry search reindex` (their
sealed fields need the KEKs and the search key, which never enter a migration).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0007_search"
down_revision = "0006_attachments"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "search_words",
        sa.Column("word", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_search_words")),
    )
    op.create_table(
        "search_checkpoints",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("idea_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_search_checkpoints")),
    )
    if op.get_bind().dialect.name == "sqlite":
        # rowid = idea_versions.id * 2 + scope (0 abstract, 1 full): registry/search/sqlite.py
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5("
            "title, summary, tags, body, tokenize = 'porter unicode61')"
        )
        return
    op.create_table(
        "search_entries",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.SmallInteger(), nullable=False),
        sa.Column("document", postgresql.TSVECTOR(), nullable=False),
        sa.CheckConstraint("scope IN (0, 1)", name=op.f("ck_search_entries_scope")),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["idea_versions.id"],
            name=op.f("fk_search_entries_version_id_idea_versions"),
        ),
        sa.PrimaryKeyConstraint("version_id", "scope", name=op.f("pk_search_entries")),
    )
    op.create_index(
        "ix_search_entries_document", "search_entries", ["document"], postgresql_using="gin"
    )


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE search_fts")
    else:
        op.drop_index("ix_search_entries_document", table_name="search_entries")
        op.drop_table("search_entries")
    op.drop_table("search_checkpoints")
    op.drop_table("search_words")
