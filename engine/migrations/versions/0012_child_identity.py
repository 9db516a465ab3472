"""child identity: alias, names in the other script, search keys, duplicate reviews

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 16:20:00

``cases`` gains ``child_identity_known`` / ``child_alias`` (a child reported without a known
name), ``child_first_name_other`` / ``child_last_name_other`` (the names in the other script),
``child_birth_year`` (from the birth date or the estimated age), ``duplicate_of`` and
``closed_reason``. ``child_name_keys`` holds the search keys of every child's names
(:mod:`engine.names`), filled for the cases already open by 0017; ``duplicate_reviews`` the pairs
of reports a coordinator confirms or rejects.
"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('child_identity_known', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('child_alias', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('child_first_name_other', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('child_last_name_other', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('child_birth_year', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('duplicate_of', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('closed_reason', sa.String(length=20), nullable=True))
        batch_op.create_index('ix_cases_province_birth_year', ['province', 'child_birth_year'], unique=False)
        batch_op.create_index('ix_cases_duplicate_of', ['duplicate_of'], unique=False)
    op.create_table(
        'child_name_keys',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('case_id', sa.String(length=36), nullable=False),
        sa.Column('province', sa.String(length=64), nullable=False),
        sa.Column('field', sa.String(length=8), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('child_name_keys', schema=None) as batch_op:
        batch_op.create_index('ix_child_name_keys_province_key', ['province', 'key', 'case_id'], unique=False)
        batch_op.create_index('ix_child_name_keys_key', ['key', 'field', 'case_id'], unique=False)
        batch_op.create_index('ix_child_name_keys_case_id', ['case_id'], unique=False)
    op.create_table(
        'duplicate_reviews',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('case_id', sa.String(length=36), nullable=False),
        sa.Column('match_id', sa.String(length=36), nullable=False),
        sa.Column('case_province', sa.String(length=64), nullable=False),
        sa.Column('match_province', sa.String(length=64), nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.Column('reasons', engine.models.JSONType, nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('raised_at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('decided_by', sa.String(length=100), nullable=True),
        sa.Column('decided_at', engine.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('kept_id', sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['match_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_id', 'match_id', name='uq_duplicate_reviews_pair'),
    )
    with op.batch_alter_table('duplicate_reviews', schema=None) as batch_op:
        batch_op.create_index('ix_duplicate_reviews_case_province', ['case_province', 'state'], unique=False)
        batch_op.create_index('ix_duplicate_reviews_match_province', ['match_province', 'state'], unique=False)
    # The keys of the children already reported are built by 0017, once the table has all its
    # columns (the key builder is today's code, which writes today's columns).


def downgrade() -> None:
    op.drop_table('duplicate_reviews')
    op.drop_table('child_name_keys')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_duplicate_of')
        batch_op.drop_index('ix_cases_province_birth_year')
        for column in ('closed_reason', 'duplicate_of', 'child_birth_year', 'child_last_name_other',
                       'child_first_name_other', 'child_alias', 'child_identity_known'):
            batch_op.drop_column(column)
