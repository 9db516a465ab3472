"""children's data sealed at rest: data keys wrapped by the master key, free text and answers encrypted

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 10:00:00

``data_keys`` holds the AES-256 data keys, each wrapped by the master key kept outside the
database (``HIMAYA_DATA_KEY`` or the key file, :mod:`engine.crypto`). The first one is made here,
and every value of the columns below is sealed with it in place: the report and consent, the
workflow state, the step answers (task history and drafts), the history's details, notes,
contacts, documents, the reasons of duplicate reviews, transfers and referrals. On PostgreSQL the
columns become ``bytea``; SQLite stores the sealed bytes in the columns as they are. The append-
only trigger of ``case_events`` is lifted for the rewrite and put back. ``cases.report_received_on``
keeps the report's date in clear, which the indicators compute ages from.
"""
import json
from collections.abc import Callable
from datetime import date
from typing import Any

import sqlalchemy as sa
from alembic import op

import engine.models
from engine import crypto

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

# (table, key column, column, kind, type before) — what this revision seals.
SEALED: list[tuple[str, str, str, str, Any]] = [
    ("cases", "id", "report", "json", "json"), ("cases", "id", "consent", "json", "json"),
    ("case_workflows", "case_id", "state", "text", sa.Text()),
    ("task_history", "id", "data", "json", "json"), ("task_drafts", "id", "data", "json", "json"),
    ("case_events", "id", "detail", "json", "json"),
    ("duplicate_reviews", "id", "note", "text", sa.Text()),
    ("case_notes", "id", "text", "text", sa.Text()),
    ("case_contacts", "id", "name", "text", sa.String(200)), ("case_contacts", "id", "phone", "text", sa.String(40)),
    ("case_contacts", "id", "address", "text", sa.String(500)), ("case_contacts", "id", "note", "text", sa.Text()),
    ("case_documents", "id", "content", "bytes", sa.LargeBinary()),
    ("case_transfers", "id", "reason", "text", sa.Text()),
    ("case_transfers", "id", "decision_reason", "text", sa.Text()),
    ("referrals", "id", "reason", "text", sa.Text()), ("referrals", "id", "service_note", "text", sa.Text()),
    ("referrals", "id", "accept_note", "text", sa.Text()), ("referrals", "id", "service_given", "text", sa.Text()),
    ("referrals", "id", "status_reason", "text", sa.Text()),
]
BATCH = 1000


def _plain(value: Any, kind: str) -> bytes:
    """A stored value (JSON text or a decoded JSON value, text, bytes) as the bytes
    :class:`engine.crypto.Sealed` seals."""
    if isinstance(value, memoryview):
        value = bytes(value)
    if kind == "json":
        if isinstance(value, (str, bytes)):
            value = json.loads(value)
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    if kind == "bytes":
        return bytes(value)
    return value if isinstance(value, bytes) else str(value).encode()


def _audit_trigger(enable: bool) -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute(f"ALTER TABLE case_events {'ENABLE' if enable else 'DISABLE'} TRIGGER case_events_append_only")
        return
    for action in ("UPDATE", "DELETE"):
        if enable:
            op.execute(f"CREATE TRIGGER case_events_no_{action.lower()} BEFORE {action} ON case_events "
                       "BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS case_events_no_{action.lower()}")


def _rewrite(table: str, key: str, column: str, change: Callable[[Any], Any], *, typed: bool = True) -> None:
    """Every non-null value of the column through ``change`` (old value → new value), in batches;
    written as bytes (``typed``) or as text."""
    conn = op.get_bind()
    rows = conn.execute(sa.text(f"SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL")).all()
    target = sa.table(table, sa.column(key), sa.column(column, sa.LargeBinary() if typed else sa.Text()))
    statement = sa.update(target).where(target.c[key] == sa.bindparam("k")).values({column: sa.bindparam("v")})
    for start in range(0, len(rows), BATCH):
        batch = rows[start:start + BATCH]
        conn.execute(statement, [{"k": row[0], "v": change(row[1])} for row in batch])


def upgrade() -> None:
    conn = op.get_bind()
    dialect = conn.dialect.name
    op.create_table('data_keys',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('wrapped', sa.LargeBinary(), nullable=False),
    sa.Column('fingerprint', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', engine.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    keyring = crypto.keyring_of(conn.dialect)
    master = keyring.master or crypto.master_key_from(create=True)
    assert master is not None  # created when missing
    keyring.master = master
    crypto.create_data_key(conn, master)
    keyring.opened_on(conn)

    op.add_column('cases', sa.Column('report_received_on', sa.Date(), nullable=True))
    reports = conn.execute(sa.text("SELECT id, report FROM cases")).all()
    cases = sa.table("cases", sa.column("id"), sa.column("report_received_on", sa.Date()))
    days = []
    for case_id, report in reports:
        report = json.loads(report) if isinstance(report, str) else report
        received = (report or {}).get("received_at")
        if received:
            days.append({"k": case_id, "v": date.fromisoformat(received[:10])})
    if days:
        conn.execute(sa.update(cases).where(cases.c.id == sa.bindparam("k"))
                     .values(report_received_on=sa.bindparam("v")), days)

    _audit_trigger(enable=False)
    for table, key, column, kind, _before in SEALED:
        if dialect == "postgresql" and kind != "bytes":
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE bytea USING convert_to({column}::text, 'UTF8')")
        name = f"{table}.{column}"

        def change(value: Any, kind: str = kind, name: str = name) -> bytes:
            return keyring.seal(_plain(value, kind), name)
        _rewrite(table, key, column, change)
    _audit_trigger(enable=True)


def downgrade() -> None:
    conn = op.get_bind()
    dialect = conn.dialect.name
    keyring = crypto.keyring_of(conn.dialect)
    keyring.opened_on(conn)
    _audit_trigger(enable=False)
    for table, key, column, kind, before in SEALED:
        name = f"{table}.{column}"

        def change(value: Any, kind: str = kind, name: str = name) -> Any:
            plain = keyring.open(bytes(value), name)  # JSON text, text or bytes, as the column held them
            return plain if kind == "bytes" or dialect == "postgresql" else plain.decode()
        _rewrite(table, key, column, change, typed=dialect == "postgresql" or kind == "bytes")
        if dialect == "postgresql" and kind != "bytes":
            target = "jsonb" if kind == "json" else sa.types.to_instance(before).compile(dialect=conn.dialect)
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {target} "
                       f"USING convert_from({column}, 'UTF8')::{target}")
    _audit_trigger(enable=True)
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('report_received_on')
    op.drop_table('data_keys')
