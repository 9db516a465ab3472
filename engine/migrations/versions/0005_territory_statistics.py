"""territory statistics

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 06:26:04.160198
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A unit lies in one province: tell PostgreSQL's planner, which otherwise multiplies the two
    # selectivities and expects a handful of a unit's open tasks instead of all of them.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE STATISTICS IF NOT EXISTS open_tasks_territory (dependencies) ON province, unit "
                   "FROM open_tasks")
        op.execute("CREATE STATISTICS IF NOT EXISTS cases_territory (dependencies) ON province, unit FROM cases")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS open_tasks_territory")
        op.execute("DROP STATISTICS IF EXISTS cases_territory")
