"""escalation and notifications

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 05:53:28.463424
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import engine.models

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notifications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('created_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('topic', sa.String(length=60), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=True),
    sa.Column('outbox_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_user', ['username', 'read_at', 'id'], unique=False)

    with op.batch_alter_table('case_workflows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stalled_since', engine.models.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('open_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_escalation_at', engine.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_open_tasks_next_escalation', ['next_escalation_at'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_until', engine.models.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=40), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('phone')
        batch_op.drop_column('email')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('claimed_until')

    with op.batch_alter_table('open_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_open_tasks_next_escalation')
        batch_op.drop_column('next_escalation_at')

    with op.batch_alter_table('case_workflows', schema=None) as batch_op:
        batch_op.drop_column('stalled_since')

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user')

    op.drop_table('notifications')
