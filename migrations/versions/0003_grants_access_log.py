"""Grants and the access log.

Revision ID: 0003_grants_access_log
Revises: 0002_evidence
Create Date: 2026-11-23 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0003_grants_access_log"
down_revision = "0002_evidence"
branch_labels = None
depends_on = None

# The access log's first entry chains to this: 32 zero bytes.
GENESIS = bytes(32)
# A grant row takes one change in its life: its revocation, all three columns at once.
REVOCATION = ("revoked_at", "revoked_by_id", "revocation_statement_id")
GRANT_COLUMNS = (
    "id",
    "idea_id",
    "organisation_id",
    "group_id",
    "person_id",
    "granted_by_id",
    "granted_at",
    "expires_at",
    "statement_id",
)


def upgrade():
    op.create_table(
        "grants",
        sa.Column("idea_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("group_id", sa.Uuid(), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("granted_by_id", sa.Uuid(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Uuid(), nullable=True),
        sa.Column("revocation_statement_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "(organisation_id IS NOT NULL AND group_id IS NULL AND person_id IS NULL)"
            " OR (organisation_id IS NULL AND group_id IS NOT NULL AND person_id IS NULL)"
            " OR (organisation_id IS NULL AND group_id IS NULL AND person_id IS NOT NULL)",
            name=op.f("ck_grants_one_grantee"),
        ),
        sa.ForeignKeyConstraint(
            ["granted_by_id"], ["people.id"], name=op.f("fk_grants_granted_by_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_grants_group_id_groups")
        ),
        sa.ForeignKeyConstraint(["idea_id"], ["ideas.id"], name=op.f("fk_grants_idea_id_ideas")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_grants_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_grants_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["revocation_statement_id"],
            ["statements.id"],
            name=op.f("fk_grants_revocation_statement_id_statements"),
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"], ["people.id"], name=op.f("fk_grants_revoked_by_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"], ["statements.id"], name=op.f("fk_grants_statement_id_statements")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
        sa.UniqueConstraint(
            "revocation_statement_id", name=op.f("uq_grants_revocation_statement_id")
        ),
        sa.UniqueConstraint("statement_id", name=op.f("uq_grants_statement_id")),
    )
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grants_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grants_idea_id"), ["idea_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_grants_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_grants_person_id"), ["person_id"], unique=False)

    op.create_table(
        "access_log_entries",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("idea_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("organisations", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("endpoint", sa.String(length=100), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "read",
                "refused",
                name="access_outcome",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name=op.f("fk_access_log_entries_idea_id_ideas")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_access_log_entries_person_id_people")
        ),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_access_log_entries")),
    )
    with op.batch_alter_table("access_log_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_log_entries_idea_id"), ["idea_id"], unique=False
        )
    op.create_table(
        "access_log_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log_head")),
    )
    head = sa.table(
        "access_log_head",
        sa.column("id", sa.Integer()),
        sa.column("size", sa.BigInteger()),
        sa.column("hash", sa.LargeBinary()),
    )
    op.execute(head.insert().values(id=1, size=0, hash=GENESIS))
    _guard()


def _guard():
    if op.get_bind().dialect.name == "sqlite":
        changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in GRANT_COLUMNS)
        op.execute(
            "CREATE TRIGGER grants_no_update BEFORE UPDATE ON grants "
            f"WHEN OLD.revoked_at IS NOT NULL OR NEW.revoked_at IS NULL OR {changed} "
            "BEGIN SELECT RAISE(ABORT, 'grants rows change only to be revoked, once'); END"
        )
        op.execute(
            "CREATE TRIGGER grants_no_delete BEFORE DELETE ON grants "
            "BEGIN SELECT RAISE(ABORT, 'grants rows are never deleted'); END"
        )
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER access_log_entries_no_{action.lower()} BEFORE {action} "
                "ON access_log_entries "
                "BEGIN SELECT RAISE(ABORT, 'access_log_entries rows are immutable'); END"
            )
        return
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in GRANT_COLUMNS)
    op.execute(
        "CREATE FUNCTION refuse_grant_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN IF OLD.revoked_at IS NOT NULL OR NEW.revoked_at IS NULL OR {changed} THEN "
        "RAISE EXCEPTION 'grants rows change only to be revoked, once'; END IF; "
        "RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER grants_revocation_only BEFORE UPDATE ON grants "
        "FOR EACH ROW EXECUTE FUNCTION refuse_grant_change()"
    )
    op.execute(
        "CREATE TRIGGER grants_no_delete BEFORE DELETE ON grants "
        "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER access_log_entries_immutable BEFORE UPDATE OR DELETE "
        "ON access_log_entries FOR EACH ROW EXECUTE FUNCTION refuse_change()"
    )
    for table in ("grants", "access_log_entries"):
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"
        )


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for trigger in (
            "grants_no_update",
            "grants_no_delete",
            "access_log_entries_no_update",
            "access_log_entries_no_delete",
        ):
            op.execute(f"DROP TRIGGER {trigger}")
    else:
        for trigger, table in (
            ("grants_revocation_only", "grants"),
            ("grants_no_delete", "grants"),
            ("grants_no_truncate", "grants"),
            ("access_log_entries_immutable", "access_log_entries"),
            ("access_log_entries_no_truncate", "access_log_entries"),
        ):
            op.execute(f"DROP TRIGGER {trigger} ON {table}")
        op.execute("DROP FUNCTION refuse_grant_change()")
    op.drop_table("access_log_head")
    with op.batch_alter_table("access_log_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_log_entries_idea_id"))
    op.drop_table("access_log_entries")
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grants_person_id"))
        batch_op.drop_index(batch_op.f("ix_grants_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_grants_idea_id"))
        batch_op.drop_index(batch_op.f("ix_grants_group_id"))
    op.drop_table("grants")
