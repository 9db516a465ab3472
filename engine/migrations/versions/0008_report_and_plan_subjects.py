"""report and plan subjects

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 08:00:46.890578
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import engine.models

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('action_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('province', sa.String(length=64), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('created_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['province'], ['provinces.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id'),
    sa.UniqueConstraint('province', 'period_start', name='uq_action_plan_period')
    )
    op.create_table('statistical_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('province', sa.String(length=64), nullable=False),
    sa.Column('unit', sa.String(length=100), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('due_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('figures', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('published_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['province'], ['provinces.code'], ),
    sa.ForeignKeyConstraint(['unit'], ['units.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id'),
    sa.UniqueConstraint('unit', 'year', 'quarter', name='uq_statistical_report_quarter')
    )
    with op.batch_alter_table('statistical_reports', schema=None) as batch_op:
        batch_op.create_index('ix_statistical_reports_due', ['province', 'due_at'], unique=False)

    op.create_table('action_plan_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('content', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('version_date', sa.Date(), nullable=False),
    sa.Column('comments', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
              nullable=False),
    sa.Column('updated_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.Column('validated_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('validated_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['plan_id'], ['action_plans.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plan_id', 'number', name='uq_action_plan_version')
    )
    with op.batch_alter_table('action_plan_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_plan_versions_plan_id'), ['plan_id'], unique=False)

    # On SQLite this rebuilds ``cases`` (copy, drop, rename): Database.upgrade turns foreign
    # keys off around migrations and checks them all before committing.
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_kind', sa.String(length=20), server_default='child', nullable=False))
        batch_op.alter_column('child_first_name',
               existing_type=sa.VARCHAR(length=100),
               nullable=True)
        batch_op.alter_column('child_last_name',
               existing_type=sa.VARCHAR(length=100),
               nullable=True)
        batch_op.alter_column('child_sex',
               existing_type=sa.VARCHAR(length=1),
               nullable=True)



def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.alter_column('child_sex',
               existing_type=sa.VARCHAR(length=1),
               nullable=False)
        batch_op.alter_column('child_last_name',
               existing_type=sa.VARCHAR(length=100),
               nullable=False)
        batch_op.alter_column('child_first_name',
               existing_type=sa.VARCHAR(length=100),
               nullable=False)
        batch_op.drop_column('subject_kind')

    with op.batch_alter_table('action_plan_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_plan_versions_plan_id'))

    op.drop_table('action_plan_versions')
    with op.batch_alter_table('statistical_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_statistical_reports_due')

    op.drop_table('statistical_reports')
    op.drop_table('action_plans')
