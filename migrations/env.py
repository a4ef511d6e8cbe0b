"""How Alembic reaches the knowledge store.

`actions.schema.upgrade_schema` passes in the loader's own connection, so the migration and the
new contents commit together (PostgreSQL) or not at all. From the command line the database is
`KNOWLEDGE_DB_URL`, or the embedded SQLite file.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from actions.database import database_url
from actions.models import Base

config = context.config


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot alter most of a table; Alembic's batch mode copies it instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """`alembic upgrade head --sql`: print the SQL for review instead of running it."""
    context.configure(url=database_url(), target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
elif (given := config.attributes.get("connection")) is not None:
    run_on(given)
else:
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    with create_engine(database_url(), future=True).begin() as connection:
        run_on(connection)
