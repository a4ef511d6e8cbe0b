"""Write the Rasa server's endpoints: where the action server is and the token it wants, where
conversations and their locks are kept, and the project's response generator.

Usage: python -m connectors.endpoints OUTPUT_FILE

With none of the variables set, the file says what `endpoints.yml` says, with the project's
stores: the Rasa server keeps conversations in memory (`MemoryTrackerStore`), which is right for
one process on one machine. Several Rasa servers behind a load balancer need both shared stores:
the tracker store (`SharedTrackerStore`) so that any server can carry on any conversation, and the
lock store (`SharedRedisLockStore`) so that two servers never handle one conversation at once.
Both carry on when their database is down (see connectors/tracker_store.py and lock_store.py).

| variable | example | meaning |
|---|---|---|
| ACTION_SERVER_URL | http://action-server:5055/webhook | the action server's webhook |
| ACTION_SERVER_TOKEN | (64 hex digits) | sent to the action server as `Authorization: Bearer ...` |
| TRACKER_STORE_URL | postgresql://rasa:PASSWORD@postgres:5432/rasa | conversations (any SQLAlchemy URL) |
| TRACKER_STORE_LOGIN_DB | postgres | PostgreSQL only: create the tracker database from this one if missing |
| LOCK_STORE_URL | redis://:PASSWORD@redis:6379/0 | conversation locks (`rediss://` for TLS) |
| LOCK_STORE_KEY_PREFIX | assistant | letters and digits: keeps several deployments apart in one Redis |

The output may hold passwords and the token, so it is readable by its owner alone.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import unquote, urlsplit

import yaml
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from connectors.credentials import PROJECT_ROOT, write_private_yaml

BASE_ENDPOINTS = PROJECT_ROOT / "endpoints.yml"
REDIS_SCHEMES = {"redis": False, "rediss": True}  # scheme: use TLS
# Rasa's `redis` lock store, made atomic across servers and fail-open (connectors/lock_store.py).
SHARED_REDIS_LOCK_STORE = "connectors.lock_store.SharedRedisLockStore"
# The tracker stores (connectors/tracker_store.py): memory by default, else the shared SQL one.
MEMORY_TRACKER_STORE = "connectors.tracker_store.MemoryTrackerStore"
SHARED_TRACKER_STORE = "connectors.tracker_store.SharedTrackerStore"
# The domain's responses with the deployment's placeholders filled in (connectors/responses.py).
SERVER_RESPONSES = "connectors.responses.ServerResponses"
# How long a Redis command may take before the lock store carries on without Redis.
LOCK_STORE_SOCKET_SECONDS = 1
# How long connecting to PostgreSQL may take before the tracker store carries on without it.
TRACKER_STORE_CONNECT_SECONDS = 3


class EndpointSettingError(ValueError):
    """An environment variable that cannot describe an endpoint, with the variable's name."""


def endpoints(environment: Mapping[str, str]) -> dict[str, Any]:
    """`endpoints.yml`, with the action server, tracker store and lock store the environment names."""
    found: dict[str, Any] = yaml.safe_load(BASE_ENDPOINTS.read_text()) or {}
    if environment.get("ACTION_SERVER_URL"):
        found["action_endpoint"] = {"url": environment["ACTION_SERVER_URL"]}
    if environment.get("ACTION_SERVER_TOKEN"):
        # The header actions/server.py checks.
        found["action_endpoint"]["headers"] = {
            "Authorization": f"Bearer {environment['ACTION_SERVER_TOKEN']}"
        }
    found["nlg"] = {"type": SERVER_RESPONSES}
    if environment.get("TRACKER_STORE_URL"):
        found["tracker_store"] = sql_tracker_store(
            environment["TRACKER_STORE_URL"], environment.get("TRACKER_STORE_LOGIN_DB") or None
        )
    else:
        found["tracker_store"] = {"type": MEMORY_TRACKER_STORE}
    if environment.get("LOCK_STORE_URL"):
        found["lock_store"] = redis_lock_store(
            environment["LOCK_STORE_URL"], environment.get("LOCK_STORE_KEY_PREFIX") or None
        )
    return found


def sql_tracker_store(url: str, login_db: str | None = None) -> dict[str, Any]:
    """The shared tracker store's settings for a SQLAlchemy URL: Rasa's `type: sql` settings (Rasa
    takes the URL's parts separately), for the project's fail-open version of its store."""
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise EndpointSettingError(f"TRACKER_STORE_URL is not a database URL: {error}") from None
    if not parsed.database:
        raise EndpointSettingError("TRACKER_STORE_URL names no database (e.g. postgresql://host/rasa).")
    settings: dict[str, Any] = {
        "type": SHARED_TRACKER_STORE,
        "dialect": parsed.drivername,
        "db": parsed.database,
    }
    query = dict(parsed.query)
    if parsed.get_backend_name() == "postgresql":
        # libpq waits for a connection as long as the operating system does (minutes) by default.
        query.setdefault("connect_timeout", str(TRACKER_STORE_CONNECT_SECONDS))
    optional = {
        "url": parsed.host,
        "port": parsed.port,
        "username": parsed.username,
        "password": parsed.password,
        "login_db": login_db,
        "query": query or None,
    }
    settings.update({name: value for name, value in optional.items() if value is not None})
    return settings


def redis_lock_store(url: str, key_prefix: str | None = None) -> dict[str, Any]:
    """Lock store settings for a `redis://[:password@]host[:port][/db]` URL: Rasa's Redis lock
    store's, for the project's version of it that is safe with several servers."""
    parts = urlsplit(url)
    if parts.scheme not in REDIS_SCHEMES or not parts.hostname:
        raise EndpointSettingError("LOCK_STORE_URL must look like redis://[:password@]host[:port][/db].")
    if key_prefix is not None and not key_prefix.isalnum():
        # Rasa would silently drop it and share the default keys with every other deployment.
        raise EndpointSettingError("LOCK_STORE_KEY_PREFIX must be letters and digits only.")
    database = parts.path.lstrip("/") or "0"
    if not database.isdigit():
        raise EndpointSettingError(f"LOCK_STORE_URL's database must be a number, not {database!r}.")
    settings: dict[str, Any] = {
        "type": SHARED_REDIS_LOCK_STORE,
        "url": parts.hostname,
        "port": parts.port or 6379,
        "db": int(database),
        "use_ssl": REDIS_SCHEMES[parts.scheme],
        "socket_timeout": LOCK_STORE_SOCKET_SECONDS,
    }
    optional = {
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "key_prefix": key_prefix,
    }
    settings.update({name: value for name, value in optional.items() if value is not None})
    return settings


def describe(settings: Mapping[str, Any]) -> str:
    """One line for the person starting the server; never shows a password or the token."""
    action = settings["action_endpoint"]
    tracker = settings.get("tracker_store") or {}
    lock = settings.get("lock_store")
    conversations = (
        f"{tracker['dialect']} database {tracker['db']!r} on {tracker.get('url', 'this machine')}"
        if "dialect" in tracker
        else "memory (lost when the server stops)"
    )
    locks = f"Redis on {lock['url']}:{lock['port']}" if lock else "memory (one server only)"
    token = "with its token" if action.get("headers") else "without a token"
    return (
        f"Action server: {action['url']} ({token}); conversations kept in {conversations}; locks in {locks}"
    )


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        settings = endpoints(os.environ)
    except EndpointSettingError as error:
        print(f"Cannot write the endpoints: {error}", file=sys.stderr)
        return 2
    output = Path(argv[0])
    write_private_yaml(output, settings)
    print(f"{describe(settings)} (settings in {output})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
