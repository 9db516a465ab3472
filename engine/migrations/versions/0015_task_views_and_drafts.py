"""task views and drafts: saved task-list filters and unsent step forms, per user

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-10 09:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import engine.models

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'task_views',
        sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('filters', JSON, nullable=False),
        sa.Column('created_at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'name', name='uq_task_view_name'),
    )
    op.create_index('ix_task_views_user_id', 'task_views', ['user_id'], unique=False)
    op.create_table(
        'task_drafts',
        sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.String(length=36), nullable=False),
        sa.Column('data', JSON, nullable=False),
        sa.Column('saved_at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'task_id', name='uq_task_draft'),
    )
    op.create_index('ix_task_drafts_saved_at', 'task_drafts', ['saved_at'], unique=False)
    op.create_index('ix_task_drafts_task_id', 'task_drafts', ['task_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_task_drafts_task_id', table_name='task_drafts')
    op.drop_index('ix_task_drafts_saved_at', table_name='task_drafts')
    op.drop_table('task_drafts')
    op.drop_index('ix_task_views_user_id', table_name='task_views')
    op.drop_table('task_views')
