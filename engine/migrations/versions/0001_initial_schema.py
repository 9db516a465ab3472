"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 05:27:18.431241
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import engine.models

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=True),
    sa.Column('at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('step', sa.String(length=100), nullable=True),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index('ix_case_events_case', ['case_id', 'id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=True),
    sa.Column('topic', sa.String(length=60), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('recipient', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
              nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_outbox_pending', ['status', 'next_attempt_at'], unique=False)

    op.create_table('pathway_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('bpmn_xml', sa.Text(), nullable=False),
    sa.Column('forms', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('properties', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
              nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('deployed_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deployed_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', 'content_hash', name='uq_pathway_key_hash'),
    sa.UniqueConstraint('key', 'version', name='uq_pathway_key_version')
    )
    with op.batch_alter_table('pathway_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pathway_versions_key'), ['key'], unique=False)

    op.create_table('provinces',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name_fr', sa.String(length=200), nullable=False),
    sa.Column('name_ar', sa.String(length=200), nullable=False),
    sa.Column('region_code', sa.String(length=8), nullable=False),
    sa.Column('region_fr', sa.String(length=200), nullable=False),
    sa.Column('region_ar', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('reference_prefix', sa.String(length=8), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('reference_counters',
    sa.Column('prefix', sa.String(length=8), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('prefix', 'year')
    )
    op.create_table('cases',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('pathway_version_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('risk_level', sa.String(length=8), nullable=False),
    sa.Column('province', sa.String(length=64), nullable=False),
    sa.Column('unit', sa.String(length=100), nullable=False),
    sa.Column('categories', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
              nullable=False),
    sa.Column('child_first_name', sa.String(length=100), nullable=False),
    sa.Column('child_last_name', sa.String(length=100), nullable=False),
    sa.Column('child_sex', sa.String(length=1), nullable=False),
    sa.Column('child_birth_date', sa.Date(), nullable=True),
    sa.Column('child_age_estimate', sa.Integer(), nullable=True),
    sa.Column('child_civil_status_registered', sa.Boolean(), nullable=True),
    sa.Column('child_nationality', sa.String(length=8), nullable=True),
    sa.Column('report', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('emergency_medical', sa.Boolean(), nullable=False),
    sa.Column('immediate_danger', sa.Boolean(), nullable=False),
    sa.Column('consent', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('opened_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['pathway_version_id'], ['pathway_versions.id'], ),
    sa.ForeignKeyConstraint(['province'], ['provinces.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_province_status', ['province', 'status', 'opened_at'], unique=False)
        batch_op.create_index('ix_cases_unit_status', ['unit', 'status', 'opened_at'], unique=False)

    op.create_table('case_timers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('step', sa.String(length=100), nullable=False),
    sa.Column('due_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case_timers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_timers_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_timers_due_at'), ['due_at'], unique=False)

    op.create_table('case_workflows',
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('task_count', sa.Integer(), nullable=False),
    sa.Column('last_progress_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('case_id')
    )
    with op.batch_alter_table('case_workflows', schema=None) as batch_op:
        batch_op.create_index('ix_case_workflows_progress', ['last_progress_at'], unique=False)

    op.create_table('open_tasks',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('pathway_key', sa.String(length=100), nullable=False),
    sa.Column('step', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('sector', sa.String(length=32), nullable=True),
    sa.Column('province', sa.String(length=64), nullable=False),
    sa.Column('unit', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('assignee', sa.String(length=100), nullable=True),
    sa.Column('form', sa.String(length=100), nullable=True),
    sa.Column('created_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('open_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_open_tasks_assignee', ['assignee', 'state', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_open_tasks_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_open_tasks_due', ['due_at', 'escalation_level'], unique=False)
        batch_op.create_index('ix_open_tasks_province_role', ['province', 'role', 'state', 'due_at'], unique=False)
        batch_op.create_index('ix_open_tasks_unit_role', ['unit', 'role', 'state', 'due_at'], unique=False)

    op.create_table('task_history',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('step', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('sector', sa.String(length=32), nullable=True),
    sa.Column('created_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('completed_by', sa.String(length=100), nullable=True),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('task_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_history_case_id'), ['case_id'], unique=False)
    _append_only("case_events")


def _append_only(table: str) -> None:
    """The audit trail refuses UPDATE and DELETE at the database level."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE OR REPLACE FUNCTION himaya_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
            END;
            $$ LANGUAGE plpgsql""")
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION himaya_append_only()")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def downgrade() -> None:
    with op.batch_alter_table('task_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_history_case_id'))

    op.drop_table('task_history')
    with op.batch_alter_table('open_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_open_tasks_unit_role')
        batch_op.drop_index('ix_open_tasks_province_role')
        batch_op.drop_index('ix_open_tasks_due')
        batch_op.drop_index(batch_op.f('ix_open_tasks_case_id'))
        batch_op.drop_index('ix_open_tasks_assignee')

    op.drop_table('open_tasks')
    with op.batch_alter_table('case_workflows', schema=None) as batch_op:
        batch_op.drop_index('ix_case_workflows_progress')

    op.drop_table('case_workflows')
    with op.batch_alter_table('case_timers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_timers_due_at'))
        batch_op.drop_index(batch_op.f('ix_case_timers_case_id'))

    op.drop_table('case_timers')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_unit_status')
        batch_op.drop_index('ix_cases_province_status')

    op.drop_table('cases')
    op.drop_table('reference_counters')
    op.drop_table('provinces')
    with op.batch_alter_table('pathway_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pathway_versions_key'))

    op.drop_table('pathway_versions')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending')
        batch_op.drop_index(batch_op.f('ix_outbox_case_id'))

    op.drop_table('outbox')
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index('ix_case_events_case')

    op.drop_table('case_events')
