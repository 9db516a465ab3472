"""overdue index

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 06:54:26.871350
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('open_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_open_tasks_province_due', ['province', 'due_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('open_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_open_tasks_province_due')

