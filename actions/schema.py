"""The knowledge store's schema, kept by Alembic migrations (`migrations/`).

The tables are defined once, in `actions.models`; each change to them is a migration, so a
PostgreSQL store that has been running for months is brought up to date in place, and the
embedded SQLite file is built by the very same steps.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from actions.database import PROJECT_ROOT

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's settings, working on `connection` (in its transaction) when one is given."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_schema(connection: Connection) -> None:
    """Apply every migration the database has not had yet, inside the connection's transaction."""
    command.upgrade(alembic_config(connection), "head")


def schema_revision(connection: Connection) -> str | None:
    """The migration the database is at; None for a database Alembic has never touched."""
    return MigrationContext.configure(connection).get_current_revision()


def latest_revision() -> str | None:
    """The newest migration in `migrations/`."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
