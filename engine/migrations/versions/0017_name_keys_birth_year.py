"""name keys carry the child's birth year: the duplicate check narrows by year inside the key index

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-12 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('child_name_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('birth_year', sa.Integer(), nullable=True))
        batch_op.drop_index('ix_child_name_keys_key')
        batch_op.create_index('ix_child_name_keys_key', ['key', 'field', 'birth_year', 'case_id'], unique=False)
    from engine.identity import reindex
    reindex(op.get_bind())  # every child's keys, with the year (and the cases' birth years)


def downgrade() -> None:
    with op.batch_alter_table('child_name_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_child_name_keys_key')
        batch_op.create_index('ix_child_name_keys_key', ['key', 'field', 'case_id'], unique=False)
        batch_op.drop_column('birth_year')
