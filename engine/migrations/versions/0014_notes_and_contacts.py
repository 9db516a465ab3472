"""the case file: notes and contacts

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-03 09:00:00

``case_notes`` holds the short entries of a case's timeline written by its team, with their
visibility (``team`` or ``coordinators``); ``case_contacts`` the family members, guardian, school…
the team reaches about the child, with whether they may be contacted (removing one marks it
inactive). The case events ``note_added`` and ``contact_*`` name the rows, never their text.
"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'case_notes',
        sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
        sa.Column('case_id', sa.String(length=36), nullable=False),
        sa.Column('visibility', sa.String(length=16), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('author', sa.String(length=100), nullable=False),
        sa.Column('author_role', sa.String(length=20), nullable=False),
        sa.Column('created_at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('case_notes', schema=None) as batch_op:
        batch_op.create_index('ix_case_notes_case', ['case_id', 'id'], unique=False)
    op.create_table(
        'case_contacts',
        sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
        sa.Column('case_id', sa.String(length=36), nullable=False),
        sa.Column('relation', sa.String(length=20), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('phone', sa.String(length=40), nullable=True),
        sa.Column('address', sa.String(length=500), nullable=True),
        sa.Column('guardian', sa.Boolean(), nullable=False),
        sa.Column('may_contact', sa.Boolean(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('updated_at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('case_contacts', schema=None) as batch_op:
        batch_op.create_index('ix_case_contacts_case', ['case_id', 'active', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_case_contacts_case')
    op.drop_table('case_contacts')
    with op.batch_alter_table('case_notes', schema=None) as batch_op:
        batch_op.drop_index('ix_case_notes_case')
    op.drop_table('case_notes')
