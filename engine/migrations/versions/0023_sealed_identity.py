"""the child's identity sealed: names and birth date encrypted, search keys as keyed hashes

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 11:00:00

The child's names (in both scripts), alias and birth date are sealed with the database's active
data key (:mod:`engine.crypto`). A search still finds a child: the name keys of
``child_name_keys`` become keyed hashes (HMAC with the index key, their kind kept), and
``cases.child_birth_date_key`` holds the birth date's keyed hash; ``cases.child_age_at_report``
keeps the age the indicators count, which was computed from the birth date; the consent's legal
basis and whether the child or a guardian was told (``consent_legal_basis``, ``consent_informed``:
what the partners' minimisation decides on) are kept in clear beside the sealed consent.
"""
import json
from datetime import date
from typing import Any

import sqlalchemy as sa
from alembic import op

from engine import crypto

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

NAMES = ("child_first_name", "child_last_name", "child_first_name_other", "child_last_name_other", "child_alias")
BEFORE: dict[str, Any] = {"child_first_name": sa.String(100), "child_last_name": sa.String(100),
          "child_first_name_other": sa.String(100), "child_last_name_other": sa.String(100),
          "child_alias": sa.String(200), "child_birth_date": sa.Date()}


def _age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def upgrade() -> None:
    conn = op.get_bind()
    postgres = conn.dialect.name == "postgresql"
    keyring = crypto.keyring_of(conn.dialect)
    keyring.opened_on(conn)
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('child_birth_date_key', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('child_age_at_report', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('consent_legal_basis', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('consent_informed', sa.Boolean(), nullable=True))
        batch_op.create_index('ix_cases_child_birth_date_key', ['child_birth_date_key'], unique=False)
    rows = conn.execute(sa.text("SELECT id, child_birth_date, child_age_estimate, report_received_on, opened_at, "
                                "consent, " + ", ".join(NAMES) + " FROM cases")).all()
    if postgres:
        for column in (*NAMES, "child_birth_date"):
            op.execute(f"ALTER TABLE cases ALTER COLUMN {column} TYPE bytea USING NULL")
    cases = sa.table("cases", sa.column("id"), sa.column("child_birth_date_key"), sa.column("child_age_at_report"),
                     sa.column("consent_legal_basis"), sa.column("consent_informed"),
                     *(sa.column(c, sa.LargeBinary()) for c in (*NAMES, "child_birth_date")))
    updates = []
    for row in rows:
        born = _as_date(row.child_birth_date)
        reported = _as_date(row.report_received_on) or _as_date(row.opened_at)
        values: dict[str, Any] = {
            "k": row.id,
            "child_birth_date": keyring.seal(born.isoformat().encode(), "cases.child_birth_date") if born else None,
            "child_birth_date_key": keyring.hashed(f"birth:{born.isoformat()}") if born else None,
            "child_age_at_report": _age_on(born, reported) if born and reported else row.child_age_estimate}
        consent = json.loads(keyring.open(bytes(row.consent), "cases.consent")) if row.consent is not None else {}
        values["consent_legal_basis"] = consent.get("legal_basis")
        values["consent_informed"] = bool(consent.get("child_informed") or consent.get("guardian_informed"))
        for column in NAMES:
            value = getattr(row, column)
            values[column] = keyring.seal(str(value).encode(), f"cases.{column}") if value is not None else None
        updates.append(values)
    if updates:
        conn.execute(sa.update(cases).where(cases.c.id == sa.bindparam("k"))
                     .values({c: sa.bindparam(c) for c in (*NAMES, "child_birth_date", "child_birth_date_key",
                                                           "child_age_at_report", "consent_legal_basis",
                                                           "consent_informed")}), updates)
    keys = conn.execute(sa.text("SELECT id, key FROM child_name_keys")).all()
    table = sa.table("child_name_keys", sa.column("id"), sa.column("key"))
    if keys:
        conn.execute(sa.update(table).where(table.c.id == sa.bindparam("k")).values(key=sa.bindparam("v")),
                     [{"k": k, "v": keyring.hashed_key(key)} for k, key in keys])


def downgrade() -> None:
    """Open the names and birth date again; the hashed search keys cannot be reversed: run
    ``himaya reindex-names`` after the downgrade to rebuild them from the names."""
    conn = op.get_bind()
    postgres = conn.dialect.name == "postgresql"
    keyring = crypto.keyring_of(conn.dialect)
    keyring.opened_on(conn)
    columns = (*NAMES, "child_birth_date")
    rows = conn.execute(sa.text("SELECT id, " + ", ".join(columns) + " FROM cases")).all()
    opened = []
    for row in rows:
        values: dict[str, Any] = {"k": row.id}
        for column in columns:
            value = getattr(row, column)
            values[column] = keyring.open(bytes(value), f"cases.{column}").decode() if value is not None else None
        opened.append(values)
    if postgres:
        for column in columns:
            target = sa.types.to_instance(BEFORE[column]).compile(dialect=conn.dialect)
            op.execute(f"ALTER TABLE cases ALTER COLUMN {column} TYPE {target} USING NULL")
    cases = sa.table("cases", sa.column("id"), *(sa.column(c) for c in columns))
    if opened:
        if postgres:  # a date again (SQLite keeps it as its ISO text)
            for values in opened:
                values["child_birth_date"] = _as_date(values["child_birth_date"])
        conn.execute(sa.update(cases).where(cases.c.id == sa.bindparam("k"))
                     .values({c: sa.bindparam(c) for c in columns}), opened)
    conn.execute(sa.text("DELETE FROM child_name_keys"))
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_child_birth_date_key')
        batch_op.drop_column('consent_informed')
        batch_op.drop_column('consent_legal_basis')
        batch_op.drop_column('child_age_at_report')
        batch_op.drop_column('child_birth_date_key')
