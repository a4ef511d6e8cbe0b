"""Where the Rasa server keeps conversations: in its memory by default, in a SQL database shared by
every server in production. Both keep what a turn needs cheaply, can delete a conversation and
sweep away idle ones, and say how they are (`health()`).

Rasa wraps whatever tracker store it is given in a `FailSafeTrackerStore`, which answers any error
with an empty in-memory store (RasaHQ/rasa#3243): the conversation's context is silently lost,
and the messages handled meanwhile are never stored. So these stores never raise from `retrieve`
or `save`; they deal with an outage themselves, and say so in the log.

- `MemoryTrackerStore` (no `TRACKER_STORE_URL`): keeps the latest session of each conversation
  as the events themselves. Rasa's `InMemoryTrackerStore` keeps every session as JSON and reads
  all of it back on every turn, so a turn cost more the longer the conversation.
- `SharedTrackerStore` (PostgreSQL; SQLite for tests): FAIL-OPEN. A patient, perhaps describing an
  emergency, is answered even when the database is down: each conversation this server has
  handled recently is carried on from its own copy, and what cannot be saved is kept and written
  when the database is back. If too much piles up, the conversations dropped are logged by id with
  how many events were lost, as is anything still unsaved at shutdown: the record either keeps
  everything or says what it missed.

Nothing a patient typed is ever logged: only conversation ids, counts and exception types (an
SQL error's text would quote the message it failed to store).
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import queue
import threading
import time
from collections import Counter, OrderedDict
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Sequence, TypeVar

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import InMemoryTrackerStore, SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.constants import ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from connectors import metrics

logger = logging.getLogger(__name__)

T = TypeVar("T")

# How many recent conversations the shared store keeps a copy of, to carry them on through an
# outage (the events themselves, shared with the trackers Rasa already built: no copies made).
RECENT_CONVERSATIONS = 2000
# How many conversations with unsaved messages it keeps through an outage before dropping the
# oldest (logged, with how many events were lost).
MAX_UNSAVED_CONVERSATIONS = 1000
# Rasa 3.6's SQL calls block, and would run on the event loop that answers every patient: a
# database that hangs would freeze the server, emergency replies included. Here they run in
# worker threads, and a call that takes longer than this is treated as an outage.
DATABASE_SECONDS = 3.0
DATABASE_THREADS = 8
# Deleting everything idle past the retention period can take longer than a turn's call.
SWEEP_SECONDS_ALLOWED = 120.0
# While a store is down, at most one call in this many seconds tries it; the others use this
# server's copies at once instead of waiting for a store that is likely still down.
PROBE_SECONDS = 5.0
# Writes to one conversation are made one at a time in this process (a write that timed out may
# still be running in its thread). Conversations share these locks by hash.
WRITE_LOCKS = 64


class DaemonThreads(Executor):
    """At most `size` worker threads, which do not keep the process alive. Python waits at exit
    for a `ThreadPoolExecutor`'s threads, so one stuck on a hung database would stop the server
    from stopping."""

    def __init__(self, size: int, name: str) -> None:
        self._size = size
        self._name = name
        self._work: queue.SimpleQueue = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()
        self._shut = False

    def submit(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        with self._lock:
            if self._shut:
                raise RuntimeError("The worker threads have been shut down")
            self._work.put((future, function, args, kwargs))
            if self._idle == 0 and len(self._threads) < self._size:
                thread = threading.Thread(
                    target=self._serve, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
        return future

    def _serve(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            item = self._work.get()
            with self._lock:
                self._idle -= 1
            if item is None:
                return
            future, function, args, kwargs = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = function(*args, **kwargs)
            except BaseException as error:  # noqa: BLE001 (handed to whoever waits for it)
                future.set_exception(error)
            else:
                future.set_result(result)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shut = True
        for _ in self._threads:
            self._work.put(None)
        if wait:
            for thread in self._threads:
                thread.join()


class StoreUnavailable(RuntimeError):
    """A store could not be reached for something that must not be pretended (a deletion)."""


def latest_session(events: Iterable[Event]) -> tuple[Event, ...]:
    """The events of the conversation's latest session: from its last `action_session_start`, as
    Rasa splits sessions (`rasa.shared.core.trackers.get_trackers_for_conversation_sessions`)."""
    events = tuple(events)
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if isinstance(event, ActionExecuted) and event.action_name == ACTION_SESSION_START_NAME:
            return events[index:]
    return events


def tracker_from(
    sender_id: str, events: Sequence[Event], slots: Iterable[Slot], max_event_history: int | None = None
) -> DialogueStateTracker:
    """A new tracker replaying `events`: Rasa's processor changes the tracker it is given, never
    the events, so a store's own sequence of events stays as it was saved."""
    return DialogueStateTracker.from_events(sender_id, list(events), slots, max_event_history)


