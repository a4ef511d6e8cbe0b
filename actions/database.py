"""Where the knowledge store lives, and how to connect to it.

The URL comes from `KNOWLEDGE_DB_URL`. Without it the store is a SQLite file inside the
project, so the assistant runs on a fresh machine with no database server.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = PROJECT_ROOT / "var" / "knowledge.db"
DB_URL_VARIABLE = "KNOWLEDGE_DB_URL"
CONNECT_TIMEOUT_SECONDS = 5


class StoreUnavailable(RuntimeError):
    """The knowledge store cannot be reached or has not been built."""


def database_url() -> str:
    """The knowledge store's URL: `KNOWLEDGE_DB_URL`, or the embedded SQLite file."""
    return os.environ.get(DB_URL_VARIABLE) or f"sqlite:///{DEFAULT_DB_PATH}"


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine per URL and process: engines hold the connection pool.

    Each connection is tested before use (`pool_pre_ping`), so after the database restarts the
    next question gets a fresh connection rather than an error. A database server that does not
    answer is given up on after a few seconds, so the patient hears "I can't look that up"
    instead of waiting for an answer that will not come.
    """
    parsed = make_url(url)
    options: dict = {}
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    engine = create_engine(url, future=True, pool_pre_ping=True, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _enforce_sqlite_foreign_keys)
    return engine


def reading_engine(url: str | None = None) -> Engine:
    """An engine for answering questions.

    A missing SQLite file is an error here rather than a new empty database: the patient
    should hear "I can't look that up" and the deployer should see why.
    """
    url = url or database_url()
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise StoreUnavailable(f"The knowledge database {path} has not been built. Run `make knowledge`.")
    return engine_for(url)


def _enforce_sqlite_foreign_keys(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
