"""form drafts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 06:16:20.213539
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import engine.models

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('form_drafts',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('schema', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('form_drafts')
