"""Break-glass: the reason an administrator stated for reading content.

Revision ID: 0005_break_glass
Revises: 0004_sealing
Create Date: 2026-11-22 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0005_break_glass"
down_revision = "0004_sealing"
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN on both backends: the append-only triggers stay as they are.
    op.add_column("access_log_entries", sa.Column("reason", sa.String(length=500), nullable=True))


def downgrade():
    # Not a batch: rebuilding the table on SQLite would drop its append-only triggers.
    op.drop_column("access_log_entries", "reason")
