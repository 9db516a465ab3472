"""the national level's figures kept a few minutes per period (national_figures)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 13:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import engine.models

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'national_figures',
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('period_end', sa.Date(), nullable=False),
        sa.Column('computed_at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('figures', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                  nullable=False),
        sa.PrimaryKeyConstraint('period_start', 'period_end'),
    )


def downgrade() -> None:
    op.drop_table('national_figures')
