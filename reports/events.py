"""Read the conversation record: the `events` table of the SQL tracker store that the Rasa servers
write (Rasa's `SQLTrackerStore`, which `connectors.tracker_store.SharedTrackerStore` extends), on
PostgreSQL in production or SQLite.

Only reads, with plain SQL: the report needs neither Rasa nor the servers' settings, so it can run
with a read-only database role. Each row is one Rasa event; its `data` column is the event as
JSON, the patient's words included, which stay in memory and go only where the report decides.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterator

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

EVENTS_TABLE = "events"
# The kinds of event a turn is read from (Rasa's `type_name`s): a message, an action run, a
# reply, a slot set, and the fallback's "forget that message".
USER, ACTION, BOT, SLOT, REWIND = "user", "action", "bot", "slot", "rewind"
KINDS_READ = (USER, ACTION, BOT, SLOT, REWIND)
# A turn's actions follow its message within seconds (the Rasa server gives a turn 10 s): a
# message just before the end of the range is read with all of them.
TURN_SECONDS_READ = 300.0
# How long to wait for PostgreSQL before saying it cannot be reached (libpq waits minutes).
CONNECT_SECONDS = 10

_EVENTS = sa.table(
    EVENTS_TABLE,
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.String),
    sa.column("type_name", sa.String),
    sa.column("timestamp", sa.Float),
    sa.column("intent_name", sa.String),
    sa.column("action_name", sa.String),
    sa.column("data", sa.Text),
)


class StoreError(RuntimeError):
    """The conversation store cannot be read; the message says why, never with a password."""


@dataclass(frozen=True)
class StoredEvent:
    """One row of the `events` table: the conversation (`sender`), the event's kind, its time
    (seconds since the epoch, UTC), the intent of a message, the name of an action, and the rest."""

    sender: str
    kind: str
    timestamp: float
    intent: str | None = None
    action: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def describe(url: str) -> str:
    """Which database, for the report's heading: its kind and name, never a password or a host."""
    parsed = _parsed(url)
    name = parsed.database or ""
    if parsed.get_backend_name() == "sqlite":
        name = name.rsplit("/", 1)[-1]
    return f"{parsed.get_backend_name()} database `{name}`"


def read_events(url: str, since: datetime, until: datetime) -> Iterator[StoredEvent]:
    """The events from `since` until a little after `until` (so that the last turns are read
    whole), each conversation's in the order they were stored, one conversation after another."""
    parsed = _parsed(url)
    options: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        options["connect_args"] = {"connect_timeout": CONNECT_SECONDS}
    engine = sa.create_engine(parsed, future=True, **options)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table(EVENTS_TABLE):
                raise StoreError(
                    f"The database has no `{EVENTS_TABLE}` table: is it the conversation store "
                    "that the Rasa servers write (TRACKER_STORE_URL)?"
                )
            query = (
                sa.select(_EVENTS)
                .where(
                    _EVENTS.c.timestamp >= since.timestamp(),
                    _EVENTS.c.timestamp < until.timestamp() + TURN_SECONDS_READ,
                    _EVENTS.c.type_name.in_(KINDS_READ),
                )
                .order_by(_EVENTS.c.sender_id, _EVENTS.c.id)
            )
            for row in connection.execute(query):
                yield StoredEvent(
                    sender=row.sender_id,
                    kind=row.type_name,
                    timestamp=row.timestamp,
                    intent=row.intent_name,
                    action=row.action_name,
                    data=json.loads(row.data) if row.data else {},
                )
    except sa.exc.SQLAlchemyError as error:
        # The error's text can quote the statement and its values: only its kind is said.
        raise StoreError(f"The conversation store cannot be read ({type(error).__name__})") from None
    finally:
        engine.dispose()


def _parsed(url: str) -> sa.engine.URL:
    try:
        return make_url(url)
    except ArgumentError:
        raise StoreError("TRACKER_STORE_URL is not a database URL") from None
