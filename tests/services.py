"""The real PostgreSQL and Redis that the production-profile tests run against.

They are found at `TEST_POSTGRES_URL` (default postgresql://postgres@127.0.0.1:5432/test) and
`TEST_REDIS_URL` (default redis://127.0.0.1:6379/0). If either cannot be reached the tests that
need it FAIL, saying how to start it: a production profile that was never tested must not look
like one that passed. `SKIP_PRODUCTION_TESTS=1` turns that into a skip, listed in pytest's summary,
for a machine that deliberately has neither.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_REDIS = (
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no '
    "--dir /var/lib/redis --logfile /var/log/redis/ci.log"
)


def _missing(service: str, variable: str, url: str, error: Exception, start: str) -> None:
    message = (
        f"{service} is not reachable at {url} ({type(error).__name__}: {error}). The production-profile "
        f"tests need it. Start it with:\n    {start}\nor point {variable} at one. "
        "To leave these tests out on purpose, set SKIP_PRODUCTION_TESTS=1."
    )
    if os.environ.get("SKIP_PRODUCTION_TESTS") == "1":
        pytest.skip(f"SKIP_PRODUCTION_TESTS=1: {service} tests left out")
    pytest.fail(message, pytrace=False)


def require_postgres() -> str:
    """The PostgreSQL server's URL, once it has answered a query."""
    engine = create_engine(POSTGRES_URL, future=True, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 (any failure means the same: not usable)
        _missing("PostgreSQL", "TEST_POSTGRES_URL", POSTGRES_URL, error, START_POSTGRES)
    finally:
        engine.dispose()
    return POSTGRES_URL


def require_redis() -> str:
    """The Redis server's URL, once it has answered PING."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=5).ping()
    except Exception as error:  # noqa: BLE001
        _missing("Redis", "TEST_REDIS_URL", REDIS_URL, error, START_REDIS)
    return REDIS_URL


@contextmanager
def scratch_database(server_url: str, purpose: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test run, dropped afterwards (even if in use)."""
    name = f"test_{purpose}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, future=True, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def set_connections_allowed(server_url: str, database: str, allowed: bool) -> None:
    """Make a database go away as a crash or a restart does, or come back.

    Going away: new connections are refused and every open one is cut. This is the database
    server's own doing, so the assistant sees exactly the errors a real outage gives it.
    """
    admin = create_engine(server_url, future=True, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}'))
            if not allowed:
                connection.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                    {"name": database},
                )
    finally:
        admin.dispose()
