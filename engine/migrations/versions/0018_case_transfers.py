"""case transfers: a case that moves to another unit or province, with acceptance

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 09:00:00

``case_transfers`` holds each request (from and to province and unit, reason, who asked), its
state (pending, accepted, declined, cancelled), the receiving coordinators' answer and the
deadline's escalation level. A partial unique index keeps one pending transfer per case.
"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_transfers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('from_province', sa.String(length=64), nullable=False),
    sa.Column('from_unit', sa.String(length=100), nullable=False),
    sa.Column('to_province', sa.String(length=64), nullable=False),
    sa.Column('to_unit', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('requested_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('respond_by', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.Column('next_escalation_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case_transfers', schema=None) as batch_op:
        batch_op.create_index('ix_case_transfers_case', ['case_id', 'requested_at'], unique=False)
        batch_op.create_index('ix_case_transfers_to_province_state', ['to_province', 'state', 'respond_by'],
                              unique=False)
        batch_op.create_index('ix_case_transfers_from_province_state', ['from_province', 'state'], unique=False)
        batch_op.create_index('ix_case_transfers_next_escalation', ['next_escalation_at'], unique=False)
        batch_op.create_index('uq_case_transfers_one_pending', ['case_id'], unique=True,
                              sqlite_where=sa.text("state = 'pending'"),
                              postgresql_where=sa.text("state = 'pending'"))


def downgrade() -> None:
    with op.batch_alter_table('case_transfers', schema=None) as batch_op:
        batch_op.drop_index('uq_case_transfers_one_pending')
        batch_op.drop_index('ix_case_transfers_next_escalation')
        batch_op.drop_index('ix_case_transfers_from_province_state')
        batch_op.drop_index('ix_case_transfers_to_province_state')
        batch_op.drop_index('ix_case_transfers_case')
    op.drop_table('case_transfers')
