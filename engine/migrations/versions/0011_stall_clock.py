"""stall clock: a case waiting on a scheduled visit is not stalled

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 05:40:00

``case_workflows.idle_since`` (NULL while the case waits on a BPMN timer with no open task of
its own staff) and ``visit_due_at`` (the due date of the visit a fired timer opened), both
indexed; see engine/stalling.py. Running cases are filled in from their projections:
waiting (a timer, no staff task) → NULL; a staff task opened after the last completed step
(a timer fired) → the clock starts when it opened and the visit is due at its due date;
otherwise the clock starts at the last completed step, as "stalled" counted it before.
"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_STAFF_OPENED_AFTER_PROGRESS = ("FROM open_tasks t WHERE t.case_id = case_workflows.case_id AND t.role <> 'partner' "
                                "AND t.created_at > case_workflows.last_progress_at")
_WAITING = ("EXISTS (SELECT 1 FROM case_timers m WHERE m.case_id = case_workflows.case_id) AND NOT EXISTS "
            "(SELECT 1 FROM open_tasks t WHERE t.case_id = case_workflows.case_id AND t.role <> 'partner')")


def upgrade() -> None:
    with op.batch_alter_table('case_workflows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idle_since', engine.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('visit_due_at', engine.models.UTCDateTime(timezone=True), nullable=True))
    op.execute(f"UPDATE case_workflows SET "
               f"idle_since = COALESCE((SELECT MIN(t.created_at) {_STAFF_OPENED_AFTER_PROGRESS}), last_progress_at), "
               f"visit_due_at = (SELECT MIN(t.due_at) {_STAFF_OPENED_AFTER_PROGRESS})")
    op.execute(f"UPDATE case_workflows SET idle_since = NULL, visit_due_at = NULL WHERE {_WAITING}")
    with op.batch_alter_table('case_workflows', schema=None) as batch_op:
        batch_op.create_index('ix_case_workflows_idle', ['idle_since'], unique=False)
        batch_op.create_index('ix_case_workflows_visit_due', ['visit_due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_workflows', schema=None) as batch_op:
        batch_op.drop_index('ix_case_workflows_visit_due')
        batch_op.drop_index('ix_case_workflows_idle')
        batch_op.drop_column('visit_due_at')
        batch_op.drop_column('idle_since')
