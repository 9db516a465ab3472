"""The migrations build exactly the schema the models declare: a model changed without its
migration (or a migration that drifts from its model) fails here. Tables, columns, nullability,
indexes (partial ones included) and foreign keys on both databases; column types on PostgreSQL
(SQLite reflects its loose type affinities: ``FLOAT`` for a double, and so on)."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.db import Database
from engine.models import Base


def test_the_migrated_schema_is_the_models_schema(database: Database):
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": not database.is_sqlite})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
