"""Search: one narrow row per idea (its latest version) for the search filter to read.

Revision ID: 0009_search_ideas
Revises: 0008_search_outbox
Create Date: 2026-11-23 02:00:00.000000

Copies of what a search filters on, decides access by and counts (registry/search/
models.py, IndexedIdea), kept by the indexer from now on and filled here from the
register: nothing of it needs a key.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009_search_ideas"
down_revision = "0008_search_outbox"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "search_ideas",
        sa.Column("version_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idea_id", sa.Uuid(), nullable=False),
        sa.Column(
            "origin",
            sa.Enum(
                "provider",
                "forum",
                name="idea_origin",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=True),
        sa.Column(
            "sensitivity",
            sa.Enum(
                "public",
                "alliance",
                "commercial",
                "confidential",
                name="idea_sensitivity",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "active",
                "withdrawn",
                name="idea_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_search_ideas_group_id_groups")
        ),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name=op.f("fk_search_ideas_idea_id_ideas")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["organisations.id"],
            name=op.f("fk_search_ideas_owner_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["idea_versions.id"],
            name=op.f("fk_search_ideas_version_id_idea_versions"),
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_search_ideas")),
        sa.UniqueConstraint("idea_id", name=op.f("uq_search_ideas_idea_id")),
    )
    op.execute(
        "INSERT INTO search_ideas (version_id, idea_id, origin, owner_id, group_id, "
        "sensitivity, state, registered_at) "
        "SELECT v.id, i.id, i.origin, i.owner_id, i.group_id, v.sensitivity, i.state, "
        "i.created_at FROM ideas AS i "
        "JOIN idea_versions AS v ON v.idea_id = i.id AND v.number = i.latest_version"
    )


def downgrade():
    op.drop_table("search_ideas")