def exception_name(error: BaseException) -> str:
    """The exception's type, and the one it wraps if any: what an operator needs, and never the
    exception's text, which may quote what a patient typed."""
    cause = error.__cause__ or error.__context__
    return f"{type(error).__name__} from {type(cause).__name__}" if cause else type(error).__name__


class StoreOutage:
    """Whether a store answers, as the last attempts found. An outage is logged once at ERROR as it
    begins and once as it ends; while it lasts, `should_try` lets one attempt through every
    `PROBE_SECONDS`, so that a store that hangs holds up one message, not every message."""

    def __init__(
        self,
        name: str,
        log: logging.Logger,
        back_level: int = logging.WARNING,
        clock: Callable[[], float] = time.monotonic,
        metric: str = "",
    ) -> None:
        self.name = name
        self.metric = metric  # the store's label in connectors.metrics ("database", "redis")
        self._log = log
        self._back_level = back_level
        self._clock = clock
        self.down_since: datetime | None = None
        self._failing = False
        self._last_attempt = float("-inf")

    @property
    def answering(self) -> bool:
        """Whether the last attempt found the store answering."""
        return not self._failing

    def should_try(self) -> bool:
        if not self._failing:
            return True
        now = self._clock()
        if now - self._last_attempt < PROBE_SECONDS:
            return False
        self._last_attempt = now
        return True

    def failed(self, error: BaseException, meanwhile: str) -> None:
        metrics.store_failed(self.metric)
        self._failing = True
        self._last_attempt = self._clock()
        if self.down_since is None:
            self.down_since = datetime.now(timezone.utc)
            self._log.error("%s cannot be reached (%s): %s", self.name, exception_name(error), meanwhile)

    def answered(self) -> None:
        metrics.store_answered(self.metric)
        self._failing = False

    def end(self, summary: str) -> None:
        """The outage is over: log it once, with what was done about it."""
        if self.down_since is None:
            return
        seconds = (datetime.now(timezone.utc) - self.down_since).total_seconds()
        self.down_since = None
        self._log.log(self._back_level, "%s is back after %.0f s: %s", self.name, seconds, summary)

    def health(self) -> dict[str, Any]:
        return {
            "reachable": self.answering,
            "down_since": self.down_since.isoformat(timespec="seconds") if self.down_since else None,
        }


@dataclass(frozen=True)
class KeptConversation:
    """A conversation as the memory store keeps it: its latest session, and when it was saved."""

    events: tuple[Event, ...]
    last_active: float


class MemoryTrackerStore(InMemoryTrackerStore):
    """Conversations in this server's memory, for one server on one machine (the default).

    Only the latest session of each conversation is kept, which is all `retrieve` returns, as the
    events themselves: a turn rebuilds its tracker from them, without the JSON round trip of every
    session that Rasa's `InMemoryTrackerStore` makes. With sessions of bounded length (the message
    processor starts a new one every few dozen messages) a turn costs the same at message 400 as
    at message 10. `retrieve_full_tracker` returns the latest session too.
    """

    def __init__(
        self,
        domain: Domain | None = None,
        event_broker: EventBroker | None = None,
        clock: Callable[[], float] = time.time,
        **kwargs: Any,
    ) -> None:
        super().__init__(domain, event_broker, **kwargs)
        self.store: dict[str, KeptConversation] = {}  # type: ignore[assignment]
        self._clock = clock

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        self.store[tracker.sender_id] = KeptConversation(latest_session(tracker.events), self._clock())

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        kept = self.store.get(sender_id)
        if kept is None:
            return None
        return tracker_from(sender_id, kept.events, self.domain.slots, self.max_event_history)

    async def retrieve_full_tracker(self, sender_id: str) -> DialogueStateTracker | None:
        return await self.retrieve(sender_id)

    async def delete(self, sender_id: str) -> bool:
        """Forget the conversation; whether there was one."""
        return self.store.pop(sender_id, None) is not None

    async def sweep(self, idle_seconds: float) -> int:
        """Forget every conversation idle for longer than `idle_seconds`; how many."""
        cutoff = self._clock() - idle_seconds
        idle = [sender_id for sender_id, kept in self.store.items() if kept.last_active < cutoff]
        for sender_id in idle:
            del self.store[sender_id]
        return len(idle)

    def health(self) -> dict[str, Any]:
        return {"store": "memory", "reachable": True, "down_since": None, "unsaved_conversations": 0}


