"""case documents: certificates, court orders, photos of a child's case

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 09:00:00

``case_documents`` holds each document's bytes (a binary column: every node of a multi-node
deployment reads them from the database), its SHA-256, kind, title, type decided from the bytes,
size, scan result and who uploaded it (role and sector, what partners may read of it).
"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_documents',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('scan', sa.String(length=16), nullable=False),
    sa.Column('uploaded_by', sa.String(length=100), nullable=False),
    sa.Column('uploader_role', sa.String(length=20), nullable=False),
    sa.Column('uploader_sector', sa.String(length=40), nullable=True),
    sa.Column('uploaded_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case_documents', schema=None) as batch_op:
        batch_op.create_index('ix_case_documents_case', ['case_id', 'uploaded_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_case_documents_case')
    op.drop_table('case_documents')
