"""referrals to partners with a response deadline, climbing the escalation ladder when overdue

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 09:00:00

``referrals`` holds each referral of a child's case to a partner sector (or a named organisation):
the service requested and why, the priority and response deadline, its state (requested, accepted,
declined, completed, cancelled) with who answered and when, the service given, and its place on
the escalation ladder (``escalation_level``, ``next_escalation_at``).
"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    when = engine.models.UTCDateTime(timezone=True)
    op.create_table('referrals',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('province', sa.String(length=64), nullable=False),
    sa.Column('requested_at', when, nullable=False),
    sa.Column('requester', sa.String(length=100), nullable=False),
    sa.Column('requester_role', sa.String(length=20), nullable=False),
    sa.Column('requester_unit', sa.String(length=100), nullable=True),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('step', sa.String(length=100), nullable=True),
    sa.Column('performer_sector', sa.String(length=32), nullable=False),
    sa.Column('performer_organisation', sa.String(length=200), nullable=True),
    sa.Column('service', sa.String(length=40), nullable=False),
    sa.Column('service_note', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('priority', sa.String(length=8), nullable=False),
    sa.Column('respond_by', when, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('accepted_by', sa.String(length=100), nullable=True),
    sa.Column('accepted_at', when, nullable=True),
    sa.Column('accept_note', sa.Text(), nullable=True),
    sa.Column('due_by', when, nullable=True),
    sa.Column('declined_by', sa.String(length=100), nullable=True),
    sa.Column('declined_at', when, nullable=True),
    sa.Column('service_given', sa.Text(), nullable=True),
    sa.Column('occurrence', sa.Date(), nullable=True),
    sa.Column('completed_by', sa.String(length=100), nullable=True),
    sa.Column('completed_at', when, nullable=True),
    sa.Column('cancelled_by', sa.String(length=100), nullable=True),
    sa.Column('cancelled_at', when, nullable=True),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.Column('next_escalation_at', when, nullable=True),
    sa.Column('updated_at', when, nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index('ix_referrals_case', ['case_id', 'requested_at'], unique=False)
        batch_op.create_index('ix_referrals_performer', ['province', 'performer_sector', 'status', 'respond_by'],
                              unique=False)
        batch_op.create_index('ix_referrals_next_escalation', ['next_escalation_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_next_escalation')
        batch_op.drop_index('ix_referrals_performer')
        batch_op.drop_index('ix_referrals_case')
    op.drop_table('referrals')