@dataclass(frozen=True)
class Copy:
    """This server's copy of a conversation's latest session, and whether the database has it."""

    events: tuple[Event, ...]
    stored: bool


@dataclass(frozen=True)
class Unsaved:
    """A conversation with events the database does not have yet: every event since the first
    unsaved one's session, of which the first `stored` were already in the database."""

    events: tuple[Event, ...]
    stored: int

    @property
    def missing(self) -> int:
        return len(self.events) - self.stored


class SharedTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store, fail-open (see the module's docstring), its calls off the event loop.

    Every read and write runs in a worker thread and is given `DATABASE_SECONDS`. Writes store the
    events of the tracker that the database does not have yet (matched by type and timestamp), so
    writing a conversation again, late or twice, stores each event once, and events another server
    stored meanwhile are kept. Rasa's own `save` writes the events past the count already stored,
    which would skip ours in that case.

    At start Rasa's `SQLTrackerStore` waits, retrying every 5 s, until the database answers: a
    server is not started without its conversation store.
    """

    def __init__(self, domain: Domain | None = None, **settings: Any) -> None:
        super().__init__(domain, **settings)
        # Rasa's engine does not check a pooled connection before use, so the first call after
        # the database restarts would fail; this one reconnects.
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, future=True, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.sessionmaker(bind=self.engine, future=True)
        self._threads = DaemonThreads(DATABASE_THREADS, "conversation-database")
        self._write_locks = tuple(threading.Lock() for _ in range(WRITE_LOCKS))
        self._recent: OrderedDict[str, Copy] = OrderedDict()
        self._unsaved: OrderedDict[str, Unsaved] = OrderedDict()
        self._written_back = 0
        self._flush_lock = asyncio.Lock()
        self._flushing: asyncio.Task | None = None
        self.outage = StoreOutage(
            "The conversation database", logger, back_level=logging.WARNING, metric="database"
        )
        self._closed = False
        atexit.register(self.close)

    # -- what Rasa calls --------------------------------------------------------------------

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        unsaved = self._unsaved.get(sender_id)
        if unsaved is not None:
            # Newer than the database's until it is written back.
            return self._tracker(sender_id, latest_session(unsaved.events))
        if self.outage.should_try():
            try:
                tracker = await self._in_thread(self._read, sender_id, False)
            except Exception as error:  # noqa: BLE001 (any failure: carry on from the copy)
                self._failed(error)
            else:
                self._remember(sender_id, tracker.events if tracker else (), stored=True)
                self._succeeded()
                return tracker
        copy = self._recent.get(sender_id)
        return self._tracker(sender_id, copy.events) if copy else None

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        if conversation_id not in self._unsaved and self.outage.should_try():
            try:
                return await self._in_thread(self._read, conversation_id, True)
            except Exception as error:  # noqa: BLE001
                self._failed(error)
        return await self.retrieve(conversation_id)

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        sender_id = tracker.sender_id
        events = tuple(tracker.events)
        before = self._unsaved.get(sender_id)
        to_write = merged(before.events, events) if before else events
        if self.outage.should_try():
            try:
                await self._in_thread(self._write, sender_id, to_write)
            except Exception as error:  # noqa: BLE001
                self._failed(error)
            else:
                if before is not None and self._unsaved.get(sender_id) is before:
                    del self._unsaved[sender_id]
                    self._written_back += 1
                self._remember(sender_id, events, stored=True)
                self._succeeded()
                return
        self._keep_unsaved(sender_id, to_write, before, events)
        self._remember(sender_id, events, stored=False)

    async def keys(self) -> Iterable[str]:
        try:
            return await self._in_thread(self._keys)
        except Exception as error:  # noqa: BLE001
            self._failed(error)
            return list(self._recent)

    # -- the record's life --------------------------------------------------------------------

    async def delete(self, sender_id: str) -> bool:
        """Delete every event of the conversation, every session; whether there were any. Raises
        `StoreUnavailable` if the database cannot be reached (this server's copies are gone)."""
        self._recent.pop(sender_id, None)
        self._unsaved.pop(sender_id, None)
        return await self._must(self._delete, sender_id) > 0

    async def sweep(self, idle_seconds: float) -> int:
        """Delete every conversation whose newest event is older than `idle_seconds`; how many."""
        cutoff = time.time() - idle_seconds
        for copies in (self._recent, self._unsaved):
            for sender_id in [s for s, copy in copies.items() if newest(copy.events) < cutoff]:
                del copies[sender_id]
        return await self._must(self._sweep, cutoff, timeout=SWEEP_SECONDS_ALLOWED)

    async def idle_conversations(self, idle_seconds: float) -> int:
        """How many conversations `sweep(idle_seconds)` would delete."""
        return await self._must(self._count_idle, time.time() - idle_seconds)

    async def events_of(self, sender_id: str) -> int:
        """How many events of the conversation are stored, every session."""
        return await self._must(self._count_events, sender_id)

    @property
    def needs_flush(self) -> bool:
        return bool(self._unsaved) or self.outage.down_since is not None

    async def flush(self) -> int:
        """Write every unsaved conversation back; if there is none but the database was down,
        check that it answers. How many were written; stops at the first failure."""
        written = 0
        async with self._flush_lock:
            try:
                if not self._unsaved and self.outage.down_since is not None:
                    await self._in_thread(self._ping)
                # Conversations saved while this runs may become unsaved again: a few rounds.
                for _ in range(3):
                    waiting = list(self._unsaved.items())
                    if not waiting:
                        break
                    for sender_id, unsaved in waiting:
                        await self._in_thread(self._write, sender_id, unsaved.events)
                        self.outage.answered()
                        if self._unsaved.get(sender_id) is unsaved:
                            del self._unsaved[sender_id]
                            self._remember(sender_id, unsaved.events, stored=True)
                            self._written_back += 1
                            written += 1
            except Exception as error:  # noqa: BLE001 (still down: the next flush tries again)
                self._failed(error)
                return written
        self._succeeded()
        return written

    def health(self) -> dict[str, Any]:
        return {"store": "database", **self.outage.health(), "unsaved_conversations": len(self._unsaved)}

    def close(self) -> None:
        """At shutdown: log every conversation whose events could not be stored."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        for sender_id, unsaved in self._unsaved.items():
            logger.error(
                "Shutting down with conversation %s unsaved: %d events were never stored",
                sender_id,
                unsaved.missing,
            )
        self._unsaved.clear()
        self._threads.shutdown(wait=False)
        self.engine.dispose()

    # -- outages ----------------------------------------------------------------------------

    def _failed(self, error: BaseException) -> None:
        self.outage.failed(
            error,
            "recent conversations carry on from this server's copies, and their new messages are "
            "kept here until the database is back",
        )

    def _succeeded(self) -> None:
        self.outage.answered()
        if self._unsaved:
            if self._flushing is None or self._flushing.done():
                self._flushing = asyncio.get_running_loop().create_task(self.flush())
        elif self.outage.down_since is not None:
            self.outage.end(f"{self._written_back} conversations written back")
            self._written_back = 0

    def _remember(self, sender_id: str, events: Iterable[Event], stored: bool) -> None:
        self._recent[sender_id] = Copy(latest_session(events), stored)
        self._recent.move_to_end(sender_id)
        while len(self._recent) > RECENT_CONVERSATIONS:
            self._recent.popitem(last=False)

    def _keep_unsaved(
        self, sender_id: str, to_write: tuple[Event, ...], before: Unsaved | None, events: tuple[Event, ...]
    ) -> None:
        if before is not None:
            stored = before.stored
        else:
            copy = self._recent.get(sender_id)
            stored = known_stored(copy.events, events) if copy and copy.stored else 0
        self._unsaved[sender_id] = Unsaved(to_write, stored)
        self._unsaved.move_to_end(sender_id)
        while len(self._unsaved) > MAX_UNSAVED_CONVERSATIONS:
            lost_id, lost = self._unsaved.popitem(last=False)
            logger.error(
                "The conversation database is still down and %d conversations are unsaved: "
                "conversation %s was dropped, and %d of its events were never stored",
                MAX_UNSAVED_CONVERSATIONS,
                lost_id,
                lost.missing,
            )

    def _tracker(self, sender_id: str, events: Sequence[Event]) -> DialogueStateTracker | None:
        return tracker_from(sender_id, events, self.domain.slots, self.max_event_history) if events else None

    async def _in_thread(
        self, function: Callable[..., T], *args: Any, timeout: float = DATABASE_SECONDS
    ) -> T:
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(self._threads, function, *args), timeout)

    async def _must(self, function: Callable[..., T], *args: Any, timeout: float = DATABASE_SECONDS) -> T:
        """A call whose failure the caller must hear about."""
        try:
            result = await self._in_thread(function, *args, timeout=timeout)
        except Exception as error:  # noqa: BLE001
            self._failed(error)
            raise StoreUnavailable(
                f"The conversation database cannot be reached ({exception_name(error)})"
            ) from None
        self._succeeded()
        return result

    # -- in a worker thread -----------------------------------------------------------------

    @property
    def _table(self) -> sa.Table:
        return self.SQLEvent.__table__

    def _read(self, sender_id: str, all_sessions: bool) -> DialogueStateTracker | None:
        """What Rasa's `SQLTrackerStore._retrieve` reads, with Rasa's query."""
        with self.session_scope() as session:
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=all_sessions).all()
            events = [json.loads(row.data) for row in rows]
        if not events:
            return None
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    def _write(self, sender_id: str, events: Sequence[Event]) -> int:
        """Store the events the database does not have yet; how many were stored."""
        if not events:
            return 0
        table = self._table
        with self._write_locks[hash(sender_id) % WRITE_LOCKS], self.session_scope() as session:
            earliest = min(event.timestamp for event in events)
            stored = Counter(
                (type_name, timestamp)
                for type_name, timestamp in session.execute(
                    sa.select(table.c.type_name, table.c.timestamp).where(
                        table.c.sender_id == sender_id, table.c.timestamp >= earliest
                    )
                )
            )
            rows = []
            for event in events:
                key = (event.type_name, event.timestamp)
                if stored[key] > 0:
                    stored[key] -= 1
                else:
                    rows.append(event_row(sender_id, event))
            if rows:
                session.execute(sa.insert(table), rows)
            session.commit()
        return len(rows)

    def _delete(self, sender_id: str) -> int:
        table = self._table
        with self._write_locks[hash(sender_id) % WRITE_LOCKS], self.session_scope() as session:
            deleted = session.execute(sa.delete(table).where(table.c.sender_id == sender_id)).rowcount
            session.commit()
        return deleted

    def _idle(self, cutoff: float) -> sa.sql.Select:
        table = self._table
        return (
            sa.select(table.c.sender_id)
            .group_by(table.c.sender_id)
            .having(sa.func.max(table.c.timestamp) < cutoff)
        )

    def _sweep(self, cutoff: float) -> int:
        table = self._table
        with self.session_scope() as session:
            idle = self._idle(cutoff)
            count = session.execute(sa.select(sa.func.count()).select_from(idle.subquery())).scalar_one()
            if count:
                session.execute(sa.delete(table).where(table.c.sender_id.in_(idle)))
            session.commit()
        return count

    def _count_idle(self, cutoff: float) -> int:
        with self.session_scope() as session:
            return session.execute(
                sa.select(sa.func.count()).select_from(self._idle(cutoff).subquery())
            ).scalar_one()

    def _count_events(self, sender_id: str) -> int:
        table = self._table
        with self.session_scope() as session:
            return session.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.sender_id == sender_id)
            ).scalar_one()

    def _keys(self) -> list[str]:
        with self.session_scope() as session:
            return list(session.execute(sa.select(self._table.c.sender_id).distinct()).scalars())

    def _ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))


def event_row(sender_id: str, event: Event) -> dict[str, Any]:
    """The row Rasa's `SQLTrackerStore.save` writes for an event, so that Rasa reads it back."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }


def merged(before: tuple[Event, ...], now: tuple[Event, ...]) -> tuple[Event, ...]:
    """The unsaved events `before`, carried on by the tracker saved `now` (which was rebuilt from
    their latest session, so it begins with some of the very same events)."""
    if now:
        for index in range(len(before) - 1, -1, -1):
            if before[index] is now[0]:
                return before[:index] + now
    return before + now


def known_stored(stored: Sequence[Event], events: Sequence[Event]) -> int:
    """How many of the first `events` the database has: up to the last event of the copy it
    stored (the tracker saved was rebuilt from that copy, so it holds the very same events)."""
    if stored:
        for index in range(len(events) - 1, -1, -1):
            if events[index] is stored[-1]:
                return index + 1
    return 0


def newest(events: Sequence[Event]) -> float:
    return max((event.timestamp for event in events), default=float("-inf"))
