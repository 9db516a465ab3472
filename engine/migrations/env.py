"""Alembic environment: runs against the connection handed over by ``Database.upgrade``."""
from alembic import context

from engine.models import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")

if connection is None:  # `alembic` command line: the database of the settings (HIMAYA_DATABASE_URL)
    from engine.db import Database
    from engine.settings import Settings

    database = Database(Settings.from_environment().database)
    with database.engine.begin() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=database.is_sqlite)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
