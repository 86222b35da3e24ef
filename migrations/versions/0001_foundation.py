"""The foundation: the alliance, ideas with immutable versions, service clients.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-22 19:15:16.087745

"""
import uuid

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0001_foundation'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('groups',
    sa.Column('kind', sa.Enum('forum', 'cluster', 'executive', name='group_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_groups')),
    sa.UniqueConstraint('name', name=op.f('uq_groups_name')),
    sa.UniqueConstraint('slug', name=op.f('uq_groups_slug'))
    )
    op.create_table('organisations',
    sa.Column('kind', sa.Enum('ccg', 'provider', name='organisation_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('ods_code', sa.String(length=16), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
    sa.UniqueConstraint('name', name=op.f('uq_organisations_name')),
    sa.UniqueConstraint('ods_code', name=op.f('uq_organisations_ods_code'))
    )
    op.create_table('people',
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people')),
    sa.UniqueConstraint('email', name=op.f('uq_people_email'))
    )
    op.create_table('group_memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_group_memberships_group_id_groups')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_group_memberships_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_memberships')),
    sa.UniqueConstraint('person_id', 'group_id', name=op.f('uq_group_memberships_person_id'))
    )
    with op.batch_alter_table('group_memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_memberships_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_group_memberships_person_id'), ['person_id'], unique=False)

    op.create_table('ideas',
    sa.Column('origin', sa.Enum('provider', 'forum', name='idea_origin', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=True),
    sa.Column('state', sa.Enum('active', 'withdrawn', name='idea_state', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('latest_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by_id', sa.Uuid(), nullable=True),
    sa.Column('withdrawal_reason', sa.String(length=2000), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_ideas_group_id_groups')),
    sa.ForeignKeyConstraint(['owner_id'], ['organisations.id'], name=op.f('fk_ideas_owner_id_organisations')),
    sa.ForeignKeyConstraint(['withdrawn_by_id'], ['people.id'], name=op.f('fk_ideas_withdrawn_by_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ideas'))
    )
    with op.batch_alter_table('ideas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ideas_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ideas_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ideas_origin'), ['origin'], unique=False)
        batch_op.create_index(batch_op.f('ix_ideas_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ideas_updated_at'), ['updated_at'], unique=False)

    op.create_table('memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.Enum('member', 'ccg_staff', 'auditor', 'admin', name='membership_role', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_memberships_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_memberships_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships')),
    sa.UniqueConstraint('person_id', 'organisation_id', 'role', name=op.f('uq_memberships_person_id'))
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memberships_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_memberships_person_id'), ['person_id'], unique=False)

    op.create_table('external_identities',
    sa.Column('issuer', sa.String(length=500), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_external_identities_person_id_people')),
    sa.PrimaryKeyConstraint('issuer', 'subject', name=op.f('pk_external_identities'))
    )
    with op.batch_alter_table('external_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_identities_person_id'), ['person_id'], unique=False)

    op.create_table('service_clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_service_clients_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_service_clients_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_clients')),
    sa.UniqueConstraint('client_id', name=op.f('uq_service_clients_client_id')),
    sa.UniqueConstraint('person_id', name=op.f('uq_service_clients_person_id'))
    )
    op.create_table('idea_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idea_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('summary', sa.String(length=4000), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('sensitivity', sa.Enum('public', 'alliance', 'commercial', 'confidential', name='idea_sensitivity', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('submitted_by_id', sa.Uuid(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['idea_id'], ['ideas.id'], name=op.f('fk_idea_versions_idea_id_ideas')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['people.id'], name=op.f('fk_idea_versions_submitted_by_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idea_versions')),
    sa.UniqueConstraint('idea_id', 'number', name=op.f('uq_idea_versions_idea_id'))
    )
    op.create_table('derivations',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('source_idea_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['source_idea_id'], ['ideas.id'], name=op.f('fk_derivations_source_idea_id_ideas')),
    sa.ForeignKeyConstraint(['version_id'], ['idea_versions.id'], name=op.f('fk_derivations_version_id_idea_versions')),
    sa.PrimaryKeyConstraint('version_id', 'position', name=op.f('pk_derivations'))
    )
    with op.batch_alter_table('derivations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_derivations_source_idea_id'), ['source_idea_id'], unique=False)

    op.create_table('version_tags',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['idea_versions.id'], name=op.f('fk_version_tags_version_id_idea_versions')),
    sa.PrimaryKeyConstraint('version_id', 'position', name=op.f('pk_version_tags'))
    )
    with op.batch_alter_table('version_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_version_tags_tag'), ['tag'], unique=False)

    _seed_groups()
    _make_versions_immutable()


