"""a unit's partnership conventions and the follow-up of their milestones

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-04 21:20:00

``unit_conventions`` (a UPE project's convention: period, partners), ``convention_milestones``
(where each milestone stands) and ``convention_milestone_updates`` (every follow-up, append-only):
:mod:`engine.conventions`.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import engine.models

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def _follow_up_columns() -> list[sa.schema.SchemaItem]:
    return [
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('percent_done', sa.Integer(), nullable=False),
        sa.Column('started_on', sa.Date(), nullable=True),
        sa.Column('ended_on', sa.Date(), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('updated_at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=100), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        'unit_conventions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('province', sa.String(length=64), sa.ForeignKey('provinces.code'), nullable=False),
        sa.Column('unit', sa.String(length=100), sa.ForeignKey('units.code'), nullable=False),
        sa.Column('reference', sa.String(length=64), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('partners', JSON, nullable=False),
        sa.Column('signed_on', sa.Date(), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('recorded_at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('recorded_by', sa.String(length=100), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('updated_at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('reference', name='uq_unit_conventions_reference'),
    )
    op.create_index('ix_unit_conventions_province', 'unit_conventions', ['province', 'starts_on'])
    op.create_index('ix_unit_conventions_unit', 'unit_conventions', ['unit'])
    op.create_table(
        'convention_milestones',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('convention_id', sa.Integer(), sa.ForeignKey('unit_conventions.id'), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        *_follow_up_columns(),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('convention_id', 'position', name='uq_convention_milestone_position'),
    )
    op.create_table(
        'convention_milestone_updates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('convention_id', sa.Integer(), sa.ForeignKey('unit_conventions.id'), nullable=False),
        sa.Column('milestone_id', sa.Integer(), sa.ForeignKey('convention_milestones.id'), nullable=False),
        *_follow_up_columns(),
        sa.Column('updated_as', sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_convention_milestone_updates', 'convention_milestone_updates', ['milestone_id', 'id'])


def downgrade() -> None:
    op.drop_index('ix_convention_milestone_updates', table_name='convention_milestone_updates')
    op.drop_table('convention_milestone_updates')
    op.drop_table('convention_milestones')
    op.drop_index('ix_unit_conventions_unit', table_name='unit_conventions')
    op.drop_index('ix_unit_conventions_province', table_name='unit_conventions')
    op.drop_table('unit_conventions')
