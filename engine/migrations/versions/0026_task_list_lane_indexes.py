"""the task list's lanes served by an index in their order (open_tasks by lane, state, due date, id)

A case worker's list filters one lane (province, role, and the unit or the sector) and the
state, and orders by due date then id: with these indexes the first page stops after its rows
instead of sorting every task of the province.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04 02:50:00
"""
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_open_tasks_lane_unit', 'open_tasks', ['province', 'role', 'unit', 'state', 'due_at', 'id'])
    op.create_index('ix_open_tasks_lane_sector', 'open_tasks',
                    ['province', 'role', 'sector', 'state', 'due_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_open_tasks_lane_sector', table_name='open_tasks')
    op.drop_index('ix_open_tasks_lane_unit', table_name='open_tasks')
