"""delivery incidents: messages nobody could receive

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 05:40:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import engine.models

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('delivery_incidents',
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('outbox_id', BIG_ID, nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=True),
    sa.Column('province', sa.String(length=64), nullable=True),
    sa.Column('topic', sa.String(length=60), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('recipient', JSON, nullable=False),
    sa.Column('missing', sa.String(length=40), nullable=False),
    sa.Column('raised_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('resolved_by', sa.String(length=100), nullable=True),
    sa.Column('resolved_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('informed_via', sa.String(length=16), nullable=True),
    sa.Column('informed_at', engine.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('acknowledgment_reference', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('outbox_id', name='uq_delivery_incidents_outbox')
    )
    with op.batch_alter_table('delivery_incidents', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_incidents_province_status', ['province', 'status', 'raised_at'],
                              unique=False)
        batch_op.create_index('ix_delivery_incidents_case_status', ['case_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('delivery_incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_incidents_case_status')
        batch_op.drop_index('ix_delivery_incidents_province_status')
    op.drop_table('delivery_incidents')
