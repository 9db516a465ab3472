"""idempotent commands: the answer of a report or a completion sent with an Idempotency-Key

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-04 02:40:00

``idempotency_keys`` keeps, per user and key, the endpoint, the digest of the request body and
the answer (status and sealed JSON body) of a command, written in the command's transaction, so
that a retry (an outreach worker's phone syncing again after a lost answer) never makes a second
case or completes a step twice (:mod:`engine.idempotency`).
"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'idempotency_keys',
        sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=128), nullable=False),
        sa.Column('endpoint', sa.String(length=120), nullable=False),
        sa.Column('request_digest', sa.String(length=64), nullable=False),
        sa.Column('status', sa.Integer(), nullable=False),
        sa.Column('answer', sa.LargeBinary(), nullable=False),
        sa.Column('case_id', sa.String(length=36), nullable=True),
        sa.Column('created_at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'key', name='uq_idempotency_user_key'),
    )
    op.create_index('ix_idempotency_keys_expires_at', 'idempotency_keys', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_idempotency_keys_expires_at', table_name='idempotency_keys')
    op.drop_table('idempotency_keys')
