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
    _reindex(op.get_bind())  # every child's keys, with the year (and the cases' birth years)


def _reindex(conn: sa.Connection) -> None:
    """The keys as this revision stored them (in clear: 0023 hashes them), read with plain SQL so
    that later column types (sealed names, 0021 and 0023) do not apply here."""
    from datetime import date, datetime

    from engine.identity import Identity, birth_year, plain_key_rows

    def day(value: object) -> date | None:
        if value is None or isinstance(value, date):
            return value
        return date.fromisoformat(str(value)[:10])

    conn.execute(sa.text("DELETE FROM child_name_keys"))
    rows = conn.execute(sa.text(
        "SELECT id, province, opened_at, child_first_name, child_last_name, child_first_name_other, "
        "child_last_name_other, child_alias, child_birth_date, child_age_estimate FROM cases "
        "WHERE subject_kind = 'child'")).all()
    keys = sa.table("child_name_keys", sa.column("case_id"), sa.column("province"), sa.column("field"),
                    sa.column("key"), sa.column("birth_year"))
    cases = sa.table("cases", sa.column("id"), sa.column("child_birth_year"))
    for row in rows:
        opened = row.opened_at if isinstance(row.opened_at, datetime) else datetime.fromisoformat(str(row.opened_at))
        child = {"first_name": row.child_first_name, "last_name": row.child_last_name, "alias": row.child_alias,
                 "names_other_script": {"first_name": row.child_first_name_other,
                                        "last_name": row.child_last_name_other}}
        year = birth_year(day(row.child_birth_date), row.child_age_estimate, opened.date())
        found = plain_key_rows(Identity.of_child(child, opened.date()))
        if found:
            conn.execute(sa.insert(keys), [{"case_id": row.id, "province": row.province, "field": field, "key": key,
                                            "birth_year": year} for field, key in found])
        conn.execute(sa.update(cases).where(cases.c.id == row.id).values(child_birth_year=year))


def downgrade() -> None:
    with op.batch_alter_table('child_name_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_child_name_keys_key')
        batch_op.create_index('ix_child_name_keys_key', ['key', 'field', 'case_id'], unique=False)
        batch_op.drop_column('birth_year')
