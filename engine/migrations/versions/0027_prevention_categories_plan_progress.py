"""prevention activities, case categories as reference data, plan action follow-up

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-04 02:30:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import engine.models

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def _progress_columns() -> list[sa.schema.SchemaItem]:
    return [
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), sa.ForeignKey('action_plans.id'), nullable=False),
        sa.Column('version_id', sa.Integer(), sa.ForeignKey('action_plan_versions.id'), nullable=False),
        sa.Column('action_path', sa.String(length=32), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('percent_done', sa.Integer(), nullable=False),
        sa.Column('started_on', sa.Date(), nullable=True),
        sa.Column('ended_on', sa.Date(), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('updated_at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    ]


def upgrade() -> None:
    op.create_table(
        'prevention_activities',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('held_on', sa.Date(), nullable=False),
        sa.Column('province', sa.String(length=64), sa.ForeignKey('provinces.code'), nullable=False),
        sa.Column('unit', sa.String(length=100), sa.ForeignKey('units.code'), nullable=False),
        sa.Column('place_kind', sa.String(length=32), nullable=False),
        sa.Column('place_name', sa.String(length=200), nullable=False),
        sa.Column('theme', sa.String(length=32), nullable=False),
        sa.Column('audience', sa.String(length=300), nullable=False),
        sa.Column('children', sa.Integer(), nullable=False),
        sa.Column('parents', sa.Integer(), nullable=False),
        sa.Column('professionals', sa.Integer(), nullable=False),
        sa.Column('partners', JSON, nullable=False),
        sa.Column('recorded_at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('recorded_by', sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_prevention_province_held', 'prevention_activities', ['province', 'held_on'])
    op.create_index('ix_prevention_unit_held', 'prevention_activities', ['unit', 'held_on'])
    op.create_table(
        'case_categories',
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('label_fr', sa.String(length=200), nullable=False),
        sa.Column('label_ar', sa.String(length=200), nullable=False),
        sa.Column('label_en', sa.String(length=200), nullable=False),
        sa.Column('risk_level', sa.String(length=8), nullable=False),
        sa.Column('inform_prosecutor', sa.Boolean(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('updated_at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint('code'),
    )
    op.create_table('plan_action_progress', *_progress_columns(),
                    sa.Column('revision', sa.Integer(), nullable=False),
                    sa.UniqueConstraint('version_id', 'action_path', name='uq_plan_action_progress'))
    op.create_index('ix_plan_action_progress_plan_id', 'plan_action_progress', ['plan_id'])
    op.create_table('plan_action_updates', *_progress_columns(),
                    sa.Column('updated_as', sa.String(length=20), nullable=False))
    op.create_index('ix_plan_action_updates_action', 'plan_action_updates', ['version_id', 'action_path', 'id'])


def downgrade() -> None:
    op.drop_index('ix_plan_action_updates_action', table_name='plan_action_updates')
    op.drop_table('plan_action_updates')
    op.drop_index('ix_plan_action_progress_plan_id', table_name='plan_action_progress')
    op.drop_table('plan_action_progress')
    op.drop_table('case_categories')
    op.drop_index('ix_prevention_unit_held', table_name='prevention_activities')
    op.drop_index('ix_prevention_province_held', table_name='prevention_activities')
    op.drop_table('prevention_activities')
