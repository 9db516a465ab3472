"""trainings

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 06:37:59.960898
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import engine.models

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('trainings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('province', sa.String(length=64), nullable=False),
    sa.Column('units', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('participants', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
              nullable=False),
    sa.Column('recorded_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['province'], ['provinces.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('trainings', schema=None) as batch_op:
        batch_op.create_index('ix_trainings_province_start', ['province', 'start_date'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('trainings', schema=None) as batch_op:
        batch_op.drop_index('ix_trainings_province_start')

    op.drop_table('trainings')
