"""the audit trail forgets and is chained: events reference answers, a hash chain, anonymised cases

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 12:30:00

``audit_chain`` holds one keyed-hash link per audited event (case or administration), appended by
the chaining job (:mod:`engine.audit`); ``audit_chain_head`` is the row that job locks.
``cases.anonymised_at`` marks a file whose retention ran out (:mod:`engine.retention`).

A completed step's event no longer copies the answers: the events written so far keep the names
of the fields and a keyed digest of the values instead (the values stay in the step's sealed
history row). ``case_events`` stays append-only for its facts (who, when, what, which case): the
database now accepts an UPDATE of ``detail`` only, which retention uses to erase free text, and
which the chain would show if it were anything else. ``audit_chain`` is append-only.
"""
import json
from typing import Any

import sqlalchemy as sa
from alembic import op

import engine.models
from engine import audit, crypto

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

FACTS = ("id", "case_id", "at", "actor", "kind", "step", "task_id")


def upgrade() -> None:
    conn = op.get_bind()
    postgres = conn.dialect.name == "postgresql"
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', engine.models.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        'audit_chain',
        sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('source', sa.String(length=8), nullable=False),
        sa.Column('event_id', sa.BigInteger(), nullable=False),
        sa.Column('link', sa.String(length=64), nullable=False),
        sa.Column('chained_at', engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('seq'),
        sa.UniqueConstraint('source', 'event_id', name='uq_audit_chain_event'),
    )
    head = op.create_table(
        'audit_chain_head',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('case_low', sa.BigInteger(), nullable=False),
        sa.Column('case_seen', sa.BigInteger(), nullable=False),
        sa.Column('admin_low', sa.BigInteger(), nullable=False),
        sa.Column('admin_seen', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.bulk_insert(head, [{"id": 1, "case_low": 0, "case_seen": 0, "admin_low": 0, "admin_seen": 0}])

    if postgres:
        op.execute("DROP TRIGGER IF EXISTS case_events_append_only ON case_events")
        distinct = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in FACTS)
        op.execute(f"""
            CREATE OR REPLACE FUNCTION himaya_events_keep_facts() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'DELETE' OR {distinct} THEN
                    RAISE EXCEPTION '% is append-only: only the erasure of free text may change a row', TG_TABLE_NAME;
                END IF;
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql""")
        op.execute("CREATE TRIGGER case_events_keep_facts BEFORE UPDATE OR DELETE ON case_events "
                   "FOR EACH ROW EXECUTE FUNCTION himaya_events_keep_facts()")
        op.execute("CREATE TRIGGER audit_chain_append_only BEFORE UPDATE OR DELETE ON audit_chain "
                   "FOR EACH ROW EXECUTE FUNCTION himaya_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS case_events_no_update")
        op.execute(f"CREATE TRIGGER case_events_no_update BEFORE UPDATE OF {', '.join(FACTS)} ON case_events "
                   "BEGIN SELECT RAISE(ABORT, 'case_events is append-only: only the erasure of free text may "
                   "change a row'); END")
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_chain_no_{action.lower()} BEFORE {action} ON audit_chain "
                       "BEGIN SELECT RAISE(ABORT, 'audit_chain is append-only'); END")

    keyring = crypto.keyring_of(conn.dialect)
    keyring.opened_on(conn)
    column = "case_events.detail"
    events = sa.table("case_events", sa.column("id"), sa.column("detail", sa.LargeBinary()))
    rows = conn.execute(sa.text("SELECT id, detail FROM case_events WHERE kind = 'step_completed'")).all()
    updates: list[dict[str, Any]] = []
    for event_id, sealed in rows:
        detail = json.loads(keyring.open(bytes(sealed), column))
        if not isinstance(detail.get("data"), dict):
            continue
        values = detail.pop("data")
        detail.update(audit.answers_reference(keyring, values))
        updates.append({"k": event_id, "v": keyring.seal(json.dumps(detail).encode(), column)})
    if updates:
        conn.execute(sa.update(events).where(events.c.id == sa.bindparam("k")).values(detail=sa.bindparam("v")),
                     updates)


def downgrade() -> None:
    # The answers a step's event no longer copies stay in the step's history row: not copied back.
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("DROP TRIGGER IF EXISTS case_events_keep_facts ON case_events")
        op.execute("DROP FUNCTION IF EXISTS himaya_events_keep_facts()")
        op.execute("CREATE TRIGGER case_events_append_only BEFORE UPDATE OR DELETE ON case_events "
                   "FOR EACH ROW EXECUTE FUNCTION himaya_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS case_events_no_update")
        op.execute("CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events "
                   "BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END")
    op.drop_table('audit_chain_head')
    op.drop_table('audit_chain')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')