# The alliance's standing groups. Ids are derived from the slug so that every
# database agrees on them.
GROUPS = [
    ("forum", "general-practice", "General Practice"),
    ("forum", "mental-health-ld-autism", "Mental Health, Learning Disabilities and Autism"),
    ("forum", "enhanced-primary-community-care", "Enhanced Primary and Community Care"),
    ("forum", "urgent-intermediate-care", "Urgent and Intermediate Care"),
    ("executive", "alliance-executive-group", "Alliance Executive Group"),
]
GROUP_NAMESPACE = uuid.UUID("6f1d2f3e-3b0e-4c55-9a65-3f0b8b1f7a10")


def _seed_groups():
    groups = sa.table(
        "groups",
        sa.column("id", sa.Uuid()),
        sa.column("kind", sa.String()),
        sa.column("slug", sa.String()),
        sa.column("name", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    created = sa.func.current_timestamp()
    for kind, slug, name in GROUPS:
        op.execute(
            groups.insert().values(
                id=uuid.uuid5(GROUP_NAMESPACE, slug), kind=kind, slug=slug, name=name,
                created_at=created,
            )
        )


IMMUTABLE_TABLES = ("idea_versions", "version_tags", "derivations")


def _make_versions_immutable():
    # A stored version is evidence: the database itself refuses to change it.
    if op.get_bind().dialect.name == "sqlite":
        for table in IMMUTABLE_TABLES:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} rows are immutable'); END"
                )
        return
    op.execute(
        "CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION '% rows are immutable', TG_TABLE_NAME; END $$"
    )
    for table in IMMUTABLE_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
        )
        # Row triggers do not fire on TRUNCATE.
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"
        )


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for table in IMMUTABLE_TABLES:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER {table}_no_{action}")
    else:
        for table in IMMUTABLE_TABLES:
            op.execute(f"DROP TRIGGER {table}_immutable ON {table}")
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION refuse_change()")
    with op.batch_alter_table('version_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_version_tags_tag'))

    op.drop_table('version_tags')
    with op.batch_alter_table('derivations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_derivations_source_idea_id'))

    op.drop_table('derivations')
    op.drop_table('idea_versions')
    op.drop_table('service_clients')
    with op.batch_alter_table('external_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_external_identities_person_id'))

    op.drop_table('external_identities')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_memberships_person_id'))
        batch_op.drop_index(batch_op.f('ix_memberships_organisation_id'))

    op.drop_table('memberships')
    with op.batch_alter_table('ideas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ideas_updated_at'))
        batch_op.drop_index(batch_op.f('ix_ideas_owner_id'))
        batch_op.drop_index(batch_op.f('ix_ideas_origin'))
        batch_op.drop_index(batch_op.f('ix_ideas_group_id'))
        batch_op.drop_index(batch_op.f('ix_ideas_created_at'))

    op.drop_table('ideas')
    with op.batch_alter_table('group_memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_memberships_person_id'))
        batch_op.drop_index(batch_op.f('ix_group_memberships_group_id'))

    op.drop_table('group_memberships')
    op.drop_table('people')
    op.drop_table('organisations')
    op.drop_table('groups')
