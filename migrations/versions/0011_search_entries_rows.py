"""Search on PostgreSQL: each index entry carries a copy of its idea's search row.

Revision ID: 0011_search_entries_rows
Revises: 0010_version_tags_by_version
Create Date: 2026-11-23 06:40:00.000000

A search then reads what it filters on, decides access by and sorts by in the entry it
matched, with no join to ``search_ideas`` (registry/search/postgres.py). At 100,000 ideas
that took the search statement from 48 to 27 ms at the median (bench/README.md). Filled
here from ``search_ideas``; SQLite is unchanged (its join is a lookup by primary key).

The copies have no foreign keys: ``search_ideas``, which they copy, has them, and
`registry search check` compares the two.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011_search_entries_rows"
down_revision = "0010_version_tags_by_version"
branch_labels = None
depends_on = None

COPIED = (
    ("idea_id", sa.Uuid(), False),
    ("origin", sa.String(32), False),
    ("owner_id", sa.Uuid(), False),
    ("group_id", sa.Uuid(), True),
    ("sensitivity", sa.String(32), False),
    ("state", sa.String(32), False),
    ("registered_at", sa.DateTime(timezone=True), False),
)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, type_, _nullable in COPIED:
        op.add_column("search_entries", sa.Column(name, type_, nullable=True))
    names = [name for name, _type, _nullable in COPIED]
    op.execute(
        "UPDATE search_entries AS e SET "  # noqa: S608 (names from the list above)
        + ", ".join(f"{n} = r.{n}" for n in names)
        + " FROM search_ideas AS r WHERE r.version_id = e.version_id"
    )
    # Entries of a version without a search row are stale (only a latest version has
    # one, and it has its entries): a reindex would remove them too.
    op.execute("DELETE FROM search_entries WHERE idea_id IS NULL")
    for name, _type, nullable in COPIED:
        if not nullable:
            op.alter_column("search_entries", name, nullable=False)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _type, _nullable in reversed(COPIED):
        op.drop_column("search_entries", name)
